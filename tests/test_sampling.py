"""The stopping and race rules, on given series of samples: who is sampled, how often, and why each stops."""

from __future__ import annotations

import numpy as np
import pytest

from imagestores.measure.sampling import (
    BUDGET,
    LEFT_RACE,
    MOST,
    PRECISION,
    Sampling,
    median_interval,
    order_statistic_interval,
    race,
)


class Clock:
    """What the race's budget reads: advanced by each call by the seconds it returns, plus ``overhead``
    (what a call costs outside its clock, as evicting a store does)."""

    def __init__(self, overhead: float = 0.0) -> None:
        self.now, self.overhead = 0.0, overhead

    def __call__(self) -> float:
        return self.now


class Series:
    """A timed call returning the given seconds in turn (the last one from then on); notes each call."""

    def __init__(self, name: str, log: list[str], *seconds: float, clock: Clock | None = None) -> None:
        self.name, self.log, self.seconds, self.clock = name, log, list(seconds), clock

    def __call__(self) -> float:
        self.log.append(self.name)
        seconds = self.seconds.pop(0) if len(self.seconds) > 1 else self.seconds[0]
        if self.clock is not None:
            self.clock.now += seconds + self.clock.overhead
        return seconds


def run(series: dict[str, list[float]], rules: Sampling, seed: int = 0, overhead: float = 0.0, **options):
    log: list[str] = []
    clock = Clock(overhead)
    calls = {name: Series(name, log, *values, clock=clock) for name, values in series.items()}
    return race(calls, rules, np.random.default_rng(seed), clock=clock, **options), log


def test_a_steady_case_stops_at_its_precision_after_its_minimum():
    entries, _ = run({"a": [1.0]}, Sampling(min_samples=3, max_samples=20, precision=0.05))
    assert len(entries["a"].samples) == 3 and entries["a"].stopped == PRECISION


def test_a_spread_case_samples_until_its_interval_is_narrow_enough():
    wobbly = list(np.random.default_rng(5).normal(1.0, 0.1, 100))
    entries, _ = run({"a": wobbly}, Sampling(min_samples=3, max_samples=100, precision=0.05, max_seconds=1e9))
    taken = entries["a"].samples
    low, high = median_interval(taken)
    assert entries["a"].stopped == PRECISION and 3 < len(taken) < 100
    assert (high - low) / 2 <= 0.05 * np.median(taken)
    low, high = median_interval(taken[:-1])
    assert (high - low) / 2 > 0.05 * np.median(taken[:-1]), "it stopped at the first sample that sufficed"


def test_a_spread_case_stops_at_its_budget_or_its_most_samples():
    wobbly = [0.5, 1.5] * 50
    entries, _ = run({"a": wobbly}, Sampling(min_samples=3, max_samples=100, max_seconds=4.0))
    assert entries["a"].stopped == BUDGET and len(entries["a"].samples) == 4  # 0.5 + 1.5 + 0.5 + 1.5
    entries, _ = run({"a": wobbly}, Sampling(min_samples=3, max_samples=6, max_seconds=1e9))
    assert entries["a"].stopped == MOST and len(entries["a"].samples) == 6


def test_the_budget_counts_what_a_sample_costs_outside_its_clock():
    """Cold reads of 1 ms that each need 0.5 s of eviction spend a 3 s budget in six samples, not 3,000."""
    rules = Sampling(max_samples=100, max_seconds=3.0, min_sample_seconds=0.0)
    entries, _ = run({"a": [0.001, 0.0012] * 50}, rules, overhead=0.5)
    assert entries["a"].stopped == BUDGET and len(entries["a"].samples) == 6


def test_the_budget_never_cuts_a_case_below_its_minimum():
    entries, _ = run({"a": [10.0, 30.0]}, Sampling(min_samples=3, max_seconds=1.0))
    assert len(entries["a"].samples) == 3 and entries["a"].stopped == BUDGET


def test_a_clearly_slower_method_leaves_the_race_and_its_samples_stand():
    series = {"fast": [1.0, 1.2] * 20, "close": [1.05, 1.3] * 20, "slow": [5.0]}
    rules = Sampling(min_samples=3, max_samples=12, max_seconds=1e9, drift={1.0: 0.15})
    entries, log = run(series, rules)
    assert entries["slow"].stopped == LEFT_RACE and entries["slow"].samples == [5.0]
    assert log.count("slow") == 2, "its calibration (the warm-up) and one sample"
    assert len(entries["fast"].samples) == len(entries["close"].samples) == 12
    assert {entries["fast"].stopped, entries["close"].stopped} == {MOST}


def test_the_runner_up_stays_in_the_race_however_slow():
    """A verdict compares the leader with its runner-up: both need their samples."""
    rules = Sampling(min_samples=3, max_seconds=1e9)
    entries, _ = run({"fast": [1.0], "second": [5.0], "third": [25.0]}, rules)
    assert len(entries["second"].samples) == 3 and entries["second"].stopped == PRECISION
    assert entries["third"].stopped == LEFT_RACE and len(entries["third"].samples) == 1


def test_with_few_samples_the_machine_drift_keeps_a_close_method_racing():
    """1.0 against 1.3 in a single sample each: on a machine drifting 15% that is no evidence."""
    series = {"a": [1.0], "b": [1.0], "c": [1.3]}
    drifting = Sampling(min_samples=1, max_samples=1, drift={1.0: 0.15})
    entries, _ = run(series, drifting)
    assert entries["c"].stopped == MOST
    three = {"a": [1.0] * 3, "b": [1.0] * 3, "c": [1.3] * 3}
    entries, _ = run(three, Sampling(min_samples=3, max_samples=3))
    assert entries["c"].stopped == LEFT_RACE, "without drift, three identical samples are no spread"


