"""``hdf5_direct``: the study's HDF5 file, read straight into the caller's buffer.

The file is exactly the ``hdf5`` method's (same writer); only reading differs. h5py's slicing returns a new
array that must then be copied, and its fancy indexing wants increasing unique indices. Here every run of
consecutive ids is one H5Dread into the output rows it belongs to, whatever order the runs come in.

Also home of ``read_points``, the HDF5 reader of 1-D datasets (labels, variable-length blobs) at arbitrary
ids that the other HDF5 stores share.
"""

from __future__ import annotations

import h5py
import numpy as np
from h5py import h5s, h5t

from imagestores.stores.base import Images, Reader, put_block, runs
from imagestores.stores.fileio import check_ids
from imagestores.stores.hdf5 import FILE, Hdf5Arrays, _Hdf5Reader


def read_rows(dataset: h5py.Dataset, indices: np.ndarray, out: Images) -> None:
    """Read rows ``indices`` of ``dataset`` into ``out[j]``, in the requested order, repeats allowed.

    Each run of consecutive ids is one H5Dread from a hyperslab into the matching output rows: what
    ``Dataset.read_direct`` does, without the selection objects it builds in Python on every call. For
    4,096 consecutive rows this skips the slice's temporary array and copy; for 1,000 shuffled CIFAR rows
    it took 12.8 ms, as long as a slice per row and copy (13.4 ms), against 39 ms with ``read_direct``
    per row, 20 ms sorting for h5py fancy indexing then scattering, and 20 ms for one hyperslab union.
    Buffers H5Dread cannot fill in place (a list, another dtype, not C-contiguous) get a copy of a slice.
    """
    # HDF5 does not check: a point selection at exactly the extent (id N of N) reads garbage silently
    # (seen with HDF5 2.0.0), and a negative start overflows its unsigned coordinates.
    check_ids(indices, len(dataset))
    row = dataset.shape[1:]
    direct = (
        isinstance(out, np.ndarray)
        and out.flags.c_contiguous
        and out.flags.writeable
        and out.dtype == dataset.dtype
        and out.shape[1:] == row
        and len(out) >= len(indices)
    )
    file_space = dataset.id.get_space()
    # Passing the memory type and reusing the one-row memory space saves a third of the time per row.
    memory_type = h5t.py_create(dataset.dtype)
    one_row = h5s.create_simple((1, *row))
    for position, first, length in runs(indices):
        if not direct:
            put_block(out, position, dataset[first : first + length])
            continue
        file_space.select_hyperslab((first,) + (0,) * len(row), (length, *row))
        memory_space = one_row if length == 1 else h5s.create_simple((length, *row))
        dataset.id.read(memory_space, file_space, out[position : position + length], memory_type)


def read_points(dataset: h5py.Dataset, indices: np.ndarray) -> np.ndarray:
    """Entries ``indices`` of a 1-D dataset as an array in the requested order, repeats allowed.

    One H5Dread of a point selection of the sorted distinct ids, then a gather into request order:
    for 1,000 shuffled variable-length blobs 5.6 ms, against 24 ms reading one entry per call and 13 ms
    for a hyperslab union; as fast as a slice for a run of consecutive ids.
    """
    check_ids(indices, len(dataset))
    unique, inverse = np.unique(indices, return_inverse=True)
    values = np.empty(len(unique), dtype=dataset.dtype)
    if len(unique):
        file_space = dataset.id.get_space()
        file_space.select_elements(unique.reshape(-1, 1))
        dataset.id.read(h5s.create_simple((len(unique),)), file_space, values)
    return values[inverse]


class Hdf5Direct(Hdf5Arrays):
    """The study's contiguous ``images`` and ``meta`` datasets, read run by run into the caller's buffer."""

    def open(self) -> Reader:
        return _DirectReader(self.path / FILE)


class _DirectReader(_Hdf5Reader):
    """The study's reader, opened and closed the same way, but reading straight into the caller's buffer."""

    def read_into(self, indices: np.ndarray, images_out: Images, labels_out: np.ndarray) -> None:
        read_rows(self.images, indices, images_out)
        labels_out[: len(indices)] = read_points(self.labels, indices)
