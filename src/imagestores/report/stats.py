"""The spread behind every median, and which method wins by how much, and whether that is known.

A median alone cannot say whether a method is faster or just lucky. The quartiles and the coefficient of
variation say how far the samples disagree; a bootstrap interval of the ratio of medians says how far the
margin could be off (more spread, a wider interval); and A/A twins (one method measured twice under two
names) say how far identical code differs. A method is called ``faster`` when the interval lies above
both the minimum ratio and the twins' difference. High spread is a warning beside the verdict, as in
pyperf, not a veto: a veto made two runs of the same data disagree on clear winners.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from imagestores.measure.sampling import median_interval

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
    "winner_samples",
    "runner_up_samples",
    "unit",
    "margin",
    "beyond_spread",
    "ci_low",
    "ci_high",
    "verdict",
    "reason",
    "warning",
]

FASTER = "faster"
UNCLEAR = "not distinguishable"

BOOTSTRAP_RESAMPLES = 4000
BOOTSTRAP_SEED = 15
"""A fixed seed: the same timings give the same intervals and verdicts on every run of the report."""

AA_COLUMNS = [
    "source",
    "cutoff",
    "operation",
    "cache",
    "method",
    "twin",
    "faster_one",
    "ratio",
    "ci_low",
    "ci_high",
    "told_apart",
    "reason",
]


@dataclass(frozen=True)
class VerdictRules:
    """When a method is called faster: the config's ``verdicts``; and ``timing.warn_cv``, the spread worth
    a warning."""

    min_samples: int = 3
    confidence: float = 0.95
    min_ratio: float = 1.1
    warn_cv: float = 0.1


DEFAULT_RULES = VerdictRules()
"""The config's defaults, for callers without a config."""


