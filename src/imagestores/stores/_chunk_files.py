"""The chunk-file format of the shard methods: records in binary chunk files and an index of where each is.

A store directory holds

- ``chunk-00000.bin``, ``chunk-00001.bin``, ...: records back to back, each an image encoded by its codec
  (raw pixel bytes by default) and, with ``compress="gzip"``, wrapped as one gzip member, so that
  ``gzip -dc`` of a chunk gives its records' encoded bytes back to back. A new chunk starts when the next
  record would overflow ``chunk_bytes``; a record larger than that gets a chunk of its own.
- ``index.bin``: a structured array without header, row i locating and describing image i
  (``INDEX_FIELDS``); ``np.fromfile(path, dtype)`` reads it.
- ``meta.json``: the encoding, the compression and the index's dtype (``dtype.descr``), so a reader
  needs nothing but the directory.

With ``checksums``, the index has a ``crc32`` field: the CRC-32 of each record's stored bytes, checked
by every read before the record is used.

The index is memory-mapped at open, so any record is one lookup away without reading all of the index.
Its dtype comes from the JSON rather than an ``.npy`` header, whose parsing (``ast.literal_eval``) took
three quarters of the time of opening a store and reading one image.

Two methods share this writer and format and differ only in how they read (``chunks_seek``,
``chunks_mmap``): each subclasses ``ChunkStore`` and ``ChunkReader``.
"""

from __future__ import annotations

import json
import zlib
from abc import abstractmethod
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import numpy as np

from imagestores.stores import _checksums
from imagestores.stores._files import check_sizes, map_file
from imagestores.stores.base import EncodedStore, Images, Reader, byte_batches
from imagestores.stores.codecs import codec

CHUNK = "chunk-{:05d}.bin"
INDEX = "index.bin"
META = "meta.json"

CHUNK_BYTES = 5_000_000
COMPRESSIONS = (None, "gzip")
GZIP_WBITS = 31
"""zlib's window bits for a gzip container: each compressed record is a complete gzip member."""


INDEX_FIELDS = (
    ("chunk", "<u4"),
    ("offset", "<u8"),
    ("length", "<u8"),
    ("ndim", "u1"),
    ("shape", "<u4", (3,)),
    ("dtype", "S3"),
)
"""Row i of the index: image i is ``length`` stored bytes at ``offset`` in chunk ``chunk``, of shape
``shape[:ndim]`` and NumPy dtype string ``dtype`` (``|u1``, ``<u2``), followed by a ``label`` field of the
labels' own dtype."""


def index_dtype(label_dtype: np.dtype, checksums: bool = False) -> np.dtype:
    """The index's row type for labels of ``label_dtype`` (kept exactly), with a CRC-32 field if asked."""
    return np.dtype([*INDEX_FIELDS, ("label", label_dtype), *([("crc32", "<u4")] if checksums else [])])


class ChunkStore(EncodedStore):
    """Encoded (raw by default), optionally gzipped records in chunk files of about ``chunk_bytes``.

    Subclasses choose how the chunks are read.
    """

    def __init__(
        self,
        path: Path | str | None = None,
        chunk_bytes: int = CHUNK_BYTES,
        compress: str | None = None,
        checksums: bool = False,
        **options: Any,
    ) -> None:
        super().__init__(path, **options)
        if chunk_bytes < 1:
            raise ValueError(f"chunk_bytes must be positive, not {chunk_bytes}")
        if compress not in COMPRESSIONS:
            raise ValueError(f"unknown compression {compress!r}; choose from {COMPRESSIONS}")
        self.chunk_bytes = chunk_bytes
        self.compress = compress
        self.checksums = checksums

    def _write(self, images: Images, labels: np.ndarray) -> None:
        dtype = index_dtype(labels.dtype, self.checksums)
        # Each batch's index rows are appended to the file at once, so memory does not grow with N.
        with _ChunkWriter(self.path, self.chunk_bytes) as writer, open(self.path / INDEX, "wb") as index:
            for part in byte_batches(images):
                block = images[part]
                rows = np.zeros(len(block), dtype=dtype)
                rows["label"] = labels[part]
                data, rows["length"] = self._encode(images, part)
                if self.checksums:
                    ends = np.cumsum(rows["length"]).tolist()
                    starts = [0, *ends[:-1]]
                    rows["crc32"] = [_checksums.crc32(data[a:b]) for a, b in zip(starts, ends, strict=True)]
                rows["chunk"], rows["offset"] = writer.append(data, rows["length"])
                _describe(rows, block)
                rows.tofile(index)
        meta = {
            "encoding": self.codec.name,
            "compress": self.compress,
            "chunk_bytes": self.chunk_bytes,
            "index_dtype": dtype.descr,
        }
        (self.path / META).write_text(json.dumps(meta))

    def _encode(self, images: Images, part: slice) -> tuple[memoryview, list[int]]:
        """The records of images ``part`` back to back, and the length of each."""
        block = images[part]
        if self.codec.name == "raw" and self.compress is None and isinstance(block, np.ndarray):
            block = np.ascontiguousarray(block)
            return memoryview(block).cast("B"), [block[0].nbytes] * len(block)
        records = self.encoded(images, part)
        if self.compress == "gzip":
            records = [zlib.compress(record, wbits=GZIP_WBITS) for record in records]
        return memoryview(b"".join(records)), [len(record) for record in records]


def _describe(rows: np.ndarray, block: Images) -> None:
    """Fill the shape and dtype fields of ``rows`` from the images they index (at once for an array)."""
    if isinstance(block, np.ndarray):
        _describe_as(rows, block[0])
    else:
        for position, image in enumerate(block):
            _describe_as(rows[position : position + 1], image)


