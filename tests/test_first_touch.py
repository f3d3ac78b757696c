"""Backing memory before a timed call holds nothing afterwards, and the first-touch record is complete."""

from __future__ import annotations

from imagestores.measure import first_touch
from imagestores.measure.first_touch import back, first_touch_cost
from imagestores.measure.memory import PeakMemory, anonymous_bytes

MiB = 2**20


def test_backing_touches_the_memory_and_keeps_none_of_it():
    before = anonymous_bytes()
    with PeakMemory() as peak:
        back(64 * MiB)
    assert peak.growth_bytes >= 60 * MiB, "the pages were touched"
    assert anonymous_bytes() - before < 8 * MiB, "and given back"


def test_backing_is_bounded_however_much_an_operation_moves(monkeypatch):
    monkeypatch.setattr(first_touch, "MAX_BACKED_BYTES", 48 * MiB)
    with PeakMemory() as peak:
        back(256 * MiB)
    assert 16 * MiB <= peak.growth_bytes <= 56 * MiB


def test_the_first_touch_record_has_every_cost_per_gib():
    record = first_touch_cost(nbytes=8 * MiB, repeats=3, pause=0.01)
    assert record["probe_bytes"] == 8 * MiB and record["pause_seconds"] == 0.01
    for key in ("first_touch", "touched_again", "first_touch_after_pause"):
        assert record[f"{key}_seconds_per_gib"] > 0