def ratio_interval(fast: np.ndarray, slow: np.ndarray, confidence: float) -> tuple[float, float]:
    """Percentile bootstrap interval of median(slow) / median(fast), each resampled over its repeats."""
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    fast_medians = np.median(rng.choice(fast, size=(BOOTSTRAP_RESAMPLES, len(fast))), axis=1)
    slow_medians = np.median(rng.choice(slow, size=(BOOTSTRAP_RESAMPLES, len(slow))), axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(slow_medians / fast_medians, [tail, 100 - tail])
    return float(low), float(high)


def verdict(
    fast: tuple[str, np.ndarray],
    slow: tuple[str, np.ndarray],
    rules: VerdictRules,
    aa_ratio: float = 1.0,
) -> dict[str, object]:
    """Whether ``fast`` (name, seconds of each sample) is faster than ``slow``, with the interval and why.

    ``faster`` needs ``min_samples`` samples of both and the interval's lower bound above ``min_ratio``
    and above ``aa_ratio``, the ratio A/A twins of the same case differed by: a margin identical code also
    shows is no evidence. Spread beyond ``warn_cv`` is named in ``warning``.
    """
    low, high = ratio_interval(fast[1], slow[1], rules.confidence)
    reasons = []
    count = min(len(fast[1]), len(slow[1]))
    if count < rules.min_samples:
        reasons.append(f"too few samples ({count} < {rules.min_samples})")
    threshold = max(rules.min_ratio, aa_ratio)
    if low <= 1:
        reasons.append(f"the {rules.confidence:.0%} interval of the ratio includes 1")
    elif low <= rules.min_ratio:
        reasons.append(f"the {rules.confidence:.0%} interval reaches below {rules.min_ratio:g}x")
    elif low <= threshold:
        reasons.append(f"within the {aa_ratio:.2f}x its A/A twins differed by")
    return {
        "ci_low": low,
        "ci_high": high,
        "verdict": UNCLEAR if reasons else FASTER,
        "reason": "; ".join(reasons),
        "warning": spread_warning([fast, slow], rules.warn_cv),
    }


def spread_warning(cases: list[tuple[str, np.ndarray]], warn_cv: float) -> str:
    """pyperf's warning for every case whose samples spread beyond ``warn_cv`` (std / mean)."""
    spreads = [
        f"{name} spreads {cv:.1%}"
        for name, seconds in cases
        if len(seconds) > 1 and (cv := float(np.std(seconds, ddof=1) / np.mean(seconds))) > warn_cv
    ]
    return "; ".join(spreads)


def samples(timings: pd.DataFrame) -> dict[tuple, np.ndarray]:
    """Seconds of every repeat per summary key (``KEYS``)."""
    return {key: group.to_numpy(float) for key, group in timings.groupby(KEYS, sort=False)["seconds"]}


def aa_check(timings: pd.DataFrame, twins: Mapping[str, str], rules: VerdictRules) -> pd.DataFrame:
    """Every case of every A/A pair (twin, method it copies): were the twins told apart?

    The faster of the two by median is compared with the other by the same rules as any two methods.
    """
    seconds = samples(timings)
    rows = []
    for (source, method, cutoff, operation, cache), ours in seconds.items():
        for twin in (twin for twin, original in twins.items() if original == method):
            theirs = seconds.get((source, twin, cutoff, operation, cache))
            if theirs is None:
                continue
            pair = sorted([(method, ours), (twin, theirs)], key=lambda item: np.median(item[1]))
            judged = verdict(pair[0], pair[1], rules)
            rows.append(
                {
                    "source": source,
                    "cutoff": cutoff,
                    "operation": operation,
                    "cache": cache,
                    "method": method,
                    "twin": twin,
                    "faster_one": pair[0][0],
                    "ratio": float(np.median(pair[1][1]) / np.median(pair[0][1])),
                    "ci_low": judged["ci_low"],
                    "ci_high": judged["ci_high"],
                    "told_apart": judged["verdict"] == FASTER,
                    "reason": judged["reason"],
                }
            )
    return pd.DataFrame(rows, columns=AA_COLUMNS).sort_values(AA_COLUMNS[:6], ignore_index=True)


def between_jobs(timings: pd.DataFrame, twins: Mapping[str, str]) -> pd.DataFrame:
    """Per A/A pair measured in jobs of their own: the largest ratio of the twins' medians, and its case.

    Not a verdict: how far identical code measured at different times differs, which repeats inside one
    job cannot show (the reason verdicts are made from the head-to-head job).
    """
    medians = timings.groupby(KEYS)["seconds"].median().unstack("method")
    rows = []
    for twin, method in twins.items():
        if {method, twin} - set(medians.columns):
            continue
        pair = medians[[method, twin]].dropna()
        if pair.empty:
            continue
        ratio = pair.max(axis=1) / pair.min(axis=1)
        _, cutoff, operation, cache = ratio.idxmax()
        rows.append(
            {
                "method": method,
                "twin": twin,
                "ratio": float(ratio.max()),
                "cutoff": cutoff,
                "operation": operation,
                "cache": cache,
            }
        )
    return pd.DataFrame(rows, columns=["method", "twin", "ratio", "cutoff", "operation", "cache"])


def _checked(timings: pd.DataFrame) -> pd.DataFrame:
    """``timings`` with float seconds; a missing column, a missing second or a repeat timed twice raises."""
    missing = sorted({*KEYS, "repeat", "seconds", "images", "bytes"} - set(timings.columns))
    if missing:
        raise ValueError(f"timings lack columns {missing}")
    timings = timings.astype({"seconds": float})
    if timings["seconds"].isna().any():
        raise ValueError("timings hold missing seconds")
    twice = timings.duplicated([*KEYS, "repeat"], keep=False)
    if twice.any():
        raise ValueError(f"repeats timed more than once:\n{timings.loc[twice, [*KEYS, 'repeat']]}")
    return timings


def summarise(timings: pd.DataFrame) -> pd.DataFrame:
    """Median with its 95% interval (``sampling.median_interval``), extremes, quartiles and coefficient of
    variation of each case's samples, their count, why the case stopped sampling, and its rates.

    Quartiles use numpy's default linear interpolation; ``cv`` (sample std / mean) is NaN for one sample.
    Every repeat of a group must move the same images and bytes, and be timed once: anything else is a bug
    upstream that averaging would hide.
    """
    timings = _checked(timings)
    groups = timings.groupby(KEYS, sort=True, dropna=False)
    if (groups[["images", "bytes"]].nunique(dropna=False) > 1).any(axis=None):
        raise ValueError("the repeats of one operation moved different numbers of images or bytes")
    seconds = groups["seconds"]
    summary = pd.DataFrame(
        {
            "samples": seconds.size(),
            "median_s": seconds.median(),
            "min_s": seconds.min(),
            "max_s": seconds.max(),
            "q1_s": seconds.quantile(0.25),
            "q3_s": seconds.quantile(0.75),
        }
    )
    summary["iqr_s"] = summary["q3_s"] - summary["q1_s"]
    summary["cv"] = seconds.std(ddof=1) / seconds.mean()
    interval = seconds.apply(lambda values: median_interval(values.to_numpy(float)))
    summary["median_low_s"] = interval.map(lambda bounds: bounds[0])
    summary["median_high_s"] = interval.map(lambda bounds: bounds[1])
    if "stopped" in timings.columns:
        summary["stopped"] = groups["stopped"].first()
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
    if spread and second is not None and min(first["samples"], second["samples"]) > 1:
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
        "winner_samples": first.get("samples", pd.NA) if spread else pd.NA,
        "runner_up_samples": pd.NA if second is None or not spread else second.get("samples", pd.NA),
        "unit": unit,
        "margin": pd.NA if second is None else second[column] / first[column],
        "beyond_spread": beyond,
        "ci_low": pd.NA,
        "ci_high": pd.NA,
        "verdict": pd.NA,
        "reason": "",
        "warning": "",
    }


