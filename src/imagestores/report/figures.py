"""Aggregate figures, drawn with seaborn from the gathered tables.

Lines show the median of the samples and bands their full range (fastest to slowest). Every method keeps
one colour in every figure, shades of one hue per family, so related methods read as a group. Warm and
cold page-cache reads are separate panels, never one line. The data source is in every title.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.colors import LogNorm
from matplotlib.lines import Line2D

from imagestores import operations
from imagestores.report.summary import CASES, byte_size, read_methods
from imagestores.stores import FAMILIES, METHODS, STUDY_METHODS, get

TITLES = {op.name: op.title for op in operations.TABLE if not op.per_worker}
FAMILY_PALETTES = {"files": "Blues", "key-value": "Greens", "arrays": "Oranges", "tables": "Purples"}
OTHER_PALETTE = "Reds"
CACHE_LABELS = {"warm": "warm page cache", "cold": "cold page cache (store evicted)", "none": ""}


MARKERS = ["o", "s", "^", "D", "v", "P", "X", "<", ">"]
"""Within a family the shades are close, so each method of a family also gets its own marker."""


class Style:
    """Order, colour and marker of every method, the same in every figure of a run.

    Built from ``methods.csv``, so config variants are drawn in their base method's family. Methods are
    grouped by family in registry order; each gets a shade of its family's hue and, since shades within a
    family are close, a marker of its own within the family.
    """

    def __init__(self, methods: pd.DataFrame) -> None:
        family = dict(zip(methods.index, methods["family"], strict=True))
        family |= {name: get(name).family for name in STUDY_METHODS if name not in family}
        self.family = family
        registry = list(METHODS)
        self.order = sorted(
            family,
            key=lambda m: (
                FAMILIES.index(family[m]),
                registry.index(m) if m in registry else len(registry),
                m,
            ),
        )
        self.colours: dict[str, tuple[float, float, float]] = {}
        self.markers: dict[str, str] = {}
        for name in FAMILIES:
            members = [method for method in self.order if family[method] == name]
            shades = sns.color_palette(FAMILY_PALETTES.get(name, OTHER_PALETTE), n_colors=len(members) + 2)[
                2:
            ]
            self.colours |= dict(zip(members, shades, strict=True))
            self.markers |= {method: MARKERS[i % len(MARKERS)] for i, method in enumerate(members)}

    def ordered(self, methods: Sequence[str]) -> list[str]:
        present = set(methods)
        return [method for method in self.order if method in present]


def source_label(frame: pd.DataFrame) -> str:
    sources = sorted(frame["source"].dropna().unique())
    return ", ".join(sources) if sources else "unknown data"


def _save(figure: plt.Figure, outputs: Sequence[Path]) -> None:
    for output in outputs:
        figure.savefig(output, bbox_inches="tight", dpi=130)
    plt.close(figure)


def _lines(
    axes: plt.Axes,
    frame: pd.DataFrame,
    y: str,
    legend: bool,
    style: Style,
    yscale: str = "log",
    x: str = "cutoff",
) -> None:
    methods = style.ordered(frame["method"])
    sns.lineplot(
        data=frame,
        x=x,
        y=y,
        hue="method",
        hue_order=methods,
        palette={method: style.colours[method] for method in methods},
        style="method",
        style_order=methods,
        markers={method: style.markers[method] for method in methods},
        dashes=False,
        estimator="median",
        errorbar=("pi", 100),
        markersize=5,
        legend=legend,
        ax=axes,
    )
    axes.set(xscale="log", yscale=yscale)
    axes.grid(True, which="major", alpha=0.3)


MAX_LINES = 6
"""No panel draws more lines than this: a family with more methods is split over several rows."""


def method_groups(style: Style, methods: Sequence[str]) -> list[tuple[str, list[str]]]:
    """``methods`` grouped by family in style order, a family of more than MAX_LINES split evenly."""
    groups = []
    for family in dict.fromkeys(style.family[method] for method in style.ordered(methods)):
        members = [method for method in style.ordered(methods) if style.family[method] == family]
        parts = -(-len(members) // MAX_LINES)
        size = -(-len(members) // parts)
        for part in range(parts):
            label = family if parts == 1 else f"{family} ({part + 1}/{parts})"
            groups.append((label, members[part * size : (part + 1) * size]))
    return groups


def _overlay_study(
    axes: plt.Axes,
    operation: str,
    paper: pd.DataFrame | None,
    reference: pd.DataFrame,
    style: Style,
    methods: Sequence[str],
) -> None:
    """The study's methods among ``methods`` timed its way here (dashed) and as it published them (dotted)."""
    colours = style.colours
    for method in (method for method in STUDY_METHODS if method in methods):
        if paper is not None:
            ours = paper[(paper["method"] == method) & (paper["operation"] == operation)].sort_values(
                "cutoff"
            )
            axes.plot(ours["cutoff"], ours["seconds"], "--", marker="x", color=colours[method], alpha=0.9)
        theirs = reference[(reference["method"] == method) & (reference["operation"] == operation)]
        theirs = theirs.sort_values("images")
        axes.plot(theirs["images"], theirs["seconds"], ":", marker="^", mfc="none", color=colours[method])


