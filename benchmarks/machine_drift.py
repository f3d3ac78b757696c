"""How far this machine's own speed drifts: can it support a verdict that needs spread below 10%?

Times the probe of ``imagestores.measure.drift`` (a fixed pure-Python loop, no memory or I/O) back to
back for ``--seconds``, groups the calls into samples of 10 ms to 5 s, as a benchmark's repeats would be,
and prints the coefficient of variation (std / mean) of the samples at each length. On a quiet machine it
falls well below pyperf's 10% warning as samples get longer; where it stays above 10%, the machine itself
spreads that much, and no harness can make a method's own repeats steadier. (Each run's
``environment.json`` records the same probe over 10 s, as ``machine_drift``.)
The probe is then timed as two loops in rounds, one with 1.2x the work: their per-round ratio shows how
much of the drift two methods share when their calls alternate, and when they do not.

    PYTHONPATH=src .venv/bin/python benchmarks/machine_drift.py [--seconds 60] [--ratio-rounds 30]
"""

from __future__ import annotations

import argparse

import numpy as np

from imagestores.measure.drift import WORK, probe, sample_spreads, timed_work
from imagestores.measure.sampling import coefficient_of_variation

LENGTHS = (0.01, 0.1, 0.5, 1.0, 2.0, 5.0)


def paired_rounds(rounds: int, calls_per_sample: int, interleave: bool) -> tuple[float, float]:
    """Two loops (1x and 1.2x the work) sampled in rounds; the median and spread of their per-round ratio.

    Interleaved, their calls alternate (ABAB..., which goes first alternating by round); else one's calls
    all come before the other's (AA...BB...).
    """
    more = int(WORK * 1.2)
    ratios = []
    for number in range(rounds):
        first, second = (WORK, more) if number % 2 else (more, WORK)
        if interleave:
            order = [first, second] * calls_per_sample
        else:
            order = [first] * calls_per_sample + [second] * calls_per_sample
        totals = {WORK: 0.0, more: 0.0}
        for count in order:
            totals[count] += timed_work(count)
        ratios.append(totals[more] / totals[WORK])
    values = np.asarray(ratios)
    return float(np.median(values)), coefficient_of_variation(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to time the probe")
    parser.add_argument("--ratio-rounds", type=int, default=30)
    arguments = parser.parse_args()
    calls = probe(arguments.seconds)
    per_call = float(np.median(calls))
    print(f"{len(calls):,} calls of the probe in {arguments.seconds:g} s: median {per_call * 1e3:.3f} ms")
    print(
        f"fastest 10% of calls {np.percentile(calls, 10) * 1e3:.3f} ms, slowest 10% "
        f"{np.percentile(calls, 90) * 1e3:.3f} ms"
    )
    print("\n| sample | samples | spread (std / mean) |\n|---|---|---|")
    for length, (count, cv) in sample_spreads(calls, LENGTHS).items():
        print(f"| {length:g} s | {count} | {cv:.1%} |")
    calls_per_sample = max(1, round(0.05 / per_call))
    print(f"\nTwo loops, 1.2x apart, in {arguments.ratio_rounds} rounds of {calls_per_sample} calls each:")
    for interleave in (False, True):
        median, cv = paired_rounds(arguments.ratio_rounds, calls_per_sample, interleave)
        how = "calls interleaved (ABAB)" if interleave else "one after the other (AA..BB)"
        print(f"- {how}: per-round ratio median {median:.3f}, spread {cv:.1%}")


if __name__ == "__main__":
    main()
