"""The spread behind every median, and which method wins by how much.

A median alone cannot say whether a method is faster or just lucky; the quartiles and the coefficient of
variation say how far the repeats disagree, and a winner counts only when its margin exceeds that spread.
"""

from __future__ import annotations

import pandas as pd

KEYS = ["source", "method", "cutoff", "operation", "cache"]
"""One summary row per distinct combination: the repeats of one operation on one store."""

WINNER_COLUMNS = [
    "criterion",
    "source",
    "operation",
    "cache",
    "cutoff",
    "winner",
    "winner_value",
    "runner_up",
    "runner_up_value",
    "unit",
    "margin",
    "beyond_spread",
]


def summarise(timings: pd.DataFrame) -> pd.DataFrame:
    """Median, extremes, quartiles and coefficient of variation of each operation's repeats, and its rates.

    Quartiles use numpy's default linear interpolation; ``cv`` (sample std / mean) is NaN for one repeat.
    Every repeat of a group must move the same images and bytes, and be timed once: anything else is a bug
    upstream that averaging would hide.
    """
    missing = sorted({*KEYS, "repeat", "seconds", "images", "bytes"} - set(timings.columns))
    if missing:
        raise ValueError(f"timings lack columns {missing}")
    timings = timings.astype({"seconds": float})
    if timings["seconds"].isna().any():
        raise ValueError("timings hold missing seconds")
    twice = timings.duplicated([*KEYS, "repeat"], keep=False)
    if twice.any():
        raise ValueError(f"repeats timed more than once:\n{timings.loc[twice, [*KEYS, 'repeat']]}")
    groups = timings.groupby(KEYS, sort=True, dropna=False)
    if (groups[["images", "bytes"]].nunique(dropna=False) > 1).any(axis=None):
        raise ValueError("the repeats of one operation moved different numbers of images or bytes")
    seconds = groups["seconds"]
    summary = pd.DataFrame(
        {
            "repeats": seconds.size(),
            "median_s": seconds.median(),
            "min_s": seconds.min(),
            "max_s": seconds.max(),
            "q1_s": seconds.quantile(0.25),
            "q3_s": seconds.quantile(0.75),
        }
    )
    summary["iqr_s"] = summary["q3_s"] - summary["q1_s"]
    summary["cv"] = seconds.std(ddof=1) / seconds.mean()
    summary[["images", "bytes"]] = groups[["images", "bytes"]].first()
    summary["images_per_s"] = summary["images"] / summary["median_s"]
    summary["mb_per_s"] = summary["bytes"] / summary["median_s"] / 1e6
    summary["seconds_per_image"] = summary["median_s"] / summary["images"]
    return summary.reset_index()


def _winner_row(
    criterion: str, key: tuple, ranked: pd.DataFrame, column: str, unit: str, spread: bool
) -> dict[str, object]:
    """The winners row of ``ranked`` (best first): winner, runner-up and the runner-up's margin."""
    first = ranked.iloc[0]
    second = ranked.iloc[1] if len(ranked) > 1 else None
    beyond = pd.NA
    if spread and second is not None and min(first["repeats"], second["repeats"]) > 1:
        beyond = bool(first["q3_s"] < second["q1_s"])
    return {
        "criterion": criterion,
        "source": key[0],
        "operation": key[1],
        "cache": key[2],
        "cutoff": first["cutoff"],
        "winner": first["method"],
        "winner_value": first[column],
        "runner_up": pd.NA if second is None else second["method"],
        "runner_up_value": pd.NA if second is None else second[column],
        "unit": unit,
        "margin": pd.NA if second is None else second[column] / first[column],
        "beyond_spread": beyond,
    }


def _at_largest_cutoff(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Rows of the largest cutoff, best ``column`` first; ties go to the method named first."""
    largest = frame[frame["cutoff"] == frame["cutoff"].max()]
    return largest.sort_values([column, "method"], kind="stable")


def winners(summary: pd.DataFrame, disk_usage: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per source, operation and cache, at the largest cutoff: the fastest method and its margin.

    ``margin`` is runner-up / winner (median seconds); ``beyond_spread`` says whether the winner's third
    quartile is below the runner-up's first, i.e. the margin exceeds the spread (NA with one repeat, where
    there is no spread to compare). With ``disk_usage``, also the methods smallest on disk (allocated
    bytes) and with the fewest files, per source at its largest cutoff; methods that could not hold the
    data (no sizes) are left out.
    """
    rows = [
        _winner_row("fastest", key, _at_largest_cutoff(group, "median_s"), "median_s", "s", spread=True)
        for key, group in summary.groupby(["source", "operation", "cache"], sort=True)
    ]
    if disk_usage is not None:
        measured = disk_usage.dropna(subset=["allocated_bytes", "files"])
        for source, group in measured.groupby("source", sort=True):
            for criterion, column, unit in (
                ("smallest on disk", "allocated_bytes", "bytes"),
                ("fewest files", "files", "files"),
            ):
                ranked = _at_largest_cutoff(group, column)
                rows.append(
                    _winner_row(criterion, (source, pd.NA, pd.NA), ranked, column, unit, spread=False)
                )
    table = pd.DataFrame(rows, columns=WINNER_COLUMNS)
    numbers = ["winner_value", "runner_up_value", "margin"]
    table[numbers] = table[numbers].astype("Float64")
    table["beyond_spread"] = table["beyond_spread"].astype("boolean")
    return table
