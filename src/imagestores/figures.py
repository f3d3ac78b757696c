"""Aggregate figures, drawn with seaborn from the gathered tables.

Lines show the median of the repeats; bands show their full range (min to max). Every method keeps one
colour in every figure, and the data source is in every title.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from imagestores.stores import METHODS

OPERATION_TITLES = {
    "store_many": "Writing all images of a store",
    "read_many": "Reading all images of a store, in order",
    "read_random": "Reading a batch of images at shuffled positions",
    "store_one": "Writing a store of one image",
    "read_one": "Reading one image from a store",
}


def palette(methods: Sequence[str]) -> dict[str, tuple[float, float, float]]:
    """One colour per registered method, stable across figures and runs."""
    colours = sns.color_palette("tab20", n_colors=max(len(METHODS), 1))
    order = list(METHODS)
    return {method: colours[order.index(method) % len(colours)] for method in methods}


def source_label(frame: pd.DataFrame) -> str:
    sources = sorted(frame["source"].dropna().unique())
    return ", ".join(sources) if sources else "unknown data"


def _save(figure: plt.Figure, outputs: Sequence[Path]) -> None:
    for output in outputs:
        figure.savefig(output, bbox_inches="tight", dpi=150)
    plt.close(figure)


def _time_panel(axes: plt.Axes, frame: pd.DataFrame, title: str) -> None:
    methods = [method for method in METHODS if method in set(frame["method"])]
    sns.lineplot(
        data=frame,
        x="cutoff",
        y="seconds",
        hue="method",
        hue_order=methods,
        palette=palette(methods),
        estimator="median",
        errorbar=("pi", 100),
        marker="o",
        ax=axes,
    )
    axes.set(xscale="log", yscale="log", title=title, xlabel="images in the store", ylabel="seconds")
    axes.grid(True, which="major", alpha=0.3)


def plot_operation(timings: Path, operation: str, outputs: Sequence[Path]) -> None:
    """Time of ``operation`` against the number of images in the store, log-log, one line per method."""
    frame = pd.read_csv(timings)
    frame = frame[frame["operation"] == operation]
    figure, axes = plt.subplots(figsize=(7, 5))
    _time_panel(axes, frame, f"{OPERATION_TITLES[operation]} ({source_label(frame)})")
    _save(figure, outputs)


def plot_single_image(timings: Path, outputs: Sequence[Path]) -> None:
    """Writing and reading one image, side by side, against the size of the store read from."""
    frame = pd.read_csv(timings)
    figure, panels = plt.subplots(1, 2, figsize=(12, 5), sharey=True)
    for axes, operation in zip(panels, ("store_one", "read_one"), strict=True):
        _time_panel(axes, frame[frame["operation"] == operation], OPERATION_TITLES[operation])
    figure.suptitle(f"Single-image operations ({source_label(frame)})")
    _save(figure, outputs)


def plot_disk_usage(disk_usage: Path, outputs: Sequence[Path]) -> None:
    """Allocated and apparent size of every store against its number of images, log-log."""
    frame = pd.read_csv(disk_usage).dropna(subset=["allocated_bytes"])
    long = frame.melt(
        id_vars=["method", "cutoff"],
        value_vars=["allocated_bytes", "apparent_bytes"],
        var_name="measure",
        value_name="bytes",
    )
    long["MiB"] = long["bytes"] / 2**20
    long["measure"] = long["measure"].map(
        {"allocated_bytes": "allocated on disk (du -sk)", "apparent_bytes": "apparent size (du -sb)"}
    )
    methods = [method for method in METHODS if method in set(long["method"])]
    grid = sns.relplot(
        data=long,
        x="cutoff",
        y="MiB",
        hue="method",
        hue_order=methods,
        palette=palette(methods),
        col="measure",
        kind="line",
        marker="o",
        height=4.5,
        aspect=1.1,
    )
    grid.set(xscale="log", yscale="log", xlabel="images in the store", ylabel="MiB")
    grid.set_titles("{col_name}")
    grid.figure.suptitle(f"Disk usage of every store ({source_label(frame)})", y=1.03)
    _save(grid.figure, outputs)
