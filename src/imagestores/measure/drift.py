"""How far the machine's own speed drifts: the spread no method's repeats can get below.

A verdict needs repeats that spread less than ``timing.max_cv`` (pyperf warns at 10%). On a shared or
virtual machine the CPU's speed itself can swing: the 2-core VM this was written on ran a fixed loop at
0.47 to 0.87 ms a call, for stretches of about a second. ``machine_drift`` times that loop back to back
and says how far samples of a given length spread, so that a run's record shows when the machine, not
the methods, makes its verdicts ties.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from imagestores.measure.sampling import coefficient_of_variation

WORK = 20_000
"""Additions per call of the probe: about 0.5 ms of CPython here; no memory, no I/O."""

SAMPLE_SECONDS = (0.01, 0.1, 1.0)
"""Sample lengths reported: a batched short call, a typical sample, a long one."""

MIN_SAMPLES = 5
"""Fewest samples a length needs for its spread to be reported."""


def work(count: int) -> None:
    """The probe: ``count`` additions in the interpreter."""
    total = 0
    for step in range(count):
        total += step


def timed_work(count: int = WORK) -> float:
    """Seconds of one call of the probe."""
    start = time.perf_counter_ns()
    work(count)
    return (time.perf_counter_ns() - start) / 1e9


def sample_spreads(
    calls: np.ndarray, lengths: Sequence[float] = SAMPLE_SECONDS
) -> dict[float, tuple[int, float]]:
    """Per sample length: how many samples consecutive ``calls`` (seconds each) make, and their spread.

    Each sample sums as many consecutive calls as last ``length`` at the median call; lengths that make
    fewer than ``MIN_SAMPLES`` samples are left out.
    """
    per_call = float(np.median(calls))
    spreads = {}
    for length in lengths:
        per_sample = max(1, round(length / per_call))
        count = len(calls) // per_sample
        if count >= MIN_SAMPLES:
            samples = calls[: count * per_sample].reshape(count, per_sample).sum(axis=1)
            spreads[length] = (count, coefficient_of_variation(samples))
    return spreads


def probe(seconds: float, warmup_calls: int = 200) -> np.ndarray:
    """Seconds of each call of the probe, back to back for ``seconds``, after ``warmup_calls`` untimed."""
    for _ in range(warmup_calls):
        work(WORK)
    calls = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        calls.append(timed_work())
    return np.asarray(calls)


def machine_drift(seconds: float = 10.0) -> dict[str, object]:
    """The record for ``environment.json``: the probe's median call and, per sample length (seconds, as
    a string key), the spread of its samples over ``seconds`` of probing."""
    calls = probe(seconds)
    return {
        "probe_seconds": seconds,
        "call_seconds_median": float(np.median(calls)),
        "spread_by_sample_seconds": {f"{length:g}": cv for length, (_, cv) in sample_spreads(calls).items()},
    }
