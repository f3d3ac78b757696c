"""The study's ``hdf5`` method: one dataset ``images`` (N, H, W, C) and one dataset ``meta`` of labels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np

from imagestores.stores.base import Images, Reader, Store, byte_batches, put_block, runs

FILE = "images.h5"


CHECKSUM_CHUNK_BYTES = 2**16
"""With ``checksums``, images per chunk: as many whole images as fit 64 KiB (21 CIFAR images)."""


class Hdf5Arrays(Store):
    """Contiguous, uncompressed datasets as in the study, written in batches so memory stays bounded.

    With ``checksums`` (off, as in the study) both datasets are chunked with HDF5's fletcher32 filter,
    a checksum per chunk that HDF5 checks on every read; chunks hold whole images.
    """

    fixed_shape = True

    def __init__(self, path: Path | str | None = None, checksums: bool = False, **options: Any) -> None:
        super().__init__(path, **options)
        self.checksums = checksums

    def _write(self, images: Images, labels: np.ndarray) -> None:
        first = images[0]
        with h5py.File(self.path / FILE, "w") as file:
            shape = (len(images), *first.shape)
            chunked = {}
            if self.checksums:
                rows = min(len(images), max(1, CHECKSUM_CHUNK_BYTES // first.nbytes))
                chunked = {"fletcher32": True, "chunks": (rows, *first.shape)}
            dataset = file.create_dataset("images", shape, dtype=first.dtype, **chunked)
            for part in byte_batches(images):
                dataset[part] = images[part]
            file.create_dataset("meta", data=labels, fletcher32=self.checksums)

    def _open(self) -> Reader:
        return ArraysReader(self.path / FILE)


class ArraysReader(Reader):
    """Reads each run of consecutive ids with one slice, as the study read its whole dataset at once."""

    def __init__(self, path: Path) -> None:
        self.file = h5py.File(path, "r")
        self.images = self.file["images"]
        self.labels = self.file["meta"]

    def __len__(self) -> int:
        return len(self.images)

    def _read_into(self, indices: np.ndarray, images_out: Images, labels_out: np.ndarray) -> None:
        for position, first, length in runs(indices):
            put_block(images_out, position, self.images[first : first + length])
            labels_out[position : position + length] = self.labels[first : first + length]

    def close(self) -> None:
        self.file.close()
