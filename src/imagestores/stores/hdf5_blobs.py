"""``hdf5_blobs``: the layout of Kaggle notebooks, one 1-D uint8 dataset of encoded bytes per image.

Image i is at ``/{i // 1000:05d}/{i:08d}``; labels, shapes and dtypes beside them as ``_hdf5`` describes.
"""

from __future__ import annotations

from collections.abc import Iterator

import h5py
import numpy as np
from h5py import h5d, h5p, h5s, h5t

from imagestores.stores._hdf5 import ENCODED_FILE, EncodedHdf5, EncodedHdf5Reader
from imagestores.stores.base import Reader

GROUP_SIZE = 1000
"""Image datasets per group, so no group holds more than this many links."""

CREATE_GROUPS = h5p.create(h5p.LINK_CREATE)
"""Link creation that makes a blob's group when its first image is written."""
CREATE_GROUPS.set_create_intermediate_group(True)


def blob_path(index: int) -> str:
    """Where ``hdf5_blobs`` keeps image ``index``: group by thousands, then the zero-padded id."""
    return f"{index // GROUP_SIZE:05d}/{index:08d}"


class Hdf5Blobs(EncodedHdf5):
    """One uint8 dataset of encoded bytes per image, grouped by thousands (the Kaggle layout)."""

    def _put_blobs(self, file: h5py.File, start: int, blobs: list[bytes]) -> None:
        # Low-level creation halves the time per dataset against Group.create_dataset (25 vs 50 us).
        for index, blob in enumerate(blobs, start):
            data = np.frombuffer(blob, dtype=np.uint8)
            dataset = h5d.create(
                file.id,
                blob_path(index).encode(),
                h5t.STD_U8LE,
                h5s.create_simple((len(data),)),
                lcpl=CREATE_GROUPS,
            )
            dataset.write(h5s.ALL, h5s.ALL, data)

    def _open(self) -> Reader:
        return _BlobsReader(self.path / ENCODED_FILE, self.codec)


class _BlobsReader(EncodedHdf5Reader):
    def _blobs(self, indices: np.ndarray) -> Iterator[memoryview]:
        # Opening by path at the low level takes a third of the time of file[path][()] (23 vs 64 us).
        for index in indices.tolist():
            dataset = h5d.open(self.file.id, blob_path(index).encode())
            data = np.empty(dataset.shape, dtype=np.uint8)
            dataset.read(h5s.ALL, h5s.ALL, data)
            yield memoryview(data)