def test_twins_are_sampled_whenever_their_original_is_and_their_original_stays():
    series = {
        "fast": [1.0],
        "second": [2.0],
        "slow": [6.0, 6.6] * 10,
        "slow_twin": [6.0, 6.6] * 10,
    }
    rules = Sampling(min_samples=2, max_samples=8, max_seconds=1e9)
    entries, _ = run(series, rules, twins={"slow_twin": "slow"})
    assert entries["slow"].stopped != LEFT_RACE, "a method with a twin stays, for the A/A check"
    assert len(entries["slow"].samples) == len(entries["slow_twin"].samples) > 1
    assert entries["slow_twin"].stopped == entries["slow"].stopped


def test_every_round_samples_each_due_method_once_in_a_shuffled_order():
    log: list[str] = []
    calls = {name: Series(name, log, 0.02) for name in "abcd"}
    rounds: list[list[str]] = []
    mark = [0]

    def between() -> None:
        rounds.append(log[mark[0] :])
        mark[0] = len(log)

    spread = {name: [0.02, 0.03] * 20 for name in "abcd"}
    calls = {name: Series(name, log, *values) for name, values in spread.items()}
    rules = Sampling(min_samples=6, max_samples=6, max_seconds=1e9)
    entries = race(calls, rules, np.random.default_rng(0), between_rounds=between)
    calibration, *timed = rounds
    assert sorted(calibration) == list("abcd"), "one calibration call each, before any round"
    assert len(timed) == 6 and all(sorted(one) == list("abcd") for one in timed)
    assert len({tuple(one) for one in timed}) > 1, "the order changes between rounds"
    for first, second in zip(timed[::2], timed[1::2], strict=True):
        assert second == first[::-1], "every other round reverses the one before (ABBA)"
    assert all(len(entry.samples) == 6 for entry in entries.values())


def test_a_twin_batches_as_many_calls_per_sample_as_its_original():
    """Calibrated apart, calls of 6 ms would batch 2 to a sample and their twin's of 4 ms 4."""
    series = {"a": [0.006], "a_twin": [0.004]}
    entries, _ = run(series, Sampling(min_samples=2, max_samples=2), twins={"a_twin": "a"})
    assert entries["a"].loops == entries["a_twin"].loops


def test_short_calls_are_batched_and_known_loops_skip_the_calibration():
    entries, log = run({"short": [1e-4], "long": [0.02]}, Sampling(min_samples=3, min_sample_seconds=0.01))
    assert entries["short"].loops == 128 and entries["short"].samples == [pytest.approx(1e-4)] * 3
    assert entries["long"].loops == 1
    entries, log = run({"warmed": [0.5]}, Sampling(min_samples=3), loops={"warmed": 1})
    assert log == ["warmed"] * 3, "no calibration: the caller's warm-up sized it"


def test_the_interval_of_the_median():
    assert median_interval([1.0]) == (1.0, 1.0), "one sample, no drift: no spread is known"
    low, high = median_interval([1.0], least_spread=0.1)
    assert low < 1.0 < high and high - 1.0 == pytest.approx(1.0 - low)
    many = np.linspace(0.9, 1.1, 41)
    low, high = median_interval(many)
    assert 0.9 < low < 1.0 < high < 1.1
    assert median_interval([1.0] * 7 + [9.0]) == (1.0, 9.0), "eight samples cannot exclude an outlier"
    assert median_interval([1.0] * 19 + [9.0]) == (1.0, 1.0), "twenty can: one outlier leaves it narrow"


def test_the_order_statistic_interval_covers_the_median_at_the_given_confidence():
    assert order_statistic_interval(np.arange(5.0), 0.95) is None, "five samples cannot reach 95%"
    assert order_statistic_interval(np.arange(6.0), 0.95) == (0.0, 5.0)
    low, high = order_statistic_interval(np.arange(100.0), 0.95)
    assert 38 <= low < 50 < high <= 61


def test_drift_is_interpolated_between_the_lengths_measured():
    rules = Sampling(drift={0.01: 0.3, 1.0: 0.1})
    assert rules.least_spread(0.01) == pytest.approx(0.3)
    assert rules.least_spread(0.1) == pytest.approx(0.2)
    assert rules.least_spread(10.0) == pytest.approx(0.1) and rules.least_spread(1e-4) == pytest.approx(0.3)
    assert Sampling().least_spread(1.0) == 0.0


def test_the_configured_sampling_reads_timing_verdicts_and_drift():
    settings = {
        "timing": {"precision": 0.1, "min_samples": 2, "max_samples": 9, "max_seconds": 4, "warn_cv": 0.2},
        "verdicts": {"min_ratio": 1.2, "confidence": 0.9, "min_samples": 3},
    }
    drift = {"spread_by_sample_seconds": {"0.01": 0.3, "1": 0.1}}
    rules = Sampling.configured(settings, drift)
    assert (rules.precision, rules.min_samples, rules.max_samples, rules.max_seconds) == (0.1, 2, 9, 4)
    assert (rules.min_ratio, rules.confidence) == (1.2, 0.9) and rules.drift == {0.01: 0.3, 1.0: 0.1}
    settings["verdicts"] |= {"max_seconds": 8, "max_samples": 30}
    deciding = Sampling.configured(settings, drift, deciding=True)
    assert (deciding.max_seconds, deciding.max_samples, deciding.min_samples) == (8, 30, 2)
    assert Sampling.configured(settings, drift).max_seconds == 4, "the other jobs keep timing's budget"