def _describe_as(rows: np.ndarray, image: np.ndarray) -> None:
    rows["ndim"] = image.ndim
    rows["shape"][:, : image.ndim] = image.shape
    rows["dtype"] = image.dtype.str


class _ChunkWriter:
    """Appends encoded records to numbered chunk files, starting a new file before one would overflow."""

    def __init__(self, path: Path, chunk_bytes: int) -> None:
        self.path = path
        self.chunk_bytes = chunk_bytes
        self.number = 0
        self.used = 0
        self.file = open(path / CHUNK.format(0), "wb")  # noqa: SIM115 - closed in __exit__

    def append(self, data: memoryview, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Write records ``data`` (of ``lengths``) and return each one's chunk and offset.

        Finds with one search how many records still fit in the open chunk, and writes them with one call
        (a record larger than a chunk fills one alone): a loop per record cost a third of a raw write.
        """
        ends = np.cumsum(lengths, dtype=np.int64)
        starts = ends - lengths
        chunks = np.empty(len(lengths), np.int64)
        offsets = np.empty(len(lengths), np.int64)
        first = 0
        while first < len(lengths):
            base = int(starts[first])
            stop = int(np.searchsorted(ends, base + self.chunk_bytes - self.used, side="right"))
            if stop == first and not self.used:
                stop = first + 1
            if stop > first:
                chunks[first:stop] = self.number
                offsets[first:stop] = self.used + starts[first:stop] - base
                self.file.write(data[base : int(ends[stop - 1])])
                self.used += int(ends[stop - 1]) - base
                first = stop
            if first < len(lengths):
                self._next_chunk()
        return chunks, offsets

    def _next_chunk(self) -> None:
        self.file.close()
        self.number += 1
        self.used = 0
        self.file = open(self.path / CHUNK.format(self.number), "wb")  # noqa: SIM115 - closed in __exit__

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.file.close()


class ChunkReader(Reader):
    """Finds each run of consecutive records within one chunk and reads it with one call.

    Raw uncompressed records of the output's size are copied straight into the caller's buffers
    (``_fill``); any other records are fetched as bytes (``_fetch``) and decoded one by one.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        meta = json.loads((path / META).read_text())
        self.codec = codec(meta["encoding"])
        self.gzip = meta["compress"] == "gzip"
        self.raw = self.codec.name == "raw" and not self.gzip
        dtype = np.dtype([tuple(field) for field in meta["index_dtype"]])
        self.index = np.frombuffer(map_file(path / INDEX), dtype)
        self.checksums = "crc32" in dtype.names

    def __len__(self) -> int:
        return len(self.index)

    def _read_into(self, indices: np.ndarray, images_out: Images, labels_out: np.ndarray) -> None:
        rows = self.index[indices]
        labels_out[: len(indices)] = rows["label"]
        if self.raw:
            check_sizes(rows["length"], images_out)
        for start, stop, chunk, offset, size in _segments(indices, rows):
            targets = images_out[start:stop]
            if self.raw:
                self._fill(chunk, offset, size, targets)
                if self.checksums:
                    for row, out in zip(rows[start:stop], targets, strict=True):
                        self._check(out, row, chunk)
            else:
                data = self._fetch(chunk, offset, size)
                self._decode(data, rows["length"][start:stop].tolist(), targets, rows[start:stop], chunk)

    def _check(self, record: memoryview | np.ndarray, row: np.void, chunk: int) -> None:
        where = f"{self.chunk_path(chunk)}, the record at offset {row['offset']}"
        _checksums.check(record, row["crc32"], where)

    def _decode(
        self,
        data: bytes | memoryview,
        lengths: list[int],
        targets: Images,
        rows: np.ndarray | None = None,
        chunk: int = 0,
    ) -> None:
        """Decode records ``data`` of ``lengths`` into ``targets``; with ``rows``, check their checksums."""
        start = 0
        for position, (length, out) in enumerate(zip(lengths, targets, strict=True)):
            record = data[start : start + length]
            start += length
            if self.checksums and rows is not None:
                self._check(record, rows[position], chunk)
            if self.gzip:
                record = zlib.decompress(record, wbits=GZIP_WBITS)
            self.codec.decode_into(record, out)

    def chunk_path(self, chunk: int) -> Path:
        return self.path / CHUNK.format(chunk)

    @abstractmethod
    def _fetch(self, chunk: int, offset: int, size: int) -> bytes | memoryview:
        """The ``size`` stored bytes at ``offset`` of chunk ``chunk``."""

    @abstractmethod
    def _fill(self, chunk: int, offset: int, size: int, targets: Images) -> None:
        """Copy raw records, ``size`` bytes at ``offset`` of chunk ``chunk``, into ``targets``."""


def _segments(indices: np.ndarray, rows: np.ndarray) -> Iterator[tuple[int, int, int, int, int]]:
    """Runs of consecutive ids within one chunk: (start, stop) in ``indices``, chunk, offset, bytes."""
    if not len(indices):
        return
    chunk = rows["chunk"]
    breaks = np.flatnonzero((np.diff(indices) != 1) | (np.diff(chunk) != 0)) + 1
    starts = np.concatenate(([0], breaks))
    stops = np.concatenate((breaks, [len(indices)]))
    first = rows["offset"][starts]
    size = rows["offset"][stops - 1] + rows["length"][stops - 1] - first
    columns = (starts, stops, chunk[starts], first, size)
    yield from zip(*(column.tolist() for column in columns), strict=True)
