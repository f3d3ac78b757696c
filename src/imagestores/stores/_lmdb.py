"""What the LMDB stores share: the study's keys, a map size derived from the data, a checked open."""

from __future__ import annotations

from pathlib import Path

import lmdb
import numpy as np

from imagestores.stores.base import DamagedStore, Images

PAGE = 4096
VALUE_OVERHEAD = 512
"""Generous bound on what a value adds to its pixel bytes: the study's pickle, or lmdb_raw's header."""


def key(index: int) -> bytes:
    """Keys as the study wrote them: eight zero-padded digits, so keys sort in image order."""
    return f"{index:08}".encode("ascii")


def map_size(images: Images) -> int:
    """Bytes to reserve for the map: every value on whole overflow pages, doubled for the B-tree.

    The study multiplied by ten and still ran out for large sets; this is derived from the data, and the
    reservation is virtual (the file grows only as pages are used).
    """
    if isinstance(images, np.ndarray):
        per_image = -(-(images[0].nbytes + VALUE_OVERHEAD) // PAGE) * PAGE
        pages_bytes = per_image * len(images)
    else:
        pages_bytes = sum(-(-(image.nbytes + VALUE_OVERHEAD) // PAGE) * PAGE for image in images)
    return 2 * (pages_bytes + 64 * len(images)) + 16 * 2**20


def open_readonly(path: Path) -> lmdb.Environment:
    """The environment at ``path`` opened read-only, or DamagedStore when its data file is too short.

    LMDB maps the file and trusts it: a page past the end of a truncated file kills the reader with
    SIGBUS, no exception. The meta page records the last page in use, so one ``stat`` tells whether
    every page is there, before any is touched.
    """
    env = lmdb.open(str(path), readonly=True, lock=False)
    data = path / "data.mdb"
    needed = (env.info()["last_pgno"] + 1) * env.stat()["psize"]
    size = data.stat().st_size
    if size < needed:
        env.close()
        raise DamagedStore(f"{data}: {size} bytes, but LMDB's meta page says its pages fill {needed}")
    return env