def _judge(
    row: dict[str, object],
    seconds: Mapping[tuple, np.ndarray],
    rules: VerdictRules,
    aa: pd.DataFrame,
) -> dict[str, object]:
    """``row`` (a fastest row) with its interval and verdict; the largest ratio its case's A/A twins
    differed by is that case's noise floor, below which no verdict is given."""
    if pd.isna(row["runner_up"]):
        return row | {"verdict": UNCLEAR, "reason": "no runner-up"}
    case = (row["cutoff"], row["operation"], row["cache"])
    pairs = aa[
        (aa["source"] == row["source"])
        & (aa["cutoff"] == row["cutoff"])
        & (aa["operation"] == row["operation"])
        & (aa["cache"] == row["cache"])
    ]
    aa_ratio = float(pairs["ratio"].max()) if len(pairs) else 1.0
    fast, slow = ((name, seconds[(row["source"], name, *case)]) for name in (row["winner"], row["runner_up"]))
    return row | verdict(fast, slow, rules, aa_ratio)


def _at_largest_cutoff(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Rows of the largest cutoff, best ``column`` first; ties go to the method named first."""
    largest = frame[frame["cutoff"] == frame["cutoff"].max()]
    return largest.sort_values([column, "method"], kind="stable")


def winners(
    timings: pd.DataFrame,
    summary: pd.DataFrame,
    disk_usage: pd.DataFrame | None = None,
    rules: VerdictRules = DEFAULT_RULES,
    twins: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Per source, operation and cache, at the largest cutoff: the fastest method, its margin, its verdict.

    ``margin`` is runner-up / winner (median seconds); ``beyond_spread`` says whether the winner's third
    quartile is below the runner-up's first (NA with one sample); ``ci_low`` and ``ci_high`` bound the
    margin (bootstrap over the samples of ``timings``), and ``verdict`` is ``faster`` only when ``verdict``
    allows it (the interval above the minimum ratio and the case's A/A difference), else ``not
    distinguishable`` with the ``reason``; ``warning`` names spread beyond ``warn_cv``. A/A twins (keys of
    ``twins``) are not ranked: they are copies. With ``disk_usage``, also the methods smallest on disk
    (allocated bytes) and with the fewest files, per source at its largest cutoff; methods that could not
    hold the data (no sizes) are left out.
    """
    twins = dict(twins or {})
    seconds = samples(timings)
    aa = aa_check(timings, twins, rules)
    ranked = summary[~summary["method"].isin(list(twins))]
    rows = [
        _judge(
            _winner_row("fastest", key, _at_largest_cutoff(group, "median_s"), "median_s", "s", spread=True),
            seconds,
            rules,
            aa,
        )
        for key, group in ranked.groupby(["source", "operation", "cache"], sort=True)
    ]
    if disk_usage is not None:
        rows += _disk_rows(disk_usage)
    return _typed(pd.DataFrame(rows, columns=WINNER_COLUMNS))


def _disk_rows(disk_usage: pd.DataFrame) -> list[dict[str, object]]:
    """Per source at its largest cutoff: the smallest store on disk and the one of fewest files."""
    rows = []
    measured = disk_usage.dropna(subset=["allocated_bytes", "files"])
    for source, group in measured.groupby("source", sort=True):
        for criterion, column, unit in (
            ("smallest on disk", "allocated_bytes", "bytes"),
            ("fewest files", "files", "files"),
        ):
            ranked = _at_largest_cutoff(group, column)
            rows.append(_winner_row(criterion, (source, pd.NA, pd.NA), ranked, column, unit, spread=False))
    return rows


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    """The winners table with nullable numbers, so that empty cells stay empty in ``winners.csv``."""
    numbers = ["winner_value", "runner_up_value", "margin", "ci_low", "ci_high"]
    table[numbers] = table[numbers].astype("Float64")
    table["beyond_spread"] = table["beyond_spread"].astype("boolean")
    table[["winner_samples", "runner_up_samples"]] = table[["winner_samples", "runner_up_samples"]].astype(
        "Int64"
    )
    return table
