"""The study's ``lmdb`` method: one pickled image object per key, written in one transaction."""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import lmdb
import numpy as np

from imagestores.stores._lmdb import key, map_size, open_readonly
from imagestores.stores.base import Images, Reader, Store


@dataclass
class PickledImage:
    """What the study pickled per key: pixel bytes with the shape and label needed to rebuild them."""

    pixels: bytes
    shape: tuple[int, ...]
    dtype: str
    label: int

    def image(self) -> np.ndarray:
        return np.frombuffer(self.pixels, dtype=self.dtype).reshape(self.shape)


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

    def _open(self) -> Reader:
        return _LmdbReader(self.path)


class _LmdbReader(Reader):
    def __init__(self, path: Path) -> None:
        self.env = open_readonly(path)

    def __len__(self) -> int:
        return self.env.stat()["entries"]

    def _read_into(self, indices: np.ndarray, images_out: Images, labels_out: np.ndarray) -> None:
        with self.env.begin() as txn:
            for position, index in enumerate(indices.tolist()):
                value: PickledImage = pickle.loads(txn.get(key(index)))
                images_out[position][...] = value.image()
                labels_out[position] = value.label

    def close(self) -> None:
        self.env.close()
