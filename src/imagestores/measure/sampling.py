"""How many samples a case gets: each stops at its precision, its budget or its bound, and a race drops the
methods that cannot win.

A fixed count of samples spends as much on a case one sample decides as on one twenty cannot: the default
run spent 85% of its head-to-head time on five methods never first or second. Here, as asv and criterion
do, a case samples until the interval of its median is narrow enough (``precision``), and stops earlier
only at its time budget (asv's ``max_time``: the wall time of its samples, what each needs outside the
clock included) or its most samples, after at least ``min_samples``. The
methods of one operation and cache are sampled in rounds, one sample each in a shuffled order, so that
drift and passing load fall on all alike; as in a Hoeffding race or F-Race, a method leaves once its
interval lies wholly beyond the leader's by more than ``min_ratio``: no further sample can make it a
winner, so the budget goes to those still close (the runner-up stays, so that the verdict has its
samples). The samples a method took stand, with the reason it
stopped. While a case has few samples its spread is taken as at least the machine's own drift at that
sample length (``measure.drift``), so a lucky pair of samples cannot make an interval narrow.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

PRECISION = "precision reached"
LEFT_RACE = "left the race"
BUDGET = "budget spent"
MOST = "most samples"
STOP_REASONS = (PRECISION, LEFT_RACE, BUDGET, MOST)
"""Why a case stopped sampling: the column ``stopped`` of ``timings.csv``."""

FEW_SAMPLES = 6
"""Below this many samples (too few for a 95% order-statistic interval of the median) a case's spread is
taken as at least its standard deviation and the machine's drift."""

MAX_LOOPS = 1000
"""At most this many calls make one sample, however short one call is."""

PROGRESS_SECONDS = 20.0
"""A case running longer than this logs its progress this often."""


@dataclass(frozen=True)
class Sampling:
    """When a case stops sampling (the config's ``timing``), and the race's margin (``verdicts.min_ratio``).

    ``drift`` maps a sample's length in seconds to the spread (std / mean) the machine alone gives samples
    of that length (``environment.json``'s ``machine_drift``): the least spread a case with few samples
    can have.
    """

    min_samples: int = 3
    max_samples: int = 20
    precision: float = 0.05
    max_seconds: float = 5.0
    min_sample_seconds: float = 0.01
    confidence: float = 0.95
    min_ratio: float = 1.1
    drift: Mapping[float, float] = field(default_factory=dict)

    @classmethod
    def configured(
        cls, settings: Mapping[str, Any], drift: Mapping[str, Any] | None = None, deciding: bool = False
    ) -> Sampling:
        """The sampling the config asks for: its ``timing`` keys, the race margin and confidence of its
        ``verdicts``, and the machine's drift (``measure.drift.machine_drift``'s record) when known.

        ``deciding`` (the head-to-head job, where verdicts are made) takes the budget and bound of
        ``verdicts`` instead of ``timing``'s: samples go where a decision needs them.
        """
        timing = dict(settings.get("timing", {}))
        timing.pop("warn_cv", None)  # a warning of the report's, not a stopping rule
        verdicts = settings.get("verdicts", {})
        if deciding:
            timing |= {key: verdicts[key] for key in ("max_seconds", "max_samples") if key in verdicts}
        spreads = (drift or {}).get("spread_by_sample_seconds", {})
        return cls(
            **timing,
            confidence=verdicts.get("confidence", cls.confidence),
            min_ratio=verdicts.get("min_ratio", cls.min_ratio),
            drift={float(length): float(spread) for length, spread in spreads.items()},
        )

    def least_spread(self, seconds: float) -> float:
        """The machine's drift for samples of ``seconds``: interpolated on a log scale between the lengths
        measured, the nearest one's beyond them; 0 when nothing was measured."""
        if not self.drift:
            return 0.0
        lengths = sorted(self.drift)
        spreads = [self.drift[length] for length in lengths]
        at = math.log(max(seconds, 1e-9))
        return float(np.interp(at, [math.log(length) for length in lengths], spreads))


def coefficient_of_variation(samples: Sequence[float]) -> float:
    """Sample standard deviation over mean (0 for fewer than two samples)."""
    if len(samples) < 2:
        return 0.0
    values = np.asarray(samples, dtype=float)
    return float(values.std(ddof=1) / values.mean())


