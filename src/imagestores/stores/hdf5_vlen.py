"""``hdf5_vlen``: every image's encoded bytes in one variable-length dataset ``/images``.

Labels, shapes and dtypes beside them as ``_hdf5`` describes: any shapes in one file, without
``hdf5_blobs``' per-image dataset headers and lookups.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
from h5py import h5s

from imagestores.stores._hdf5 import ENCODED_FILE, EncodedHdf5, EncodedHdf5Reader, read_points
from imagestores.stores.base import Reader
from imagestores.stores.codecs import Codec

VLEN_BYTES = h5py.vlen_dtype(np.uint8)


class Hdf5Vlen(EncodedHdf5):
    """One variable-length uint8 dataset holding every image's encoded bytes."""

    def _create_blobs(self, file: h5py.File, count: int) -> None:
        file.create_dataset("images", (count,), dtype=VLEN_BYTES)

    def _put_blobs(self, file: h5py.File, start: int, blobs: list[bytes]) -> None:
        # Written at the low level: h5py's slice assignment turns blobs of equal length into a 2-D array.
        column = np.empty(len(blobs), dtype=VLEN_BYTES)
        for position, blob in enumerate(blobs):
            column[position] = np.frombuffer(blob, dtype=np.uint8)
        dataset = file["images"].id
        file_space = dataset.get_space()
        file_space.select_hyperslab((start,), (len(blobs),))
        dataset.write(h5s.create_simple((len(blobs),)), file_space, column)

    def _open(self) -> Reader:
        return _VlenReader(self.path / ENCODED_FILE, self.codec)


class _VlenReader(EncodedHdf5Reader):
    def __init__(self, path: Path, codec: Codec) -> None:
        super().__init__(path, codec)
        self.images = self.file["images"]

    def _blobs(self, indices: np.ndarray) -> Iterator[memoryview]:
        for blob in read_points(self.images, indices):
            yield memoryview(blob)
