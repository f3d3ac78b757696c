"""The machine-drift probe: samples of a given length, and their spread, from a series of call times."""

from __future__ import annotations

import numpy as np
import pytest

from imagestores.measure.drift import machine_drift, sample_spreads
from imagestores.measure.sampling import coefficient_of_variation


def test_samples_sum_consecutive_calls_to_the_length_asked():
    """1 ms calls (the median), the machine 1.5x slower every other 100 calls: 100 ms samples alternate
    100 and 150 ms and spread 20%; 200 ms samples each hold one slow and one fast stretch and do not
    spread. The last call makes no whole sample and is left out."""
    stretches = [np.full(100, 1e-3 * speed) for speed in [1.0, 1.5] * 10]
    calls = np.concatenate([*stretches, [1e-3]])
    spreads = sample_spreads(calls, (0.1, 0.2, 5.0))
    count, cv = spreads[0.1]
    assert count == 20 and cv == pytest.approx(coefficient_of_variation([0.1, 0.15] * 10))
    assert cv == pytest.approx(0.2, abs=0.01)
    assert spreads[0.2] == (10, pytest.approx(0.0, abs=1e-12))
    assert 5.0 not in spreads, "a length that makes fewer than five samples is left out"


def test_the_record_has_a_spread_for_each_length_the_probe_reached():
    record = machine_drift(seconds=0.3)
    assert record["probe_seconds"] == 0.3 and record["call_seconds_median"] > 0
    spreads = record["spread_by_sample_seconds"]
    assert set(spreads) == {"0.01"}, "0.3 s makes 30 samples of 10 ms, too few of 0.1 s"
    assert spreads["0.01"] >= 0
