"""The study's ``lmdb`` method: one pickled image object per key, written in one transaction."""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import lmdb
import numpy as np

from imagestores.stores.base import Images, Reader, Store

PAGE = 4096
PICKLE_OVERHEAD = 512
"""Generous bound on what pickling a ``PickledImage`` adds to its pixel bytes."""


@dataclass
class PickledImage:
    """What the study pickled per key: pixel bytes with the shape and label needed to rebuild them."""

    pixels: bytes
    shape: tuple[int, ...]
    dtype: str
    label: int

    def image(self) -> np.ndarray:
        return np.frombuffer(self.pixels, dtype=self.dtype).reshape(self.shape)


def key(index: int) -> bytes:
    """Keys as the study wrote them: eight zero-padded digits, so keys sort in image order."""
    return f"{index:08}".encode("ascii")


def map_size(images: Images) -> int:
    """Bytes to reserve for the map: every value on whole overflow pages, doubled for the B-tree.

    The study multiplied by ten and still ran out for large sets; this is derived from the data, and the
    reservation is virtual (the file grows only as pages are used).
    """
    if isinstance(images, np.ndarray):
        per_image = -(-(images[0].nbytes + PICKLE_OVERHEAD) // PAGE) * PAGE
        pages_bytes = per_image * len(images)
    else:
        pages_bytes = sum(-(-(image.nbytes + PICKLE_OVERHEAD) // PAGE) * PAGE for image in images)
    return 2 * (pages_bytes + 64 * len(images)) + 16 * 2**20


class PickledLmdb(Store):
    """A faithful LMDB store of the study; only the map size is derived from the data."""

    def _write(self, images: Images, labels: np.ndarray) -> None:
        env = lmdb.open(str(self.path), map_size=map_size(images))
        try:
            with env.begin(write=True) as txn:
                for index, label in enumerate(labels.tolist()):
                    image = images[index]
                    value = PickledImage(image.tobytes(), image.shape, image.dtype.str, label)
                    txn.put(key(index), pickle.dumps(value))
        finally:
            env.close()

    def open(self) -> Reader:
        return _LmdbReader(self.path)


class _LmdbReader(Reader):
    def __init__(self, path: Path) -> None:
        self.env = lmdb.open(str(path), readonly=True, lock=False)

    def read_into(self, indices: np.ndarray, images_out: Images, labels_out: np.ndarray) -> None:
        with self.env.begin() as txn:
            for position, index in enumerate(indices.tolist()):
                value: PickledImage = pickle.loads(txn.get(key(index)))
                images_out[position][...] = value.image()
                labels_out[position] = value.label

    def close(self) -> None:
        self.env.close()
