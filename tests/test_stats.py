"""Summaries, the physical floor and winners, checked against statistics computed here independently."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest

from imagestores.measure.floor import SuspectTiming, check_physical
from imagestores.report.stats import (
    FASTER,
    UNCLEAR,
    VerdictRules,
    aa_check,
    between_jobs,
    summarise,
    winners,
)


def timings(*groups: tuple[str, int, str, str, list[float]], images: int = 10, source: str = "synthetic"):
    """Timing rows: one (method, cutoff, operation, cache, seconds of each repeat) per group."""
    rows = [
        {
            "method": method,
            "cutoff": cutoff,
            "operation": operation,
            "cache": cache,
            "repeat": repeat,
            "seconds": seconds,
            "images": images,
            "bytes": images * 3072,
            "source": source,
        }
        for method, cutoff, operation, cache, repeats in groups
        for repeat, seconds in enumerate(repeats)
    ]
    return pd.DataFrame(rows)


def test_summary_of_four_repeats():
    repeats = [3.0, 1.0, 4.0, 2.0]
    row = summarise(timings(("lmdb", 10, "read_many", "warm", repeats))).iloc[0]
    q1, _, q3 = statistics.quantiles(repeats, n=4, method="inclusive")  # numpy's "linear"
    assert (q1, q3) == (1.75, 3.25)
    assert row["samples"] == 4
    assert row["median_s"] == 2.5
    assert row["median_low_s"] <= 2.5 <= row["median_high_s"]
    assert (row["min_s"], row["max_s"]) == (1.0, 4.0)
    assert row["q1_s"] == pytest.approx(q1)
    assert row["q3_s"] == pytest.approx(q3)
    assert row["iqr_s"] == pytest.approx(1.5)
    assert row["cv"] == pytest.approx(statistics.stdev(repeats) / statistics.mean(repeats))
    assert (row["images"], row["bytes"]) == (10, 30720)
    assert row["images_per_s"] == pytest.approx(10 / 2.5)
    assert row["mb_per_s"] == pytest.approx(30720 / 2.5 / 1e6)
    assert row["seconds_per_image"] == pytest.approx(0.25)


def test_one_row_per_source_method_cutoff_operation_and_cache():
    frame = pd.concat(
        [
            timings(("lmdb", 10, "read_many", "warm", [1.0, 2.0]), ("lmdb", 10, "read_many", "cold", [5.0])),
            timings(("lmdb", 10, "read_many", "warm", [7.0]), source="cifar10"),
        ]
    )
    summary = summarise(frame).set_index(["source", "cache"])
    assert len(summary) == 3
    assert summary.loc[("synthetic", "warm"), "median_s"] == 1.5
    assert summary.loc[("synthetic", "cold"), "median_s"] == 5.0
    assert summary.loc[("cifar10", "warm"), "median_s"] == 7.0
    single = summary.loc[("synthetic", "cold")]
    assert single["samples"] == 1
    assert math.isnan(single["cv"])
    assert single["iqr_s"] == 0


def test_summary_refuses_repeats_that_disagree_on_the_work():
    frame = timings(("lmdb", 10, "read_many", "warm", [1.0, 2.0]))
    frame.loc[1, "images"] = 11
    with pytest.raises(ValueError, match="different numbers"):
        summarise(frame)


def test_summary_refuses_a_repeat_timed_twice():
    frame = timings(("lmdb", 10, "read_many", "warm", [1.0, 2.0]))
    frame.loc[1, "repeat"] = 0
    with pytest.raises(ValueError, match="more than once"):
        summarise(frame)


def test_faster_than_memory_is_suspect():
    # 1 GB at 10 GB/s takes at least 0.1 s.
    with pytest.raises(SuspectTiming, match=r"0\.05 s .* 1000000000 bytes .* 0\.1 s") as caught:
        check_physical(0.05, 10**9, 10e9)
    assert isinstance(caught.value, ValueError)


def test_slower_than_memory_and_zero_bytes_pass():
    check_physical(0.2, 10**9, 10e9)
    check_physical(0.1, 10**9, 10e9)
    check_physical(0.0, 0, 10e9)


def test_clear_and_unclear_winners():
    frame = timings(
        # Clear: lmdb's slowest repeat beats hdf5's fastest.
        ("lmdb", 100, "read_many", "warm", [0.95, 1.0, 1.05]),
        ("hdf5", 100, "read_many", "warm", [2.9, 3.0, 3.1]),
        ("disk", 100, "read_many", "warm", [5.0, 6.0, 7.0]),
        # Unclear: lmdb's median is lower, but the spreads overlap.
        ("lmdb", 100, "read_one", "warm", [1.0, 2.0, 3.0]),
        ("hdf5", 100, "read_one", "warm", [1.5, 2.2, 2.9]),
        # Smaller cutoffs do not count, even where another method wins.
        ("disk", 10, "read_many", "warm", [0.1, 0.1, 0.1]),
        ("disk", 10, "read_one", "warm", [0.1, 0.1, 0.1]),
    )
    table = winners(frame, summarise(frame), None, VerdictRules(min_samples=3)).set_index("operation")
    assert list(table["criterion"]) == ["fastest", "fastest"]
    clear, unclear = table.loc["read_many"], table.loc["read_one"]
    assert (clear["cutoff"], clear["winner"], clear["runner_up"]) == (100, "lmdb", "hdf5")
    assert clear["margin"] == pytest.approx(3.0)
    assert clear["beyond_spread"]
    assert (unclear["winner"], unclear["runner_up"]) == ("lmdb", "hdf5")
    assert unclear["margin"] == pytest.approx(2.2 / 2.0)
    # lmdb's q3 (2.5) is above hdf5's q1 (1.85): the margin is within the spread.
    assert not unclear["beyond_spread"]
    assert clear["verdict"] == FASTER and clear["ci_low"] > 1.1 and clear["reason"] == ""
    assert clear["ci_low"] <= clear["margin"] <= clear["ci_high"]
    assert (clear["winner_samples"], clear["runner_up_samples"]) == (3, 3)
    assert unclear["verdict"] == UNCLEAR and unclear["ci_low"] <= 1 and "includes 1" in unclear["reason"]
    assert unclear["warning"] == "lmdb spreads 50.0%; hdf5 spreads 31.8%"


def test_high_spread_warns_but_does_not_refuse_a_clear_verdict():
    """sqlite spreads 15% (above pyperf's 10%), but its interval lies far above npy's: faster, warned."""
    frame = timings(
        ("npy", 100, "read_one", "cold", steady(1.0, count=9, cv=0.03)),
        ("sqlite", 100, "read_one", "cold", steady(1.6, count=9, cv=0.15, seed=3)),
    )
    row = winners(frame, summarise(frame)).iloc[0]
    assert (row["winner"], row["verdict"]) == ("npy", FASTER) and row["ci_low"] > 1.1
    assert row["warning"].startswith("sqlite spreads") and row["reason"] == ""


def test_winner_alone_or_from_one_repeat_has_no_spread_verdict():
    frame = timings(
        ("lmdb", 10, "read_many", "cold", [1.0]),
        ("hdf5", 10, "read_many", "cold", [9.0]),
        ("lmdb", 10, "store_many", "cold", [1.0, 2.0]),
    )
    table = winners(frame, summarise(frame)).set_index("operation")
    assert table.loc["read_many", "margin"] == pytest.approx(9.0)
    assert pd.isna(table.loc["read_many", "beyond_spread"])
    alone = table.loc["store_many"]
    assert alone["winner"] == "lmdb"
    assert pd.isna(alone["runner_up"])
    assert pd.isna(alone["margin"])
    assert pd.isna(alone["beyond_spread"])
    assert table.loc["read_many", "verdict"] == UNCLEAR
    assert table.loc["read_many", "reason"].startswith("too few samples (1 < 3)")
    assert (alone["verdict"], alone["reason"]) == (UNCLEAR, "no runner-up")


def test_disk_usage_winners_at_the_largest_cutoff():
    frame = timings(("lmdb", 100, "read_many", "warm", [1.0, 2.0]))
    disk = pd.DataFrame(
        [
            ("disk", 100, 409600, 307200, 100, "synthetic"),
            ("lmdb", 100, 1_228_800, 1_100_000, 2, "synthetic"),
            ("hdf5", 100, 311_296, 310_000, 1, "synthetic"),
            ("hdf5", 10, 1, 1, 1, "synthetic"),
            ("png", 100, None, None, None, "synthetic"),  # could not hold the data
        ],
        columns=["method", "cutoff", "allocated_bytes", "apparent_bytes", "files", "source"],
    )
    table = winners(frame, summarise(frame), disk).set_index("criterion")
    smallest, fewest = table.loc["smallest on disk"], table.loc["fewest files"]
    assert (smallest["cutoff"], smallest["winner"], smallest["runner_up"]) == (100, "hdf5", "disk")
    assert smallest["margin"] == pytest.approx(409600 / 311_296)
    assert (fewest["winner"], fewest["runner_up"]) == ("hdf5", "lmdb")
    assert fewest["margin"] == pytest.approx(2.0)
    assert pd.isna(smallest["beyond_spread"])
    assert pd.isna(fewest["beyond_spread"])
    assert pd.isna(fewest["operation"])


def steady(median: float, count: int = 7, cv: float = 0.02, seed: int = 0) -> list[float]:
    """``count`` repeats around ``median`` with a coefficient of variation of about ``cv``."""
    rng = np.random.default_rng(seed)
    return list(median * (1 + cv * rng.standard_normal(count)))


def test_identical_code_is_never_told_apart():
    """A/A: twins drawn from one distribution, 200 times, with the spread real timings show."""
    for seed in range(200):
        frame = timings(
            ("npy", 40, "read_one", "warm", steady(1e-4, count=5, cv=0.05, seed=seed)),
            ("npy_twin", 40, "read_one", "warm", steady(1e-4, count=5, cv=0.05, seed=seed + 1000)),
        )
        check = aa_check(frame, {"npy_twin": "npy"}, VerdictRules())
        assert len(check) == 1 and not check["told_apart"].any(), check.to_dict("records")


def test_what_twins_differed_by_is_their_case_noise_floor():
    """Twins 2x apart (as two copies on disk may be when read cold): no verdict below 2x, one above it."""
    frame = timings(
        ("npy", 40, "read_many", "warm", steady(1.0)),
        ("npy_twin", 40, "read_many", "warm", steady(2.0)),
        ("hdf5", 40, "read_many", "warm", steady(3.0)),
    )
    check = aa_check(frame, {"npy_twin": "npy"}, VerdictRules()).iloc[0]
    assert check["told_apart"] and check["faster_one"] == "npy"
    assert check["ratio"] == pytest.approx(2.0, rel=0.05)
    row = winners(frame, summarise(frame), twins={"npy_twin": "npy"}).iloc[0]
    assert (row["winner"], row["runner_up"]) == ("npy", "hdf5"), "a twin is a copy, never ranked"
    assert row["verdict"] == FASTER and row["ci_low"] > 2.0, "3x clears the twins' 2x"
    close = frame.assign(seconds=frame["seconds"].where(frame["method"] != "hdf5", frame["seconds"] * 0.6))
    row = winners(close, summarise(close), twins={"npy_twin": "npy"}).iloc[0]
    assert row["verdict"] == UNCLEAR and "within the 2.0" in row["reason"], "1.8x does not"


def test_a_margin_within_what_twins_differed_by_is_not_faster():
    """hdf5 is 1.18x behind npy, clear by itself; npy's noisy twin differed by more (1.25x)."""
    frame = timings(
        ("npy", 40, "read_many", "warm", steady(1.0, cv=0.01)),
        ("hdf5", 40, "read_many", "warm", steady(1.18, cv=0.01, seed=2)),
    )
    alone = winners(frame, summarise(frame)).iloc[0]
    assert alone["verdict"] == FASTER and 1.1 < alone["ci_low"] < 1.25
    with_twin = pd.concat(
        [frame, timings(("npy_twin", 40, "read_many", "warm", steady(1.25, cv=0.2, seed=1)))]
    )
    twins = {"npy_twin": "npy"}
    row = winners(with_twin, summarise(with_twin), twins=twins).iloc[0]
    assert (row["winner"], row["runner_up"]) == ("npy", "hdf5")
    assert row["verdict"] == UNCLEAR and "its A/A twins differed by" in row["reason"]


def test_a_margin_below_the_threshold_or_from_few_samples_is_not_faster():
    close = timings(("a", 10, "read_many", "warm", steady(1.0)), ("b", 10, "read_many", "warm", steady(1.05)))
    row = winners(close, summarise(close)).iloc[0]
    assert row["verdict"] == UNCLEAR and "below 1.1x" in row["reason"]
    few = timings(("a", 10, "read_many", "warm", [1.0, 1.01]), ("b", 10, "read_many", "warm", [5.0, 5.1]))
    row = winners(few, summarise(few)).iloc[0]
    assert row["verdict"] == UNCLEAR and row["reason"] == "too few samples (2 < 3)"


def test_intervals_are_the_same_on_every_run():
    frame = timings(
        ("a", 10, "read_many", "warm", steady(1.0, cv=0.05)), ("b", 10, "read_many", "warm", steady(1.3))
    )
    first, second = (winners(frame, summarise(frame)) for _ in range(2))
    pd.testing.assert_frame_equal(first, second)


def test_between_jobs_reports_the_largest_ratio_of_twins_medians_and_its_case():
    frame = timings(
        ("npy", 10, "read_one", "warm", [1.0, 1.0, 1.0]),
        ("npy_twin", 10, "read_one", "warm", [1.1, 1.1, 1.1]),
        ("npy", 40, "store_many", "none", [3.0, 3.0, 3.0]),
        ("npy_twin", 40, "store_many", "none", [1.5, 1.5, 1.5]),
        ("hdf5", 40, "store_many", "none", [9.0, 9.0, 9.0]),
    )
    row = between_jobs(frame, {"npy_twin": "npy", "hdf5_twin": "hdf5"}).iloc[0]
    assert (row["method"], row["twin"], row["cutoff"], row["operation"]) == (
        "npy",
        "npy_twin",
        40,
        "store_many",
    )
    assert row["ratio"] == pytest.approx(2.0)
    assert len(between_jobs(frame, {"npy_twin": "npy", "hdf5_twin": "hdf5"})) == 1, "hdf5 has no twin rows"
