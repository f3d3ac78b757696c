"""Fresh memory's first touch: measured for the machine record, and paid before the clock, not inside it.

Some virtual machines hand memory the guest has freed back to their host, and the host backs it again only
when the guest next touches it, at a cost of seconds per GiB. Anything a timed call allocates, its output,
a library's buffers or page cache for a new file, may land on such memory, so one repeat pays the cost and
the next does not, and the timing says more about the host than about the store. Before each timed call
the harness touches and frees as much memory as the call will need (``back``): the kernel then hands the
call pages the host has just backed. ``first_touch_cost`` measures what the machine does, for
``environment.json``.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

GiB = 2**30

BACKING_FACTOR = 2
"""Bytes backed per byte an operation moves: its data plus as much again for buffers or page cache."""

MAX_BACKED_BYTES = 4 * GiB
"""Never back more than this before one call: beyond it the touch would cost more than it saves."""

PROBE_BYTES = 256 * 2**20
"""Bytes touched to measure the first-touch cost: enough to outweigh the timer and fit any machine."""


def back(nbytes: int) -> None:
    """Touch ``nbytes`` of anonymous memory and free it, so the next allocations get backed pages."""
    if nbytes > 0:
        np.ones(min(nbytes, MAX_BACKED_BYTES), dtype=np.uint8)


def back_for(moved: int) -> None:
    """Back what a call moving ``moved`` bytes may allocate (``BACKING_FACTOR`` times it)."""
    back(BACKING_FACTOR * moved)


def _fill_seconds(block: np.ndarray, value: int) -> float:
    start = time.perf_counter_ns()
    block.fill(value)
    return (time.perf_counter_ns() - start) / 1e9


def first_touch_cost(nbytes: int = PROBE_BYTES, repeats: int = 3, pause: float = 3.0) -> dict[str, float]:
    """Seconds per GiB of writing fresh memory, of writing it again, and of fresh memory after a pause.

    ``first_touch`` fills a new block (page faults and zeroing, plus the host's backing where it applies),
    ``touched_again`` fills the same block again (memory bandwidth alone); ``after_pause`` fills a new
    block after ``pause`` seconds of idleness, long enough for a guest to report freed memory to its host.
    Medians of ``repeats``.
    """
    first, again, after_pause = [], [], []
    for _ in range(repeats):
        block = np.empty(nbytes, dtype=np.uint8)
        first.append(_fill_seconds(block, 1))
        again.append(_fill_seconds(block, 2))
        del block
    if pause:
        for _ in range(max(1, repeats // 2)):
            time.sleep(pause)
            after_pause.append(_fill_seconds(np.empty(nbytes, dtype=np.uint8), 1))
    per_gib = GiB / nbytes
    record = {
        "probe_bytes": nbytes,
        "first_touch_seconds_per_gib": statistics.median(first) * per_gib,
        "touched_again_seconds_per_gib": statistics.median(again) * per_gib,
    }
    if after_pause:
        record["first_touch_after_pause_seconds_per_gib"] = statistics.median(after_pause) * per_gib
        record["pause_seconds"] = pause
    return record