def _study_legend(figure: plt.Figure, with_paper: bool) -> None:
    handles = [Line2D([], [], color="grey", marker="o", label="this pipeline: median, range of samples")]
    if with_paper:
        handles.append(
            Line2D([], [], color="grey", ls="--", marker="x", label="this machine, the study's way")
        )
    handles.append(
        Line2D([], [], color="grey", ls=":", marker="^", mfc="none", label="2019 study, published")
    )
    figure.legend(handles=handles, loc="outside lower center", ncols=len(handles), title="disk, lmdb, hdf5")


@dataclass(frozen=True)
class Layout:
    """The small multiples' axes: seconds against store size by default; the epoch figure's x is workers.

    ``share``: panels of the same key share their y axis (one key: every panel, tick labels outside only).
    """

    y: str = "seconds"
    ylabel: str = "seconds"
    yscale: str = "log"
    x: str = "cutoff"
    xlabel: str = "images in the store"
    xscale: str = "log"
    xticks: Sequence[int] | None = None
    panel_width: float = 4.2
    share: Callable[[int], object] = lambda column: None


def _grid(
    panels: Sequence[tuple[str, pd.DataFrame]],
    title: str,
    style: Style,
    layout: Layout,
    draw: Callable[[plt.Axes, str, list[str]], None] | None = None,
) -> plt.Figure:
    """Small multiples: a column per (title, rows) panel, a row per group of at most MAX_LINES methods.

    Panels share the x axis and, by ``layout.share``, the y axis, so rows compare at a glance; each row has
    its own legend at its right. ``draw(axes, panel title, methods)`` adds to a panel what the lines do
    not show.
    """
    groups = method_groups(style, pd.concat([rows for _, rows in panels])["method"].unique())
    keys = [layout.share(column) for column in range(len(panels))]
    figure, grid = plt.subplots(
        len(groups),
        len(panels),
        figsize=(layout.panel_width * len(panels) + 2.6, 2.7 * len(groups) + 1.2),
        sharex=True,
        sharey=len(set(keys)) == 1,
        squeeze=False,
        layout="constrained",
    )
    for row, (group, members) in enumerate(groups):
        for column, (panel_title, rows) in enumerate(panels):
            axes = grid[row][column]
            if len(set(keys)) > 1 and (anchor := grid[0][keys.index(keys[column])]) is not axes:
                axes.sharey(anchor)
            last = column == len(panels) - 1
            chosen = rows[rows["method"].isin(members)]
            _lines(axes, chosen, layout.y, last, style, yscale=layout.yscale, x=layout.x)
            axes.set(
                xscale=layout.xscale,
                title=panel_title if row == 0 else "",
                ylabel="\n".join(filter(None, (group, layout.ylabel))) if column == 0 else "",
                xlabel=layout.xlabel if row == len(groups) - 1 else "",
            )
            if layout.xticks is not None:
                axes.set_xticks(layout.xticks)
            if draw is not None:
                draw(axes, panel_title, members)
            if last:
                _legend_right(axes)
    figure.suptitle(title)
    return figure


def _legend_right(axes: plt.Axes) -> None:
    """The row's legend, outside its last panel on the right."""
    if axes.get_legend() is not None:
        axes.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize="small", frameon=False)


