"""The ``lmdb_raw`` method: LMDB without pickle, each value a small fixed header and the image's bytes.

Keys are the study's (``_lmdb.key``: eight zero-padded digits, so they sort in image order); value i is
``HEADER`` (label, NumPy dtype string, ndim, shape padded to three) followed by image i encoded by the
store's codec (raw pixel bytes by default). The key ``meta`` holds the encoding and the count as JSON.
Any LMDB binding reads it: ``HEADER.unpack_from(value)``, then the pixels ``value[HEADER.size:]``.
With the ``checksums`` option each value ends in the CRC-32 of what precedes it (``_checksums.CRC``),
checked on every read, and ``meta`` says so.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable, Iterator
from itertools import chain, islice
from pathlib import Path
from typing import Any

import lmdb
import numpy as np

from imagestores.stores import _checksums
from imagestores.stores._lmdb import key, map_size, open_readonly
from imagestores.stores.base import EncodedStore, Images, Reader, byte_batches, raw_records, raw_target, runs
from imagestores.stores.codecs import codec

HEADER = struct.Struct("<q3sB3I")
"""label (int64), dtype string (``|u1``, ``<u2``), ndim, shape padded with zeros to three entries."""

VALUE = np.dtype([("label", "<i8"), ("dtype", "S3"), ("ndim", "u1"), ("shape", "<u4", 3)])
"""HEADER as a NumPy record, for writing the headers of many values at once."""

LABEL = struct.Struct("<q")
META = b"meta"
"""Sorts after every digit key, so image keys stay in order at the start of the database."""


class RawLmdb(EncodedStore):
    """Values written with ``putmulti`` in append mode (keys arrive sorted), one transaction per batch.

    The environment is not synced, like every other store here (the data is in the page cache, not forced
    to disk). It is not opened with ``writemap``: measured here, writing through the map cost 1.6 times the
    CPU time of LMDB's own writes (a page fault per new page) and left a sparse file of the whole map size.
    """

    def __init__(self, path: Path | str | None = None, checksums: bool = False, **options: Any) -> None:
        super().__init__(path, **options)
        self.checksums = checksums

    def _write(self, images: Images, labels: np.ndarray) -> None:
        with lmdb.open(str(self.path), map_size=map_size(images), sync=False) as env:
            for part in byte_batches(images):
                values = self._values(images, labels, part)
                if self.checksums:
                    values = [bytes(value) + _checksums.CRC.pack(_checksums.crc32(value)) for value in values]
                with env.begin(write=True) as txn:
                    keyed = zip(map(key, range(part.start, part.stop)), values, strict=True)
                    _, added = txn.cursor().putmulti(keyed, append=True)
                    if added != part.stop - part.start:  # append mode refuses keys out of order, silently
                        raise ValueError(f"LMDB stored {added} of images {part.start}..{part.stop - 1}")
            with env.begin(write=True) as txn:
                meta = {"encoding": self.codec.name, "count": len(images), "checksums": self.checksums}
                txn.put(META, json.dumps(meta).encode())

    def _values(self, images: Images, labels: np.ndarray, part: slice) -> list[bytes | memoryview]:
        """The values of images ``part`` without checksums: header, then the encoded image.

        An array's raw images are laid out header and pixels, row by row, in one array (``VALUE``): a
        header packed and a value joined per image cost a third of the write (``benchmarks/careful.py``).
        """
        block = images[part]
        if self.codec.name == "raw" and isinstance(block, np.ndarray):
            first = block[0]
            rows = np.empty(len(block), np.dtype([("header", VALUE), ("pixels", np.uint8, first.nbytes)]))
            rows["header"] = (0, first.dtype.str.encode(), first.ndim, first.shape + (0,) * (3 - first.ndim))
            rows["header"]["label"] = labels[part]
            rows["pixels"] = np.ascontiguousarray(block).reshape(len(block), -1).view(np.uint8)
            return raw_records(rows)
        values = []
        encoded = self.encoded(images, part)
        for image, label, record in zip(block, labels[part].tolist(), encoded, strict=True):
            shape = image.shape + (0,) * (3 - image.ndim)
            values.append(HEADER.pack(label, image.dtype.str.encode(), image.ndim, *shape) + bytes(record))
        return values

    def _open(self) -> Reader:
        return _RawLmdbReader(self.path)


class _RawLmdbReader(Reader):
    """One read transaction per call; values are views into the map, decoded straight into the output."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.env = open_readonly(path)
        with self.env.begin() as txn:
            meta = json.loads(txn.get(META))
        self.codec = codec(meta["encoding"])
        self.count = meta["count"]
        self.checksums = meta.get("checksums", False)
        self.end = -_checksums.CRC.size if self.checksums else None
        """Where a value's image bytes end: before the checksum, if there is one."""

    def __len__(self) -> int:
        return self.count

    def _read_into(self, indices: np.ndarray, images_out: Images, labels_out: np.ndarray) -> None:
        # The values of every run, one after another, are decoded in one pass: a pass per run cost a
        # quarter of reading 1,000 scattered images (benchmarks/careful.py).
        with self.env.begin(buffers=True) as txn:
            values = chain.from_iterable(_values(txn, first, length) for _, first, length in runs(indices))
            labels_out[: len(indices)] = self._decode(values, images_out[: len(indices)])

    def _decode(self, values: Iterable[memoryview], targets: Images) -> list[int]:
        """Decode ``values`` into ``targets`` (one each) and return their labels.

        Raw pixels bound for one contiguous array are copied byte for byte into a view of it (a size
        mismatch is an error).
        """
        labels = []
        if self.checksums:
            values = self._checked(values)
        out = raw_target(self.codec, targets)
        if out is not None:
            size = targets[0].nbytes
            for start, value in zip(range(0, out.nbytes, size), values, strict=True):
                labels.append(LABEL.unpack_from(value)[0])
                out[start : start + size] = value[HEADER.size : self.end]
        else:
            for value, target in zip(values, targets, strict=True):
                labels.append(LABEL.unpack_from(value)[0])
                self.codec.decode_into(value[HEADER.size : self.end], target)
        return labels

    def _checked(self, values: Iterable[memoryview]) -> Iterator[memoryview]:
        """``values``, each after its checksum is checked (so reads without checksums pay nothing)."""
        where = f"{self.path / 'data.mdb'}, a value"
        for value in values:
            _checksums.check(
                value[: self.end], _checksums.CRC.unpack_from(value, len(value) + self.end)[0], where
            )
            yield value

    def close(self) -> None:
        self.env.close()


def _values(txn: lmdb.Transaction, first: int, length: int) -> Iterable[memoryview]:
    """Values of images first..first+length-1 (all present): a lookup for one, a cursor walk for a run.

    Measured here, walking a cursor reads a run about 13% faster than looking up each key, and a single
    lookup is faster than positioning a cursor.
    """
    if length == 1:
        return (txn.get(key(first)),)
    cursor = txn.cursor()
    cursor.set_key(key(first))
    return islice(cursor.iternext(keys=False), length)
