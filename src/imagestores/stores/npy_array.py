"""The ``npy`` method: one raw ``.npy`` array of all images and one of labels.

The reference point of what fixed-shape raw data can do: no encoding, no index, image i at a computed
offset, and any NumPy opens it with ``np.load(path, mmap_mode="r")``.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import BinaryIO

import numpy as np

from imagestores.stores._files import check_sizes, map_file, pread_into
from imagestores.stores.base import Images, Reader, Store, byte_batches, runs

IMAGES = "images.npy"
LABELS = "labels.npy"


class NpyArray(Store):
    """Images as one (N, H, W[, C]) ``.npy`` written through a memory map in batches, labels beside them."""

    fixed_shape = True

    def _write(self, images: Images, labels: np.ndarray) -> None:
        """The header ``np.save`` writes, then each batch's bytes with one write call, as ``np.save`` does.

        Writing through ``open_memmap`` instead took ten times as long at 100,000 images: a page fault per
        page of the map, and its ``flush`` forces the whole file to disk, which no other store waits for.
        """
        first = images[0]
        header = {
            "descr": np.lib.format.dtype_to_descr(first.dtype),
            "fortran_order": False,
            "shape": (len(images), *first.shape),
        }
        with open(self.path / IMAGES, "wb") as file:
            file.write(_header_bytes(header))
            for part in byte_batches(images):
                file.write(memoryview(np.ascontiguousarray(images[part], dtype=first.dtype)).cast("B"))
        np.save(self.path / LABELS, labels)

    def _open(self) -> Reader:
        return _NpyReader(self.path)


class _NpyReader(Reader):
    """Reads each run of consecutive ids with one positioned read straight into the caller's buffers.

    Measured here, ``os.preadv`` from the page cache beats copying out of a memory map, whose page faults
    cost more than the copy. Headers are parsed directly (``np.load`` with ``mmap_mode`` takes longer than
    reading one image); labels are memory-mapped so that opening reads none of them.
    """

    def __init__(self, path: Path) -> None:
        with open(path / LABELS, "rb") as file:
            shape, dtype, offset = _header(file)
        self.labels = np.frombuffer(map_file(path / LABELS), dtype, shape[0], offset)
        self.file = open(path / IMAGES, "rb")  # noqa: SIM115 - closed in close()
        shape, dtype, self.offset = _header(self.file)
        self.count = shape[0]
        self.image_bytes = dtype.itemsize * math.prod(shape[1:])

    def __len__(self) -> int:
        return self.count

    def _read_into(self, indices: np.ndarray, images_out: Images, labels_out: np.ndarray) -> None:
        labels_out[: len(indices)] = self.labels[indices]
        check_sizes(np.full(len(indices), self.image_bytes), images_out)
        fd = self.file.fileno()
        for position, first, length in runs(indices):
            pread_into(fd, images_out[position : position + length], self.offset + first * self.image_bytes)

    def close(self) -> None:
        self.file.close()


def _header_bytes(header: dict) -> bytes:
    """The ``.npy`` header for ``header``: format 1.0, or 2.0 when too long for it, as ``np.save`` chooses."""
    buffer = io.BytesIO()
    try:
        np.lib.format.write_array_header_1_0(buffer, header)
    except ValueError:
        buffer = io.BytesIO()
        np.lib.format.write_array_header_2_0(buffer, header)
    return buffer.getvalue()


def _header(file: BinaryIO) -> tuple[tuple[int, ...], np.dtype, int]:
    """Shape, dtype and data offset of the C-ordered ``.npy`` file open at its start."""
    version = np.lib.format.read_magic(file)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, _, dtype = read(file)
    return shape, dtype, file.tell()