def plot_operation(
    timings: Path,
    methods: Path,
    operation: str,
    outputs: Sequence[Path],
    paper: Path | None,
    reference: Path,
) -> None:
    """Time of ``operation`` against store size, log-log: a column per cache state, a row per family.

    For ``store_many`` and ``read_many`` the study's methods are also drawn as timed the study's way and
    as the study published them (its warm-cache numbers, in the warm or write column).
    """
    frame = pd.read_csv(timings, keep_default_na=False, na_values=[""])
    frame = frame[frame["operation"] == operation]
    style = Style(read_methods(methods))
    states = [state for state in ("none", "warm", "cold") if state in set(frame["cache"])]
    study = pd.read_csv(reference, comment="#")
    paper_frame = pd.read_csv(paper) if paper is not None else None
    overlay = operation in set(study["operation"])
    titles = {CACHE_LABELS[state] or TITLES[operation]: state for state in states}

    def draw(axes: plt.Axes, panel_title: str, members: list[str]) -> None:
        if overlay and titles[panel_title] in ("none", "warm"):
            _overlay_study(axes, operation, paper_frame, study, style, members)

    panels = [(title, frame[frame["cache"] == state]) for title, state in titles.items()]
    figure = _grid(panels, f"{TITLES[operation]} ({source_label(frame)})", style, Layout(), draw=draw)
    if overlay:
        _study_legend(figure, paper_frame is not None)
    _save(figure, outputs)


def _panels(
    panels: Sequence[tuple[str, pd.DataFrame]],
    title: str,
    outputs: Sequence[Path],
    style: Style,
    layout: Layout,
) -> None:
    """Small multiples of (title, rows) panels, drawn and saved."""
    _save(_grid(panels, title, style, layout), outputs)


def _cases(frame: pd.DataFrame, cases: Sequence[tuple[str, str]]) -> list[tuple[str, pd.DataFrame]]:
    """Panels for the (operation, cache) cases present in ``frame``, titled by both."""
    panels = []
    for operation, state in cases:
        rows = frame[(frame["operation"] == operation) & (frame["cache"] == state)]
        if not rows.empty:
            panels.append((f"{TITLES[operation]}\n{CACHE_LABELS[state]}".strip(), rows))
    return panels


def plot_single_image(timings: Path, methods: Path, outputs: Sequence[Path]) -> None:
    """Writing one image, and reading one image from warm and from cold stores of every size."""
    frame = pd.read_csv(timings, keep_default_na=False, na_values=[""])
    panels = _cases(frame, [("store_one", "none"), ("read_one", "warm"), ("read_one", "cold")])
    title = f"Single-image operations ({source_label(frame)})"
    _panels(panels, title, outputs, Style(read_methods(methods)), Layout())


def plot_cost_per_image(timings: Path, methods: Path, outputs: Sequence[Path]) -> None:
    """Seconds per image against store size: flat lines scale linearly, rising ones get worse with N."""
    frame = pd.read_csv(timings, keep_default_na=False, na_values=[""])
    frame["seconds_per_image"] = frame["seconds"] / frame["images"]
    panels = _cases(frame, [("store_many", "none"), ("read_many", "warm"), ("read_many", "cold")])
    title = f"Cost per image as stores grow ({source_label(frame)})"
    layout = Layout(y="seconds_per_image", ylabel="seconds per image")
    _panels(panels, title, outputs, Style(read_methods(methods)), layout)


def plot_peak_memory(timings: Path, methods: Path, outputs: Sequence[Path]) -> None:
    """Peak growth of anonymous memory while writing and while reading all images, against store size."""
    frame = pd.read_csv(timings, keep_default_na=False, na_values=[""])
    frame["MiB"] = frame["peak_anon_bytes"] / 2**20
    panels = [
        (TITLES[op], frame[(frame["operation"] == op) & (frame["cache"].isin(["none", "warm"]))])
        for op in ("store_many", "read_many")
    ]
    title = f"Peak memory: flat lines mean memory does not grow with N ({source_label(frame)})"
    layout = Layout(y="MiB", ylabel="peak memory growth (MiB)", yscale="linear")
    _panels(panels, title, outputs, Style(read_methods(methods)), layout)


def plot_disk_usage(disk_usage: Path, methods: Path, outputs: Sequence[Path]) -> None:
    """Allocated and apparent size of every store against its number of images, log-log."""
    frame = pd.read_csv(disk_usage, keep_default_na=False, na_values=[""]).dropna(subset=["allocated_bytes"])
    measures = {"allocated_bytes": "allocated on disk (du -sk)", "apparent_bytes": "apparent size (du -sb)"}
    panels = [(title, frame.assign(MiB=frame[column] / 2**20)) for column, title in measures.items()]
    title = f"Disk usage of every store ({source_label(frame)})"
    _panels(panels, title, outputs, Style(read_methods(methods)), Layout(y="MiB", ylabel="MiB"))


