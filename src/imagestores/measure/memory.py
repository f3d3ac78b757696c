"""Peak memory of one operation, measured in a fresh process so neither timing nor earlier runs skew it.

What is measured is the growth of the process's anonymous memory (``RssAnon``: heap, buffers, what the
library allocates), sampled every millisecond by a thread and once more at the end. File-backed pages are
left out on purpose: a memory-mapped store or the memory-mapped source images are page cache the kernel
can drop, and counting them would make every method look as if its memory grew with N.

Each operation runs in a process of its own, as asv measures ``peakmem_*``: memory that earlier runs freed
but the allocator kept (malloc arenas, a library's pool) would be reused without showing as growth, and
the sampler never runs beside a timed repeat. The process is forked from multiprocessing's fork server, a
clean interpreter that has done nothing but import the libraries (``preload``): as fresh as a new
interpreter, without paying the imports of pandas, pyarrow or h5py once per operation.
"""

from __future__ import annotations

import importlib
import multiprocessing
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
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
    """The process measuring an operation's memory failed; the message carries its error."""


def peak_in_fresh_process(factory: str, preload: Sequence[str] = (), **arguments: Any) -> int:
    """Peak growth of anonymous memory, in bytes, of ``factory(**arguments)()`` in a fresh process.

    ``factory`` (``module:function``) does the set-up, which is not measured, and returns the work to
    measure. The process is a child of the fork server, which imports ``preload`` (module names) once when
    it starts; a server already running keeps what it imported, and the child imports the rest.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__, *preload])
    with ProcessPoolExecutor(max_workers=1, mp_context=context, max_tasks_per_child=1) as pool:
        try:
            return pool.submit(measured_growth, factory, arguments).result()
        except Exception as error:
            raise MemoryRunFailed(
                f"measuring the memory of {factory}({arguments}) failed: {type(error).__name__}: {error}"
            ) from error


def measured_growth(factory: str, arguments: dict[str, Any]) -> int:
    """The child's side of peak_in_fresh_process: set up, measure the work, return the growth."""
    module, _, name = factory.partition(":")
    work = getattr(importlib.import_module(module), name)(**arguments)
    with PeakMemory() as peak:
        work()
    return peak.growth_bytes
