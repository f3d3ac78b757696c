"""The ``zarr`` methods: a Zarr v3 group with a sharded (N, H, W, C) array ``images`` and an array ``labels``.

Shards keep the file count low (one file per ``shard`` images); chunks inside a shard are the unit zarr
reads and decodes, so one image per chunk makes a single image cheap to read but costs zarr's per-chunk
work (tens of microseconds in Python) on every image of a bulk read. Chunks are stored uncompressed:
zarr's default zstd saved about 3% on CIFAR-like images and made reads two to three times slower.
With ``checksums`` every chunk carries zarr's crc32c codec, checked by zarr on every read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import zarr
from zarr.codecs import Crc32cCodec
from zarr.core.buffer.cpu import NDBuffer

from imagestores.stores import batching
from imagestores.stores.base import Images, Reader, Store, put_block, runs


class ZarrArrays(Store):
    """A fixed-shape Zarr v3 array of ``chunk`` images per chunk and ``shard`` images per shard file.

    A shard is written whole, so it must fit in memory: when its images would exceed ``BATCH_BYTES`` (large
    images), the shard holds fewer, still a multiple of ``chunk``.
    """

    fixed_shape = True

    def __init__(
        self,
        path: Path | str | None = None,
        shard: int = 1000,
        chunk: int = 1,
        checksums: bool = False,
        **options: Any,
    ) -> None:
        super().__init__(path, **options)
        self.codecs = [Crc32cCodec()] if checksums else None
        """Bytes-to-bytes codecs of each chunk: none, or crc32c."""
        if chunk < 1 or shard < 1 or shard % chunk:
            raise ValueError(f"images per shard ({shard}) must be a positive multiple of per chunk ({chunk})")
        self.shard = shard
        self.chunk = chunk

    def _write(self, images: Images, labels: np.ndarray) -> None:
        first = images[0]
        shard = min(self.shard, max(1, batching.BATCH_BYTES // (first.nbytes * self.chunk)) * self.chunk)
        group = zarr.open_group(self.path, mode="w")
        array = group.create_array(
            "images",
            shape=(len(images), *first.shape),
            dtype=first.dtype,
            chunks=(self.chunk, *first.shape),
            shards=(shard, *first.shape),
            compressors=self.codecs,
        )
        # Whole shards per assignment: a partly written shard would be read back and rewritten.
        images_per_batch = min(batching.WRITE_BATCH, batching.BATCH_BYTES // first.nbytes)
        for part in batching.batches(len(images), shard * max(1, images_per_batch // shard)):
            array[part] = np.asarray(images[part])
        group.create_array("labels", data=labels, compressors=self.codecs)

    def _open(self) -> Reader:
        return _ZarrReader(self.path)


class _ZarrReader(Reader):
    """Reads each run of consecutive ids with one basic selection and all isolated ids with one orthogonal
    selection, straight into the caller's array (zarr's ``out=``) when it is one.

    A slice is the cheapest read of consecutive ids (an orthogonal selection of a range was several times
    slower); for scattered ids one orthogonal selection lets zarr group them by shard, about twice as fast
    as one slice per id. Filling the caller's array in place saves zarr's new array per call and a copy
    of it: reading 100,000 CIFAR images that way took a quarter of the time (``benchmarks/careful.py``).
    Labels are small, so they are read whole when the store is opened.
    """

    def __init__(self, path: Path) -> None:
        group = zarr.open_group(path, mode="r")
        self.images = group["images"]
        self.labels = group["labels"][:]

    def __len__(self) -> int:
        return self.images.shape[0]

    def _read_into(self, indices: np.ndarray, images_out: Images, labels_out: np.ndarray) -> None:
        labels_out[: len(indices)] = self.labels[indices]
        direct = (
            isinstance(images_out, np.ndarray)
            and images_out.flags.c_contiguous
            and images_out.dtype == self.images.dtype
            and images_out.shape[1:] == self.images.shape[1:]
        )
        spans = list(runs(indices))
        scattered = [position for position, _, length in spans if length == 1]
        if len(scattered) == 1:  # a lone id reads faster as a slice than as a selection
            scattered = []
        if direct and len(scattered) == len(indices):
            # Sorted distinct ids, then a gather: zarr reads each shard's chunks in order (unsorted ids cost
            # it about 1.4 times the CPU time).
            unique, inverse = np.unique(indices, return_inverse=True)
            block = np.empty((len(unique), *images_out.shape[1:]), images_out.dtype)
            self.images.get_orthogonal_selection(unique, out=NDBuffer.from_numpy_array(block))
            np.take(block, inverse, axis=0, out=images_out[: len(indices)])
            return
        for position, first, length in spans:
            if length > 1 or not scattered:
                selection = slice(first, first + length)
                if direct:
                    target = NDBuffer.from_numpy_array(images_out[position : position + length])
                    self.images.get_basic_selection(selection, out=target)
                else:
                    put_block(images_out, position, self.images[selection])
        if scattered:
            for position, image in zip(scattered, self.images.oindex[indices[scattered]], strict=True):
                images_out[position][...] = image