def _duration(seconds: float) -> str:
    """A median as a person reads it: 3 significant digits in s, ms or µs."""
    unit, scale = next(((u, x) for u, x in (("s", 1.0), ("ms", 1e-3)) if seconds >= x), ("µs", 1e-6))
    return f"{seconds / scale:.3g} {unit}"


def _message(text: str, outputs: Sequence[Path]) -> None:
    """A figure that says why there is nothing to draw, saved in place of the figure."""
    figure = plt.figure(figsize=(8, 2))
    figure.text(0.5, 0.5, text, ha="center", va="center")
    _save(figure, outputs)


def plot_overview(timings: Path, methods: Path, outputs: Sequence[Path]) -> None:
    """At the largest store size: a row per method (grouped by family), a column per operation and cache.

    Each cell's colour is the method's median time over the best method's for that column (1 is the
    best, darker is slower, log scale) and its text the median itself with the samples it rests on (a
    method that left its race early has few). Lossy methods are marked.
    """
    frame = pd.read_csv(timings, keep_default_na=False, na_values=[""])
    if frame.empty:  # no method holds the images of the largest cutoff (measure.fit)
        _message(
            "No method can hold the images of the largest store size, so none was timed head to head.\n"
            "Each method's reason is in results/methods_fit.csv, disk_usage.csv and summary.md.",
            outputs,
        )
        return
    largest = frame[frame["cutoff"] == frame["cutoff"].max()]
    described = read_methods(methods)
    style = Style(described)
    relative, cells, order, cases = _overview_cells(largest, style)
    lossy = set(described.index[described["lossy"].astype(bool)])
    rows = [f"{style.family[m]}: {m}{' (lossy)' if m in lossy else ''}" for m in order]
    columns = [f"{operation}\n{cache}".replace("\nnone", "\n(write)") for operation, cache in cases]
    figure, axes = plt.subplots(
        figsize=(1.25 * len(cases) + 4.0, 0.55 * len(order) + 2.2), layout="constrained"
    )
    sns.heatmap(
        pd.DataFrame(relative.to_numpy(), index=rows, columns=columns),
        annot=np.asarray(cells, dtype=object),
        fmt="",
        annot_kws={"fontsize": 7.5},
        cmap="rocket_r",
        norm=LogNorm(vmin=1, vmax=max(float(relative.max().max()), 10.0)),
        linewidths=0.5,
        linecolor="white",
        cbar_kws={"label": "median time / best method's median (log)"},
        ax=axes,
    )
    _family_lines(axes, [style.family[m] for m in order])
    cutoff = int(largest["cutoff"].max())
    figure.suptitle(f"Which method for which workload: {cutoff:,} images ({source_label(largest)})")
    _save(figure, outputs)


def _overview_cells(
    largest: pd.DataFrame, style: Style
) -> tuple[pd.DataFrame, list[list[str]], list[str], list[tuple[str, str]]]:
    """The overview's colours (median over the column's best), texts (median and n), rows and columns."""
    grouped = largest.groupby(["method", "operation", "cache"])["seconds"]
    medians = grouped.median().unstack(["operation", "cache"])
    counts = grouped.size().unstack(["operation", "cache"])
    cases = [case for case in CASES if case in medians.columns]
    order = style.ordered(medians.index)
    medians, counts = medians.loc[order, cases], counts.loc[order, cases]
    cells = [
        [f"{_duration(median)}\nn={count:.0f}" if pd.notna(median) else "" for median, count in pair]
        for pair in (
            zip(row_m, row_n, strict=True)
            for row_m, row_n in zip(medians.to_numpy(), counts.to_numpy(), strict=True)
        )
    ]
    return medians / medians.min(), cells, order, cases


def _family_lines(axes: plt.Axes, families: Sequence[str]) -> None:
    """A line between families in the overview, and its labels sized to fit."""
    for position in range(1, len(families)):
        if families[position] != families[position - 1]:
            axes.axhline(position, color="black", linewidth=1.5)
    axes.set(xlabel="", ylabel="")
    axes.tick_params(axis="x", labelrotation=0, labelsize=8)
    axes.tick_params(axis="y", labelsize=8)


