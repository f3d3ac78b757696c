"""Every figure, drawn from tables shaped like a default run, is legible: no two texts or legends overlap."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.text import Text
from pipeline import CASES, EPOCH_CASES, REPO

from imagestores.data.folder import distribution
from imagestores.measure.describe import describe_methods
from imagestores.report import (
    DATA_FIGURES,
    DISK_FIGURES,
    EPOCH,
    FIGURES,
    OPERATION_FIGURES,
    OVERVIEW,
    TIMING_FIGURES,
    figures,
)
from imagestores.stores import METHODS

pytestmark = pytest.mark.slow  # every figure drawn several times: about 40 s

SPECS = [
    *METHODS,
    {"name": "parquet_jpeg", "method": "parquet", "options": {"encoding": "jpeg", "quality": 90}},
    {"name": "npy_twin", "method": "npy"},
]
CUTOFFS = [10, 100, 1000, 10000, 100000]


@pytest.fixture(scope="module")
def tables(tmp_path_factory) -> Path:
    """timings.csv, disk_usage.csv and methods.csv of every method, with seeded made-up seconds."""
    folder = tmp_path_factory.mktemp("tables")
    describe_methods(SPECS, folder / "methods.csv")
    names = pd.read_csv(folder / "methods.csv")["method"]
    rng = np.random.default_rng(0)
    rows = [
        {
            "method": method,
            "cutoff": cutoff,
            "operation": operation,
            "cache": cache,
            "repeat": repeat,
            "seconds": 1e-5 * cutoff ** rng.uniform(0.3, 1.1) * rng.uniform(0.9, 1.1),
            "images": cutoff,
            "bytes": cutoff * 3072,
            "loops": 1,
            "peak_anon_bytes": int(rng.uniform(0, 2**28)),
            "eviction": "",
            "source": "synthetic",
            "host": "test",
        }
        for method, cutoff, (operation, cache), repeat in itertools.product(
            names, CUTOFFS, CASES + EPOCH_CASES, range(3)
        )
    ]
    pd.DataFrame(rows).to_csv(folder / "timings.csv", index=False)
    usage = [
        {
            "method": method,
            "cutoff": cutoff,
            "allocated_bytes": cutoff * 4096,
            "apparent_bytes": cutoff * 3100,
            "files": 1,
            "source": "synthetic",
            "note": "",
        }
        for method, cutoff in itertools.product(names, CUTOFFS)
    ]
    pd.DataFrame(usage).to_csv(folder / "disk_usage.csv", index=False)
    sizes = (2 ** rng.uniform(12, 23, 500)).astype(int)
    record = {
        "source": "folder",
        "base_size": 500,
        "formats": {"JPEG": 300, "PNG": 120, "TIFF": 80},
        "dtypes": {"uint8": 450, "uint16": 50},
        "modes": {"RGB": 380, "L": 40, "RGBA": 20, "P": 10, "I;16": 50},
        "pixel_bytes": distribution(sizes),
        "file_bytes": distribution(sizes // 4),
    }
    (folder / "dataset.json").write_text(json.dumps(record))
    return folder


def drawn(name: str, tables: Path, monkeypatch) -> object:
    """The figure ``name`` as the pipeline draws it, kept open instead of saved."""
    kept = []
    monkeypatch.setattr(figures, "_save", lambda figure, outputs: kept.append(figure))
    methods = tables / "methods.csv"
    if name in OPERATION_FIGURES:
        reference = REPO / "workflow" / "reference" / "realpython-2019-notebook.csv"
        figures.plot_operation(tables / "timings.csv", methods, name, [], paper=None, reference=reference)
    elif name in (OVERVIEW, EPOCH, *TIMING_FIGURES):
        getattr(figures, f"plot_{name}")(tables / "timings.csv", methods, [])
    elif name in DATA_FIGURES:
        getattr(figures, f"plot_{name}")(tables / "dataset.json", [])
    else:
        assert name in DISK_FIGURES
        getattr(figures, f"plot_{name}")(tables / "disk_usage.csv", methods, [])
    (figure,) = kept
    return figure


def tick_labels(figure) -> tuple[list[Text], set[int]]:
    """Tick labels drawn (their tick inside the axis's view), and the ids of every tick label."""
    drawn, every = [], set()
    for axes in figure.axes:
        for axis in (axes.xaxis, axes.yaxis):
            low, high = sorted(axis.get_view_interval())
            for tick in [*axis.get_major_ticks(), *axis.get_minor_ticks()]:
                labels = (tick.label1, tick.label2)
                every |= {id(label) for label in labels}
                if low <= tick.get_loc() <= high:
                    drawn += [label for label in labels if label.get_visible()]
    return drawn, every


def overlapping(figure) -> list[tuple[str, str]]:
    """Pairs of rendered texts (titles, labels, tick labels, annotations) or legends whose boxes overlap."""
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    legends = [*figure.legends, *(axes.get_legend() for axes in figure.axes)]
    legends = [legend for legend in legends if legend is not None]
    ticks, every_tick = tick_labels(figure)
    inside = every_tick | {
        id(text) for legend in legends for text in [*legend.get_texts(), legend.get_title()]
    }
    texts = [*ticks, *(text for text in figure.findobj(Text) if id(text) not in inside)]
    boxes = [
        (f"legend {legend.get_title().get_text()!r}", legend.get_window_extent(renderer))
        for legend in legends
    ]
    boxes += [
        (repr(text.get_text()), text.get_window_extent(renderer).shrunk(0.98, 0.98))
        for text in texts
        if text.get_visible() and text.get_text().strip()
    ]
    return [
        (first, second)
        for (first, a), (second, b) in itertools.combinations(boxes, 2)
        if a.width > 0 and b.width > 0 and a.overlaps(b)
    ]


@pytest.mark.parametrize("name", FIGURES)
def test_no_two_texts_or_legends_of_a_figure_overlap(name, tables, monkeypatch):
    figure = drawn(name, tables, monkeypatch)
    assert overlapping(figure) == []


@pytest.mark.parametrize("name", [name for name in FIGURES if name != OVERVIEW])
def test_no_panel_draws_more_than_six_lines(name, tables, monkeypatch):
    figure = drawn(name, tables, monkeypatch)
    for axes in figure.axes:
        methods = {line.get_label() for line in axes.get_lines() if not line.get_label().startswith("_")}
        legend = axes.get_legend()
        shown = len(legend.get_texts()) if legend is not None else len(methods)
        assert shown <= figures.MAX_LINES


def test_the_overview_marks_lossy_methods_and_groups_families(tables, monkeypatch):
    figure = drawn(OVERVIEW, tables, monkeypatch)
    rows = [label.get_text() for label in figure.axes[0].get_yticklabels()]
    assert "tables: parquet_jpeg (lossy)" in rows and "arrays: npy_twin" in rows
    families = [row.split(":")[0] for row in rows]
    assert families == sorted(families, key=families.index), "each family's rows are together"
    cells = [text.get_text() for text in figure.axes[0].texts]
    assert len(cells) == len(rows) * len(figures.CASES)


def test_the_epoch_figure_draws_each_methods_median_images_per_second_against_workers(tables, monkeypatch):
    figure = drawn(EPOCH, tables, monkeypatch)
    frame = pd.read_csv(tables / "timings.csv")
    epochs = frame[(frame["operation"] == "epoch_w2") & (frame["cutoff"] == max(CUTOFFS))]
    medians = (epochs["images"] / epochs["seconds"]).groupby([epochs["method"], epochs["cache"]]).median()
    drawn_at_two = [
        float(line.get_ydata()[list(line.get_xdata()).index(2)])
        for axes in figure.axes
        for line in axes.get_lines()
        if list(line.get_xdata()) == [0, 2]
    ]
    for (method, cache), median in medians.items():
        assert any(np.isclose(value, median) for value in drawn_at_two), (method, cache)
    titles = " ".join(axes.get_title() for axes in figure.axes)
    assert "images/s over a shuffled epoch" in titles and "seconds to the first batch" in titles


def test_the_epoch_figure_says_why_it_is_empty_without_the_loaders_extra(tables, monkeypatch, tmp_path):
    frame = pd.read_csv(tables / "timings.csv")
    frame[~frame["operation"].str.contains("_w")].to_csv(tmp_path / "timings.csv", index=False)
    kept = []
    monkeypatch.setattr(figures, "_save", lambda figure, outputs: kept.append(figure))
    figures.plot_epoch(tmp_path / "timings.csv", tables / "methods.csv", [])
    (figure,) = kept
    assert "loaders extra" in " ".join(text.get_text() for text in figure.texts)
