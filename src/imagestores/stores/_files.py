"""Reading raw bytes of files into caller-allocated image buffers, shared by the stores of raw files.

Also the check such a reader needs: records that do not fill their buffers exactly.
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path

import numpy as np

from imagestores.stores.base import Images

IOV_MAX = os.sysconf("SC_IOV_MAX")
"""Most buffers one ``preadv`` call takes."""


def check_sizes(lengths: np.ndarray, images_out: Images) -> None:
    """Refuse raw records that do not exactly fill their output buffers (a shape or dtype mismatch)."""
    if not len(lengths):
        return
    if isinstance(images_out, np.ndarray):
        fits = bool((lengths == images_out[0].nbytes).all())
    else:
        fits = lengths.tolist() == [out.nbytes for out in images_out[: len(lengths)]]
    if not fits:
        raise ValueError("raw records do not match the output buffers' sizes (wrong shape or dtype)")


def pread_into(fd: int, targets: Images, offset: int) -> None:
    """Fill ``targets`` (an array or a list of arrays) with the bytes of ``fd`` from ``offset`` on.

    One ``os.preadv`` call fills up to IOV_MAX buffers in place; a non-contiguous buffer is read into a
    temporary and copied.
    """
    if isinstance(targets, np.ndarray) and targets.flags.c_contiguous:  # the common case, kept lean
        check_read(os.preadv(fd, [targets], offset), targets.nbytes, fd)
        return
    buffers = [targets] if isinstance(targets, np.ndarray) else list(targets)
    for start in range(0, len(buffers), IOV_MAX):
        group = buffers[start : start + IOV_MAX]
        staged = [out if out.flags.c_contiguous else np.empty(out.shape, out.dtype) for out in group]
        wanted = sum(buffer.nbytes for buffer in staged)
        check_read(os.preadv(fd, staged, offset), wanted, fd)
        for out, buffer in zip(group, staged, strict=True):
            if buffer is not out:
                out[...] = buffer
        offset += wanted


def check_read(got: int, wanted: int, fd: int) -> None:
    if got != wanted:
        raise OSError(f"read {got} bytes of file descriptor {fd} where {wanted} were expected")


def map_file(path: Path) -> mmap.mmap:
    """A read-only memory map of the whole (non-empty) file ``path``."""
    with open(path, "rb") as file:
        return mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