def plot_dataset(dataset: Path, outputs: Sequence[Path]) -> None:
    """What the images are: how many of each size (pixels and, for a folder, files) and of each format."""
    record = json.loads(Path(dataset).read_text())
    counts = {"pixel bytes per image": record["pixel_bytes"]["histogram_log2"]}
    if "file_bytes" in record:
        counts["file bytes per image"] = record["file_bytes"]["histogram_log2"]
    kinds = {"pixel type": record.get("dtypes", {})}
    if "formats" in record:
        kinds = {"format": record["formats"], **kinds, "mode": record["modes"]}
    figure, (sizes, types) = plt.subplots(1, 2, figsize=(13, 4.8), gridspec_kw={"width_ratios": [3, 2]})
    width = 0.8 / len(counts)
    for number, (label, histogram) in enumerate(counts.items()):
        bins = sorted(int(low) for low in histogram)
        positions = np.log2(bins) + (number - (len(counts) - 1) / 2) * width
        sizes.bar(positions, [histogram[str(low)] for low in bins], width=width, label=label)
    ticks = sorted({int(low) for histogram in counts.values() for low in histogram})
    sizes.set_xticks(np.log2(ticks), [byte_size(low, "g") for low in ticks], rotation=45, ha="right")
    sizes.set(xlabel="size (from ... to twice that)", ylabel="distinct images", title="Sizes")
    sizes.legend(fontsize="small")
    labels, values, colours = [], [], []
    for number, (kind, table) in enumerate(kinds.items()):
        labels += [f"{kind}: {name}" for name in table]
        values += list(table.values())
        colours += [sns.color_palette("deep")[number]] * len(table)
    types.barh(labels[::-1], values[::-1], color=colours[::-1])
    types.set(xlabel="distinct images", title="Formats and pixel types")
    figure.suptitle(f"The data: {record['base_size']:,} distinct images, source {record['source']}")
    figure.tight_layout()
    _save(figure, outputs)


EPOCH_PANELS = {op.name: op.title for op in operations.TABLE if op.per_worker}
"""The epoch figure's measures: rows ``{prefix}{workers}`` of the timings, each a pair of panels."""


def epoch_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The epoch rows of ``frame`` at its largest cutoff, with ``measure`` (a key of EPOCH_PANELS),
    ``workers`` and the value drawn: images/s of the epoch, seconds to the first batch."""
    parts = frame["operation"].str.extract(operations.PER_WORKER.pattern)
    rows = frame.assign(measure=parts[0], workers=pd.to_numeric(parts[1])).dropna(subset=["measure"])
    rows = rows[rows["cutoff"] == rows["cutoff"].max()]
    per_second = rows["images"] / rows["seconds"]
    in_images = rows["measure"].map(lambda name: operations.BY_NAME[name].unit == "images/s")
    return rows.assign(value=per_second.where(in_images, rows["seconds"]))


def plot_epoch(timings: Path, methods: Path, outputs: Sequence[Path]) -> None:
    """What a training loop sees, at the largest store size: epoch images/s and seconds to the first batch
    against DataLoader workers, warm and cold, a line per method, a row per family (at most MAX_LINES)."""
    frame = pd.read_csv(timings, keep_default_na=False, na_values=[""])
    rows = epoch_rows(frame)
    if rows.empty:
        _message(
            f"No epoch was timed ({source_label(frame)}): the loaders extra (PyTorch) was not "
            "installed.\nresults/environment.json says so under 'skipped'.",
            outputs,
        )
        return
    cases = [
        (measure, cache)
        for measure in EPOCH_PANELS
        for cache in ("warm", "cold")
        if cache in set(rows["cache"])
    ]
    panels = [
        (
            f"{EPOCH_PANELS[measure]}\n{CACHE_LABELS[cache]}",
            rows[(rows["measure"] == measure) & (rows["cache"] == cache)],
        )
        for measure, cache in cases
    ]
    layout = Layout(
        y="value",
        ylabel="",
        x="workers",
        xlabel="DataLoader workers",
        xscale="linear",
        xticks=sorted(rows["workers"].astype(int).unique()),
        panel_width=4.0,
        share=lambda column: cases[column][0],
    )
    cutoff = int(rows["cutoff"].max())
    title = f"Training loops: shuffled epochs of {cutoff:,} images through DataLoader ({source_label(rows)})"
    _panels(panels, title, outputs, Style(read_methods(methods)), layout)
