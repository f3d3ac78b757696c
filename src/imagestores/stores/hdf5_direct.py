"""``hdf5_direct``: the study's HDF5 file, read straight into the caller's buffer.

The file is exactly the ``hdf5`` method's (same writer); only reading differs. h5py's slicing returns a new
array that must then be copied, and its fancy indexing wants increasing unique indices. Here every run of
consecutive ids is one H5Dread into the output rows it belongs to, whatever order the runs come in.
"""

from __future__ import annotations

import numpy as np

from imagestores.stores._hdf5 import read_points, read_rows
from imagestores.stores.base import Images, Reader
from imagestores.stores.hdf5_arrays import FILE, ArraysReader, Hdf5Arrays


class Hdf5Direct(Hdf5Arrays):
    """The study's contiguous ``images`` and ``meta`` datasets, read run by run into the caller's buffer."""

    def _open(self) -> Reader:
        return _DirectReader(self.path / FILE)


class _DirectReader(ArraysReader):
    """The study's reader, opened and closed the same way, but reading straight into the caller's buffer."""

    def _read_into(self, indices: np.ndarray, images_out: Images, labels_out: np.ndarray) -> None:
        read_rows(self.images, indices, images_out)
        if len(indices) > 1 and (np.diff(indices) == 1).all():
            # One run: a slice. A point selection of 100,000 labels cost more than reading their images.
            read_rows(self.labels, indices, labels_out)
        else:
            labels_out[: len(indices)] = read_points(self.labels, indices)
