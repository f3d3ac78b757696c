"""Peak memory of one operation, measured in a fresh process so neither timing nor earlier runs skew it.

What is measured is the growth of the process's anonymous memory (``RssAnon``: heap, buffers, what the
library allocates), sampled every millisecond by a thread and once more at the end. File-backed pages are
left out on purpose: a memory-mapped store or the memory-mapped source images are page cache the kernel
can drop, and counting them would make every method look as if its memory grew with N.

Each operation runs in a process of its own, as asv measures ``peakmem_*``: memory that earlier runs freed
but the allocator kept (malloc arenas, a library's pool) would be reused without showing as growth, and
the sampler never runs beside a timed repeat. The processes are forked at the start of the job, when it
has imported its libraries and done nothing else (``FreshProcesses``): as clean as a new interpreter,
without paying the imports of pandas, pyarrow or h5py once per operation.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import threading
import traceback
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
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


class FreshProcesses:
    """Processes forked before any work is done, each waiting to measure the peak memory of one operation.

    ``with FreshProcesses(count) as fresh: ... fresh.peak("module:factory", **arguments)``. Forked when the
    job has imported its libraries and done nothing else, every process is as clean as a new interpreter
    but costs no imports; they sleep until asked, so they never run beside a timed repeat. Forked from a
    process that has already worked, they would reuse its freed memory unseen: there, ask for
    ``start_method="spawn"`` (new interpreters).
    """

    def __init__(self, count: int, start_method: str = "fork") -> None:
        context = multiprocessing.get_context(start_method)
        self._waiting: list[tuple[Connection, BaseProcess]] = []
        for _ in range(count):
            ours, theirs = context.Pipe()
            process = context.Process(target=_measure_on_request, args=(theirs,), daemon=True)
            process.start()
            theirs.close()
            self._waiting.append((ours, process))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        for connection, process in self._waiting:
            with contextlib.suppress(OSError):  # a process that died has nothing to be told
                connection.send(None)
            connection.close()
            process.join()
        self._waiting.clear()

    def peak(self, factory: str, **arguments: Any) -> int:
        """Peak growth of anonymous memory, in bytes, of ``factory(**arguments)()`` in the next process.

        ``factory`` (``module:function``) does the set-up, which is not measured, and returns the work to
        measure.
        """
        if not self._waiting:
            raise RuntimeError("every fresh process has been used; create FreshProcesses with a larger count")
        connection, process = self._waiting.pop(0)
        connection.send((factory, arguments))
        try:
            outcome, value = connection.recv()
        except EOFError:
            outcome, value = "error", f"the process died with exit code {process.exitcode}"
        connection.close()
        process.join()
        if outcome == "error":
            raise MemoryRunFailed(f"measuring the memory of {factory}({arguments}) failed: {value}")
        return value


def _measure_on_request(connection: Connection) -> None:
    """A fresh process's side: wait for one request, set up, measure the work, send the growth back."""
    request = connection.recv()
    if request is None:
        return
    factory, arguments = request
    try:
        module, _, name = factory.partition(":")
        work = getattr(importlib.import_module(module), name)(**arguments)
        with PeakMemory() as peak:
            work()
    except Exception as error:
        connection.send(("error", f"{type(error).__name__}: {error}\n{traceback.format_exc()}"))
    else:
        connection.send(("ok", peak.growth_bytes))


def peak_in_fresh_process(factory: str, **arguments: Any) -> int:
    """``FreshProcesses.peak`` in a new interpreter started for this one call, from any process."""
    with FreshProcesses(1, start_method="spawn") as fresh:
        return fresh.peak(factory, **arguments)
