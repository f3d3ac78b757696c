"""Peak memory of one operation, measured in its own untimed run so the sampling never slows a timed one.

What is measured is the growth of the process's anonymous memory (``RssAnon``: heap, buffers, what the
library allocates), sampled every millisecond by a thread and once more at the end. File-backed pages are
left out on purpose: a memory-mapped store or the memory-mapped source images are page cache the kernel
can drop, and counting them would make every method look as if its memory grew with N.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Self

SAMPLE_SECONDS = 0.001


def anonymous_bytes() -> int:
    """Resident anonymous memory of this process, from /proc/self/status."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("/proc/self/status has no RssAnon line; peak memory needs Linux")


class PeakMemory:
    """``with PeakMemory() as peak: work()``; then ``peak.growth_bytes`` is the peak above the start."""

    def __init__(self) -> None:
        self.baseline = 0
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self.peak = max(self.peak, anonymous_bytes())

    def __enter__(self) -> Self:
        self.baseline = self.peak = anonymous_bytes()
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, anonymous_bytes())

    @property
    def growth_bytes(self) -> int:
        return self.peak - self.baseline
