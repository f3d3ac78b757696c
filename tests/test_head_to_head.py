"""The head-to-head job: every method timed in one job, one sample of each per round, in shuffled order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pipeline import TIMED_CASES
from test_timing import images_and_labels, prepared

from imagestores.measure import head_to_head, jobs
from imagestores.measure.timing import Repeats


class Recorded:
    """A timed call that notes its name in ``log`` each time and returns the given seconds in turn."""

    def __init__(self, name: str, log: list[str], *seconds: float) -> None:
        self.name, self.log, self.seconds = name, log, list(seconds)

    def __call__(self) -> float:
        self.log.append(self.name)
        return self.seconds.pop(0) if len(self.seconds) > 1 else self.seconds[0]


def test_every_round_samples_each_method_once_in_a_shuffled_order():
    log: list[str] = []
    calls = {name: Recorded(name, log, 0.02) for name in "abcd"}
    rounds: list[list[str]] = []
    mark = [0]

    def between() -> None:
        rounds.append(log[mark[0] :])
        mark[0] = len(log)

    result = head_to_head.interleaved(calls, Repeats(6), np.random.default_rng(0), between)
    calibration, *timed = rounds
    assert sorted(calibration) == list("abcd"), "one calibration call each, before any round"
    assert len(timed) == 6 and all(sorted(one) == list("abcd") for one in timed)
    assert len({tuple(one) for one in timed}) > 1, "the order changes between rounds"
    assert result == {name: (1, [0.02] * 6) for name in "abcd"}


def test_only_a_noisy_method_gets_extra_rounds_up_to_the_bound():
    log: list[str] = []
    calls = {"quiet": Recorded("quiet", log, 1.0), "noisy": Recorded("noisy", log, *[1.0, 2.0] * 20)}
    result = head_to_head.interleaved(calls, Repeats(3, max_repeats=8), np.random.default_rng(1))
    assert [len(samples) for _, samples in result.values()] == [3, 8]
    assert log.count("quiet") == 1 + 3, "one calibration call and its three samples"


def test_an_undecided_leading_pair_and_its_twin_get_rounds_of_their_own_up_to_the_bound():
    """Medians 1.0 and 1.15 with spread: the interval straddles 1.1x, so the two leaders go on, and the
    twin of one goes with it (sampled alike, as the A/A check needs); a slower method does not."""
    log: list[str] = []
    calls = {
        "fast": Recorded("fast", log, *[0.9, 1.1] * 20),
        "fast_twin": Recorded("fast_twin", log, *[0.9, 1.1] * 20),
        "close": Recorded("close", log, *[1.05, 1.25] * 20),
        "slow": Recorded("slow", log, 5.0),
    }
    contest = head_to_head.Contest(frozenset({"fast", "close", "slow"}), twins={"fast_twin": "fast"})
    policy = Repeats(4, max_repeats=9, max_cv=1.0)
    result = head_to_head.interleaved(calls, policy, np.random.default_rng(3), contest=contest)
    counts = {name: len(samples) for name, (_, samples) in result.items()}
    assert counts == {"fast": 9, "fast_twin": 9, "close": 9, "slow": 4}


def test_a_decided_pair_gets_no_extra_rounds_and_twins_are_not_ranked():
    log: list[str] = []
    calls = {
        "fast": Recorded("fast", log, 1.0),
        "fast_twin": Recorded("fast_twin", log, *[0.95, 1.3] * 20),
        "slow": Recorded("slow", log, *[1.9, 2.1] * 20),
    }
    contest = head_to_head.Contest(frozenset({"fast", "slow"}), twins={"fast_twin": "fast"})
    policy = Repeats(4, max_repeats=9, max_cv=1.0)
    result = head_to_head.interleaved(calls, policy, np.random.default_rng(4), contest=contest)
    assert {name: len(samples) for name, (_, samples) in result.items()} == {
        "fast": 4,
        "fast_twin": 4,
        "slow": 4,
    }
    assert contest.undecided({"fast": [1.0] * 4, "slow": [2.0] * 4}) is None
    assert contest.undecided({"fast": [0.9, 1.1] * 2, "slow": [1.05, 1.25] * 2}) == ("fast", "slow")


def test_short_calls_are_batched_per_method():
    log: list[str] = []
    calls = {"short": Recorded("short", log, 1e-4), "long": Recorded("long", log, 0.02)}
    result = head_to_head.interleaved(calls, Repeats(3, min_sample_seconds=0.01), np.random.default_rng(2))
    assert result["short"] == (128, [pytest.approx(1e-4)] * 3) and result["long"] == (1, [0.02] * 3)


def settings(tmp_path) -> dict:
    return {
        "repeats": 2,
        "timing": {"max_repeats": 3, "max_cv": 0.1, "min_sample_seconds": 0.0},
        "random_reads": 5,
        "caches": ["warm", "cold"],
        "drop_caches": False,
        "stores": {"root": str(tmp_path / "stores"), "keep": True},
        "integrity": {"trials": 0, "max_images": 0},
        "loader": {"batch_size": 8, "workers": [0]},
        "filter": {"column": "label", "value": 3},
    }


def test_every_method_and_twin_is_timed_in_every_case_with_its_repeats(tmp_path):
    images, labels = images_and_labels(20)
    data = prepared(tmp_path, images, labels)
    methods = ["npy", {"name": "npy_twin", "method": "npy"}, "hdf5"]
    out = tmp_path / "head_to_head.csv"
    head_to_head.head_to_head_job(methods, data, 20, settings(tmp_path), out)
    table = pd.read_csv(out, keep_default_na=False, na_values=[""])
    assert list(table.columns) == jobs.TIMING_COLUMNS
    assert set(table["cutoff"]) == {20}
    cases = {(operation, cache) for operation, cache in TIMED_CASES if not operation.endswith("w2")}
    for method in ("npy", "npy_twin", "hdf5"):
        mine = table[table["method"] == method]
        assert set(zip(mine["operation"], mine["cache"], strict=True)) == cases
    repeats = table.groupby(["operation", "cache", "method"]).size().unstack("method")
    assert repeats.isin([2, 3]).all(axis=None), "the repeats, and more up to the bound where spread"
    assert (table["seconds"] > 0).all()
    cold = table[(table["cache"] == "cold") & ~table["operation"].str.startswith("first_batch")]
    assert (cold["eviction"].str.len() > 0).all()
    assert not (tmp_path / "stores" / head_to_head.STORES_DIR).exists(), "its stores are removed"


def test_a_method_that_cannot_hold_the_data_is_left_out(tmp_path):
    data = prepared(tmp_path, np.zeros((6, 8, 8, 3), dtype=np.uint16), np.zeros(6, dtype=np.uint8))
    jpeg = {"name": "parquet_jpeg", "method": "parquet", "options": {"encoding": "jpeg"}}
    out = tmp_path / "head_to_head.csv"
    head_to_head.head_to_head_job([jpeg, "npy"], data, 6, settings(tmp_path) | {"caches": ["warm"]}, out)
    assert set(pd.read_csv(out)["method"]) == {"npy"}