def order_statistic_interval(values: np.ndarray, confidence: float) -> tuple[float, float] | None:
    """Distribution-free interval of the median from sorted ``values``: the order statistics whose binomial
    coverage reaches ``confidence``; None when too few values allow it."""
    count = len(values)
    alpha = 1 - confidence
    below = 0.0
    lowest = None
    for rank in range(count // 2):
        below += math.comb(count, rank) / 2**count
        if below > alpha / 2:
            break
        lowest = rank
    if lowest is None:
        return None
    return float(values[lowest]), float(values[count - 1 - lowest])


def robust_spread(values: np.ndarray) -> float:
    """The spread of ``values`` over their median, from the median absolute deviation (scaled to a normal
    distribution's standard deviation), so that one outlier cannot make a steady case look noisy; 0 for
    fewer than two values."""
    if len(values) < 2:
        return 0.0
    median = float(np.median(values))
    return float(1.4826 * np.median(np.abs(values - median)) / median) if median else 0.0


def median_interval(
    samples: Sequence[float], confidence: float = 0.95, least_spread: float = 0.0
) -> tuple[float, float]:
    """An interval of the median of ``samples`` at ``confidence``.

    The wider of two: the normal approximation of the median's standard error (sqrt(pi/2) times the
    mean's), from the samples' robust spread (``robust_spread``), taken as at least their standard
    deviation and ``least_spread`` while there are fewer than ``FEW_SAMPLES``; and, with enough samples,
    the distribution-free order-statistic interval, which holds whatever the samples' distribution.
    """
    values = np.sort(np.asarray(samples, dtype=float))
    if not len(values):
        return 0.0, math.inf
    median = float(np.median(values))
    spread = robust_spread(values)
    if len(values) < FEW_SAMPLES:
        spread = max(spread, coefficient_of_variation(values), least_spread)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    half = z * math.sqrt(math.pi / 2) * spread / math.sqrt(len(values))
    low, high = median * (1 - half), median * (1 + half)
    ranks = order_statistic_interval(values, confidence)
    if ranks is not None:
        low, high = min(low, ranks[0]), max(high, ranks[1])
    return max(low, 0.0), high


@dataclass
class Entry:
    """One method in a case: its calls per sample, its samples (seconds per call), why it stopped."""

    loops: int
    samples: list[float] = field(default_factory=list)
    stopped: str = ""
    spent: float = 0.0
    """Wall seconds of its samples so far, what each needs outside the clock included (evicting the
    store before a cold read, verifying what was read): what the budget counts."""

    @property
    def median(self) -> float:
        return float(np.median(self.samples))


def calibrate(call: Callable[[], float], min_sample_seconds: float) -> int:
    """Calls per sample, found as timeit's autorange does: double the batch until it lasts long enough.

    The calibration's calls are not kept: they are the case's warm-up (at least one whole call, untimed).
    """
    return loops_for(call(), min_sample_seconds, call)


def loops_for(first: float, min_sample_seconds: float, call: Callable[[], float] | None = None) -> int:
    """Calls per sample when one call took ``first`` seconds; with ``call``, doubling batches of it until
    a batch lasts ``min_sample_seconds``, as timeit's autorange does."""
    loops, lasted = 1, first
    while loops < MAX_LOOPS and lasted < min_sample_seconds:
        loops = min(MAX_LOOPS, loops * 2)
        lasted = sum(call() for _ in range(loops)) if call is not None else first * loops
    return loops


class Race:
    """The state of one case's race: every method's entry, and who is still due a sample.

    ``ranked`` methods compete; each of ``twins`` (A/A twin -> its original) is sampled whenever its
    original is and stops with it, so the A/A check compares samples taken alike.
    """

    def __init__(
        self,
        entries: Mapping[str, Entry],
        sampling: Sampling,
        twins: Mapping[str, str] | None = None,
    ) -> None:
        self.entries = dict(entries)
        self.sampling = sampling
        self.twins = {twin: original for twin, original in (twins or {}).items() if original in entries}
        self.ranked = [name for name in entries if name not in self.twins]

    def interval(self, name: str) -> tuple[float, float]:
        entry = self.entries[name]
        least = self.sampling.least_spread(entry.median * entry.loops) if entry.samples else 0.0
        return median_interval(entry.samples, self.sampling.confidence, least)

    def update(self) -> None:
        """Stop the ranked methods that are done, then let every twin follow its original."""
        open_ = [name for name in self.ranked if not self.entries[name].stopped]
        for name in open_:
            self.entries[name].stopped = self.stop_reason(name)
        for twin, original in self.twins.items():
            self.entries[twin].stopped = self.entries[original].stopped

    def stop_reason(self, name: str) -> str:
        """Why ``name`` takes no more samples, or an empty string while it is due one."""
        entry, rules = self.entries[name], self.sampling
        count = len(entry.samples)
        if not count:
            return ""
        if self.left_race(name):
            return LEFT_RACE
        if count >= rules.max_samples:
            return MOST
        if count < rules.min_samples:
            return ""
        if entry.spent >= rules.max_seconds:
            return BUDGET
        low, high = self.interval(name)
        return PRECISION if (high - low) / 2 <= rules.precision * entry.median else ""

    def left_race(self, name: str) -> bool:
        """Whether ``name``'s interval lies wholly above the leader's by more than ``min_ratio``.

        The leader and its runner-up never leave (a verdict compares the two, so both get their samples),
        nor does a method with an A/A twin (the A/A check compares them, and the twins' difference is
        every verdict's noise floor in that case).
        """
        sampled = sorted(
            (other for other in self.ranked if self.entries[other].samples),
            key=lambda other: self.entries[other].median,
        )
        if name not in sampled[2:] or name in self.twins.values():
            return False
        return self.interval(name)[0] > self.interval(sampled[0])[1] * self.sampling.min_ratio

    def due(self) -> list[str]:
        return [name for name, entry in self.entries.items() if not entry.stopped]

    def seconds_left(self) -> float:
        """A guess of the seconds the methods still due will take, from their samples so far."""
        rules, total = self.sampling, 0.0
        for name in self.due():
            entry = self.entries[name]
            per_sample = entry.spent / len(entry.samples) if entry.samples else 0.0
            by_budget = max(rules.min_samples - len(entry.samples), 0) * per_sample
            by_budget = max(by_budget, rules.max_seconds - entry.spent)
            total += min(by_budget, (rules.max_samples - len(entry.samples)) * per_sample)
        return total


def race(
    calls: Mapping[str, Callable[[], float]],
    sampling: Sampling,
    rng: np.random.Generator,
    *,
    loops: Mapping[str, int] | None = None,
    twins: Mapping[str, str] | None = None,
    between_rounds: Callable[[], None] | None = None,
    case: str = "a case",
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, Entry]:
    """Sample every call of ``calls`` (each returns the seconds of one timed call) in rounds until each
    stops (see the module); return every method's entry.

    Methods without calls per sample in ``loops`` (their caller's warm-up sized them) are calibrated first
    (``calibrated``). Rounds go in pairs: a shuffled order, then its reverse (``round_order``).
    ``between_rounds`` runs untimed after the calibration and after every round. A long case logs its
    round, the methods still racing and a guess of the time left (``Progress``). ``clock`` measures what a
    sample costs (the budget), in seconds.
    """
    progress = Progress(case)
    known = calibrated(calls, sampling.min_sample_seconds, rng, loops or {}, twins or {})
    state = Race({name: Entry(known[name]) for name in calls}, sampling, twins)
    if between_rounds:
        between_rounds()
    rounds, order = 0, []
    while due := state.due():
        rounds += 1
        order = round_order(due, order if rounds % 2 == 0 else [], rng)
        for name in order:
            entry = state.entries[name]
            began = clock()
            entry.samples.append(sum(calls[name]() for _ in range(entry.loops)) / entry.loops)
            entry.spent += clock() - began
        if between_rounds:
            between_rounds()
        state.update()
        progress.report(rounds, state)
    progress.done(state.entries)
    return state.entries


def calibrated(
    calls: Mapping[str, Callable[[], float]],
    min_sample_seconds: float,
    rng: np.random.Generator,
    loops: Mapping[str, int],
    twins: Mapping[str, str],
) -> dict[str, int]:
    """Calls per sample of every method: ``loops`` where given, else ``calibrate``d (its warm-up), in a
    shuffled order so that no method is always the one warmed up last; an A/A twin takes its original's.

    Twins calibrated apart batched 8 and 16 writes: the last of 16 writes in a row meet more dirty pages,
    and the twins were told apart on writes.
    """
    known = dict(loops)
    names = list(calls)
    for position in rng.permutation(len(names)):
        if names[position] not in known:
            known[names[position]] = calibrate(calls[names[position]], min_sample_seconds)
    return known | {twin: known[original] for twin, original in twins.items() if original in known}


class Progress:
    """What a case tells the log: every ``PROGRESS_SECONDS`` its round, the methods still racing and a
    guess of the time left, and at its end how it ended."""

    def __init__(self, case: str) -> None:
        self.case = case
        self.started = self.reported = time.perf_counter()

    def report(self, rounds: int, state: Race) -> None:
        now = time.perf_counter()
        if now - self.reported <= PROGRESS_SECONDS or not state.due():
            return
        self.reported = now
        log.info(
            "%s: round %d after %.0f s, still racing %s, about %.0f s left",
            self.case,
            rounds,
            now - self.started,
            ", ".join(state.due()),
            state.seconds_left(),
        )

    def done(self, entries: Mapping[str, Entry]) -> None:
        log.info("%s: %s in %.0f s", self.case, outcome(entries), time.perf_counter() - self.started)


def round_order(due: Sequence[str], previous: Sequence[str], rng: np.random.Generator) -> list[str]:
    """The order of a round: a new shuffle of ``due``, or, after a round in ``previous`` order, its reverse
    (ABBA): over each two rounds every method runs as often before as after each other, so a trend or
    what one write leaves for the next (dirty pages, a warm cache) falls on both alike."""
    if previous:
        return [name for name in reversed(previous) if name in due]
    return [due[position] for position in rng.permutation(len(due))]


def outcome(entries: Mapping[str, Entry]) -> str:
    """How a case ended, in a few words: samples per method and why they stopped."""
    counts = [len(entry.samples) for entry in entries.values()]
    reasons = {reason: 0 for reason in STOP_REASONS}
    for entry in entries.values():
        reasons[entry.stopped] = reasons.get(entry.stopped, 0) + 1
    stops = ", ".join(f"{reason} {count}" for reason, count in reasons.items() if count)
    spread = f"{min(counts)}" if min(counts) == max(counts) else f"{min(counts)} to {max(counts)}"
    return f"{spread} samples of each of {len(entries)} methods ({stops})"
