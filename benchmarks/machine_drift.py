"""How far this machine's own speed drifts: can it support a verdict that needs spread below 10%?

Times one fixed piece of pure-Python work (``work``: a loop of additions, no memory or I/O) back to back
for ``--seconds``, then groups the calls into samples of 10 ms to 5 s, as a benchmark's repeats would be,
and prints the coefficient of variation (std / mean) of the samples at each length. On a quiet machine it
falls well below pyperf's 10% warning as samples get longer; where it stays above 10% at every length,
the machine itself spreads that much, and no harness can make a method's own repeats steadier than that.
The same work is then timed as two interleaved loops, one with 1.2x the work: their per-round ratio
shows how much of the drift two methods share when their calls alternate (``--ratio-rounds`` rounds).

    .venv/bin/python benchmarks/machine_drift.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

WORK = 20_000
"""Additions per call: about 1 ms of CPython on a 2020s core."""

SAMPLE_SECONDS = (0.01, 0.1, 0.5, 1.0, 2.0, 5.0)


def work(count: int) -> None:
    total = 0
    for step in range(count):
        total += step


def timed(count: int) -> float:
    start = time.perf_counter_ns()
    work(count)
    return (time.perf_counter_ns() - start) / 1e9


def spread(values: np.ndarray) -> float:
    return float(np.std(values, ddof=1) / np.mean(values))


def sample_spreads(calls: np.ndarray, seconds_per_call: float) -> dict[float, tuple[int, float]]:
    """Per sample length: how many samples the calls make, and their spread (needs at least 5)."""
    spreads = {}
    for length in SAMPLE_SECONDS:
        per_sample = max(1, round(length / seconds_per_call))
        count = len(calls) // per_sample
        if count >= 5:
            samples = calls[: count * per_sample].reshape(count, per_sample).sum(axis=1)
            spreads[length] = (count, spread(samples))
    return spreads


def paired_rounds(rounds: int, calls_per_sample: int, interleave: bool) -> tuple[float, float]:
    """Two loops (1x and 1.2x the work) sampled in rounds; the median and spread of their per-round ratio.

    Interleaved, their calls alternate (ABAB..., which goes first alternating by round); else one's calls
    all come before the other's (AA...BB...).
    """
    ratios = []
    for number in range(rounds):
        first, second = (WORK, int(WORK * 1.2)) if number % 2 else (int(WORK * 1.2), WORK)
        if interleave:
            order = [first, second] * calls_per_sample
        else:
            order = [first] * calls_per_sample + [second] * calls_per_sample
        totals = {WORK: 0.0, int(WORK * 1.2): 0.0}
        for count in order:
            totals[count] += timed(count)
        ratios.append(totals[int(WORK * 1.2)] / totals[WORK])
    values = np.asarray(ratios)
    return float(np.median(values)), spread(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to time the work")
    parser.add_argument("--ratio-rounds", type=int, default=30)
    arguments = parser.parse_args()
    for _ in range(200):  # warm-up: the interpreter's caches, the CPU's frequency
        timed(WORK)
    calls = []
    end = time.perf_counter() + arguments.seconds
    while time.perf_counter() < end:
        calls.append(timed(WORK))
    values = np.asarray(calls)
    per_call = float(np.median(values))
    print(
        f"{len(values):,} calls of {WORK:,} additions in {arguments.seconds:g} s: "
        f"median {per_call * 1e3:.3f} ms"
    )
    print(
        f"fastest 10% of calls {np.percentile(values, 10) * 1e3:.3f} ms, slowest 10% "
        f"{np.percentile(values, 90) * 1e3:.3f} ms"
    )
    print("\n| sample | samples | spread (std / mean) |\n|---|---|---|")
    for length, (count, cv) in sample_spreads(values, per_call).items():
        print(f"| {length:g} s | {count} | {cv:.1%} |")
    calls_per_sample = max(1, round(0.05 / per_call))
    print(f"\nTwo loops, 1.2x apart, in {arguments.ratio_rounds} rounds of {calls_per_sample} calls each:")
    for interleave in (False, True):
        median, cv = paired_rounds(arguments.ratio_rounds, calls_per_sample, interleave)
        how = "calls interleaved (ABAB)" if interleave else "one after the other (AA..BB)"
        print(f"- {how}: per-round ratio median {median:.3f}, spread {cv:.1%}")


if __name__ == "__main__":
    main()
