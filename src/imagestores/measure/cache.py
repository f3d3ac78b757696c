"""Cold reads: drop a store's files from the page cache, then prove with ``mincore(2)`` that they are gone.

``posix_fadvise(DONTNEED)`` is only a hint: tmpfs cannot drop its pages at all, some network and FUSE
filesystems ignore it, and pages that any process (this one too) has mapped stay. A read timed after an
eviction that did not happen is a warm read, so residency is measured before and after instead of assumed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import mmap
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imagestores.measure.machine import filesystem

DROP_CACHES = Path("/proc/sys/vm/drop_caches")
"""Writing "1" here drops the whole page cache (root only): also frees what fadvise leaves behind."""

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [
    ctypes.c_void_p,
    ctypes.c_size_t,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_long,
]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_ubyte)]
_MAP_FAILED = ctypes.c_void_p(-1).value


@dataclass(frozen=True)
class Eviction:
    """What an eviction achieved; a row timed after one with ``verified=False`` is not a cold read."""

    method: str
    resident_before: int
    resident_after: int
    total_bytes: int
    verified: bool
    note: str


def store_files(path: Path) -> list[Path]:
    """Every regular file of a store (a directory, walked without following symlinks, or one file)."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"no store at {path}")
    files = [Path(root, name) for root, _, names in os.walk(path) for name in names]
    return sorted(file for file in files if file.is_file() and not file.is_symlink())


def evict(paths: Sequence[Path], drop_caches: bool = False) -> str:
    """Ask the kernel to drop the files' cached pages; return the method used.

    Dirty pages cannot be dropped, so each file is fsynced first. With ``drop_caches`` and the rights to
    write ``/proc/sys/vm/drop_caches``, the whole page cache is dropped as well.
    """
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    if drop_caches and os.access(DROP_CACHES, os.W_OK):
        os.sync()
        DROP_CACHES.write_text("1")
        return "fadvise+drop_caches"
    return "fadvise"


def _resident_pages(fd: int, size: int) -> np.ndarray:
    """One flag per page of the file's first ``size`` bytes: True when the page is in the page cache."""
    address = _libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
    if address == _MAP_FAILED:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mmap: {os.strerror(errno)}")
    try:
        pages = np.zeros(-(-size // mmap.PAGESIZE), dtype=np.uint8)
        if _libc.mincore(address, size, pages.ctypes.data_as(ctypes.POINTER(ctypes.c_ubyte))) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"mincore: {os.strerror(errno)}")
        return (pages & 1).astype(bool)
    finally:
        _libc.munmap(address, size)


def resident_bytes(paths: Sequence[Path]) -> tuple[int, int]:
    """(Bytes of the files now in the page cache, total bytes of the files).

    Kernels since 5.0 may report another user's cached pages as absent to anyone who may not write the
    file; such a file raises PermissionError rather than risk looking cold.
    """
    resident = total = 0
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            status = os.fstat(fd)
            if status.st_size == 0:
                continue
            if status.st_uid != os.geteuid() and not os.access(path, os.W_OK):
                raise PermissionError(f"{path}: mincore cannot see the page cache of a file we may not write")
            cached = _resident_pages(fd, status.st_size)
        finally:
            os.close(fd)
        total += status.st_size
        beyond_end = cached.size * mmap.PAGESIZE - status.st_size
        resident += int(cached.sum()) * mmap.PAGESIZE - (beyond_end if cached[-1] else 0)
    return resident, total


def evict_and_verify(
    paths: Sequence[Path], drop_caches: bool = False, max_resident_fraction: float = 0.01
) -> Eviction:
    """Evict, measure, retry once if more than ``max_resident_fraction`` stayed, and say if it worked."""
    before, total = resident_bytes(paths)
    limit = max_resident_fraction * total
    for _ in range(2):
        method = evict(paths, drop_caches)
        after, _ = resident_bytes(paths)
        if after <= limit:
            return Eviction(method, before, after, total, verified=True, note="")
    types = ", ".join(sorted({filesystem(path)["type"] for path in paths}))
    note = (
        f"{after} of {total} bytes ({after / total:.1%}) still in the page cache after two evictions "
        f"({method}) on {types}: the filesystem ignores fadvise(DONTNEED) (tmpfs cannot drop its pages, "
        "some network and FUSE filesystems do not) or a process, this one included, still maps or locks "
        "the files (an open LMDB environment, a numpy memmap); "
        "reads timed now are not cold"
    )
    return Eviction(method, before, after, total, verified=False, note=note)
