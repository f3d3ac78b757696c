"""Nothing faster than physics: a read that beats copying its bytes in memory cannot have done its work.

The floor is measured on the machine at the start of each job (twice the fastest in-cache copy) and every
timed read is checked against it, so a lazy or skipped read fails the job instead of winning a table.
"""

from __future__ import annotations

import time

import numpy as np

CACHE_SIZED_COPY = 8 * 2**20
"""Bytes copied to find the physical floor: small enough to run from the CPU caches, the fastest case."""


class SuspectTiming(ValueError):
    """A timing shorter than copying its bytes in memory: the operation cannot have done its work."""


def _copy_ns(target: np.ndarray, source: np.ndarray) -> int:
    start = time.perf_counter_ns()
    np.copyto(target, source)
    return time.perf_counter_ns() - start


def memory_copy_bandwidth(nbytes: int = 256 * 2**20, repeats: int = 5) -> float:
    """Bytes per second of the fastest of ``repeats`` single-threaded in-memory copies of ``nbytes``.

    The floor under any timing: delivering N bytes cannot be much faster than copying them in memory, so
    a timing far below N / this bandwidth did not move its bytes (see ``check_physical``). Reads into
    a small reused buffer that stays in the CPU cache, or by several threads, can reach it or beat it a
    little, so compare with some headroom. A warm-up copy touches both buffers, so no page fault is timed.
    """
    if nbytes <= 0 or repeats < 1:
        raise ValueError(f"need nbytes > 0 and repeats >= 1, got {nbytes} and {repeats}")
    source = np.ones(nbytes, dtype=np.uint8)
    target = np.empty_like(source)
    np.copyto(target, source)
    return nbytes * 1e9 / min(_copy_ns(target, source) for _ in range(repeats))


def physical_floor_bandwidth() -> float:
    """Bytes/s no read can beat: twice the fastest in-cache memory copy measured on this machine now."""
    return 2 * memory_copy_bandwidth(CACHE_SIZED_COPY)


def check_physical(seconds: float, nbytes: int, bandwidth: float) -> None:
    """Raise SuspectTiming when ``seconds`` is shorter than copying ``nbytes`` in memory at ``bandwidth``.

    ``bandwidth`` is bytes/s, as from ``memory_copy_bandwidth``. Zero-byte operations have no floor.
    """
    if bandwidth <= 0:
        raise ValueError(f"bandwidth must be positive, got {bandwidth}")
    floor = nbytes / bandwidth
    if nbytes and seconds < floor:
        raise SuspectTiming(
            f"{seconds:.3g} s to move {nbytes} bytes is less than the {floor:.3g} s that copying them in "
            f"memory takes at {bandwidth / 1e9:.3g} GB/s: the operation cannot have delivered those bytes "
            "(a lazy or skipped read, or work done outside the clock)"
        )
