"""Peak memory of one operation, measured in a fresh interpreter so neither timing nor earlier runs skew it.

What is measured is the growth of the process's anonymous memory (``RssAnon``: heap, buffers, what the
library allocates), sampled every millisecond by a thread and once more at the end. File-backed pages are
left out on purpose: a memory-mapped store or the memory-mapped source images are page cache the kernel
can drop, and counting them would make every method look as if its memory grew with N.

The operation runs in a new Python process (``peak_in_fresh_process``), as asv measures ``peakmem_*``:
memory that earlier runs freed but the allocator kept (malloc arenas, a library's pool) would be reused
without showing as growth, and the sampler never runs beside a timed repeat.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import threading
from types import TracebackType
from typing import Any, Self

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


class MemoryRunFailed(RuntimeError):
    """The interpreter measuring an operation's memory failed; its stderr says why."""


def peak_in_fresh_process(factory: str, **arguments: Any) -> int:
    """Peak growth of anonymous memory, in bytes, of ``factory(**arguments)()`` in a new interpreter.

    ``factory`` (``module:function``) does the set-up, which is not measured, and returns the work to
    measure; ``arguments`` must be JSON. The child's stderr is passed on to this process's stderr.
    """
    child = subprocess.run(
        [sys.executable, "-m", __name__, factory, json.dumps(arguments)], capture_output=True, text=True
    )
    sys.stderr.write(child.stderr)
    if child.returncode != 0:
        raise MemoryRunFailed(
            f"measuring the memory of {factory}({arguments}) failed with exit code {child.returncode}:\n"
            f"{child.stderr.strip()[-2000:]}"
        )
    return int(child.stdout.split()[-1])  # the last line: what the work printed comes before it


def main(factory: str, arguments: str) -> None:
    """The child's side of peak_in_fresh_process: set up, measure the work, print the growth."""
    module, _, name = factory.partition(":")
    work = getattr(importlib.import_module(module), name)(**json.loads(arguments))
    with PeakMemory() as peak:
        work()
    print(peak.growth_bytes)


if __name__ == "__main__":
    main(*sys.argv[1:])
