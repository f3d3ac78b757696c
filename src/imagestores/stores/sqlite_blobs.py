"""``sqlite``: one SQLite table of image BLOBs (raw pixels by default) with label and shape columns.

The file ``images.sqlite`` holds ``images(id INTEGER PRIMARY KEY, label, height, width, channels, dtype,
data)``; ``channels`` is NULL for an image without a channel axis and ``dtype`` the NumPy dtype string
(``|u1``, ``<u2``), so any SQLite client can rebuild an image from its row. With the ``checksums``
option a last column ``crc32`` holds the CRC-32 of ``data``, checked on every read. An index on ``label``
(``images_label``) lets a filtered read on the label find its rows without reading the others; a filter on
a metadata column is evaluated by SQLite too, over the table.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from imagestores.stores import _checksums
from imagestores.stores.base import (
    Buffers,
    DamagedStore,
    EncodedStore,
    Images,
    Reader,
    byte_batches,
    metadata_names,
    metadata_of,
    raw_target,
    runs,
)
from imagestores.stores.codecs import Codec
from imagestores.stores.where import Where, no_column

FILE = "images.sqlite"

PAGE_SIZE = 16384
"""Bytes per database page. With SQLite's default 4 KiB a 3 KB CIFAR row takes a page of its own and the
file is a third larger than its pixels. 16 KiB pages hold five such rows (7% over); 64 KiB pages are within 2%
and read in bulk as fast, but 1,000 random reads took twice as long (12 vs 6 ms), each a 64 KiB page."""

PAGE_SIZES = frozenset(2**power for power in range(9, 17))
"""The page sizes SQLite accepts; it silently ignores any other."""

BETWEEN_MIN = 256
"""Runs of at least this many consecutive ids are read with BETWEEN; shorter ones go into IN lists. One
IN list of 4,096 consecutive ids reads as fast as BETWEEN, but one query per short run is twice as slow."""

CREATE = (
    "CREATE TABLE images (id INTEGER PRIMARY KEY, label INTEGER, height INTEGER, width INTEGER, "
    "channels INTEGER, dtype TEXT, data BLOB)"
)
SELECT = "SELECT id, label, data FROM images WHERE "
LABEL_INDEX = "CREATE INDEX images_label ON images (label)"
"""Built after the rows are in (one sort, faster than keeping it up to date insert by insert)."""
WHERE = '"{column}" = ? ORDER BY id'
"""A filtered read's condition; with ``images_label`` SQLite searches the index for a label, in id order."""
AFFINITY_TYPES = {"INTEGER": pa.int64(), "REAL": pa.float64(), "TEXT": pa.string()}
COLUMNS = ("id", "label", "height", "width", "channels", "dtype", "data", "crc32")
CHECKSUM_COLUMN = ", crc32 INTEGER"


class SqliteBlobs(EncodedStore):
    """Rows inserted by ``executemany``, one transaction per batch, with the ``page_size`` option.

    A folder's metadata table becomes columns after ``data`` (``meta_`` before a name that would clash),
    with SQLite's type affinity from the Arrow type, so SQL can filter on it.
    """

    keeps_metadata = True
    filters = True

    def __init__(
        self,
        path: Path | str | None = None,
        encoding: str = "raw",
        quality: int = 90,
        page_size: int = PAGE_SIZE,
        checksums: bool = False,
        **options: Any,
    ) -> None:
        super().__init__(path, encoding, quality, **options)
        if page_size not in PAGE_SIZES:
            raise ValueError(f"SQLite page size must be a power of two from 512 to 65536, not {page_size}")
        self.page_size = page_size
        self.checksums = checksums

    def _write(self, images: Images, labels: np.ndarray) -> None:
        connection = sqlite3.connect(self.path / FILE)
        try:
            # The page size only takes effect before the first table is created. Without fsync per batch
            # (synchronous OFF): a bulk load interrupted by a crash is rebuilt anyway, and HDF5 never syncs.
            # The rollback journal stays (WAL made the bulk load about 2.4 times slower).
            connection.execute(f"PRAGMA page_size = {self.page_size}")
            connection.execute("PRAGMA synchronous = OFF")
            metadata = metadata_of(images)
            names = [] if metadata is None else metadata_names(metadata, COLUMNS)
            extra = [] if metadata is None else list(zip(names, metadata.schema.types, strict=True))
            create = CREATE[:-1] + (CHECKSUM_COLUMN if self.checksums else "")
            connection.execute(
                create + "".join(f', "{name}" {_affinity(kind)}' for name, kind in extra) + ")"
            )
            values = 7 + self.checksums + len(extra)
            insert = f"INSERT INTO images VALUES ({', '.join('?' * values)})"
            for part in byte_batches(images):
                block = images[part]
                records = self.encoded(images, part)
                columns = [range(part.start, part.stop), labels[part].tolist(), *_layouts(block), records]
                if self.checksums:
                    columns.append([_checksums.crc32(record) for record in records])
                if extra:
                    columns += [column.to_pylist() for column in metadata_of(block).columns]
                with connection:
                    connection.executemany(insert, zip(*columns, strict=True))
            with connection:
                connection.execute(LABEL_INDEX)
        finally:
            connection.close()

    def _open(self) -> Reader:
        return _SqliteReader(self.path / FILE, self.codec, self.checksums)


def _layouts(block: Images) -> list[Iterable[object]]:
    """The height, width, channels (None without a channel axis) and dtype columns of ``block``'s rows:
    one value repeated for an array of equal images, where a tuple per image cost a tenth of a write."""
    if isinstance(block, np.ndarray):
        first = block[0]
        channels = first.shape[2] if first.ndim == 3 else None
        return [repeat(value, len(block)) for value in (*first.shape[:2], channels, first.dtype.str)]
    return [
        [image.shape[0] for image in block],
        [image.shape[1] for image in block],
        [image.shape[2] if image.ndim == 3 else None for image in block],
        [image.dtype.str for image in block],
    ]


def _affinity(kind: pa.DataType) -> str:
    """SQLite's column type for an Arrow type: INTEGER, REAL, or TEXT for anything else."""
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        return "INTEGER"
    return "REAL" if pa.types.is_floating(kind) else "TEXT"


class _SqliteReader(Reader):
    """Reads a request with as few queries as SQLite allows: BETWEEN per long run, IN lists for the rest."""

    def __init__(self, path: Path, codec: Codec, checksums: bool = False) -> None:
        self.path = path
        self.select = SELECT.replace("data", "data, crc32") if checksums else SELECT
        self.connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        self.codec = codec
        # Ids are 0..N-1, so the largest is N - 1: one B-tree descent, where count(*) would scan the table.
        (last,) = self.connection.execute("SELECT max(id) FROM images").fetchone()
        self.count = 0 if last is None else last + 1

    def __len__(self) -> int:
        return self.count

    def _read_into(self, indices: np.ndarray, images_out: Images, labels_out: np.ndarray) -> None:
        unique, first, inverse = np.unique(indices, return_index=True, return_inverse=True)
        for members, cursor in self._queries(unique):
            ids, labels = self._fill(cursor, first[members].tolist(), images_out)
            expected = unique[members].tolist()
            if ids != expected:
                missing = len(set(expected) - set(ids))
                raise DamagedStore(f"{self.path}: {missing} of the requested rows are missing")
            labels_out[first[members]] = labels
        # A repeated id was read once, into its first position; copy it to the others.
        sources = first[inverse]
        for position in np.flatnonzero(sources != np.arange(len(indices))).tolist():
            images_out[position][...] = images_out[sources[position]]
            labels_out[position] = labels_out[sources[position]]

    def _fill(self, rows: Iterable[tuple], targets: list[int], images_out: Images) -> tuple[list, list]:
        """Decode the rows of one query, in turn, into ``images_out[targets[j]]``; their ids and labels.

        Rows are taken from the cursor one at a time, so each row's bytes are copied while in the CPU's
        cache: fetching 4,096 rows at a time read 100,000 images 1.4x slower. Raw records bound for one
        contiguous array are copied into a byte view of it. A row that is missing shows in the ids.
        """
        ids: list[int] = []
        labels: list[int] = []
        flat = raw_target(self.codec, images_out)
        size = images_out[0].nbytes if flat is not None else 0
        for (index, label, record, *crc), position in zip(rows, targets, strict=False):
            if crc:
                _checksums.check(record, crc[0], f"{self.path}, the row of image {index}")
            ids.append(index)
            labels.append(label)
            if flat is None:
                self.codec.decode_into(record, images_out[position])
            elif len(record) == size:
                flat[position * size : (position + 1) * size] = record
            else:
                raise ValueError(f"raw record of {len(record)} bytes does not fill {size} bytes")
        return ids, labels

    def _plan(self, unique: np.ndarray) -> Iterator[np.ndarray]:
        """Which of the sorted distinct ids ``unique`` each query reads (positions in ``unique``, ascending
        ids): one BETWEEN per run of at least BETWEEN_MIN ids, then IN lists of the rest, under SQLite's
        limit of variables per statement."""
        scattered: list[np.ndarray] = []
        for start, _, length in runs(unique):
            members = np.arange(start, start + length)
            if length >= BETWEEN_MIN:
                yield members
            else:
                scattered.append(members)
        rest = np.concatenate(scattered) if scattered else np.arange(0)
        limit = self.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        for start in range(0, len(rest), limit):
            yield rest[start : start + limit]

    def _queries(self, unique: np.ndarray) -> Iterator[tuple[np.ndarray, sqlite3.Cursor]]:
        """Each query's members (``_plan``) and a cursor over their (id, label, data) rows in id order."""
        for members in self._plan(unique):
            ids = unique[members]
            if len(members) >= BETWEEN_MIN and ids[-1] - ids[0] == len(ids) - 1:
                query = self.select + "id BETWEEN ? AND ? ORDER BY id"
                yield members, self.connection.execute(query, (int(ids[0]), int(ids[-1])))
            else:
                query = self.select + f"id IN ({', '.join('?' * len(ids))}) ORDER BY id"
                yield members, self.connection.execute(query, ids.tolist())

    def _read_where(
        self, where: Where, buffers: Buffers, labels_out: np.ndarray
    ) -> Iterator[tuple[np.ndarray, Images]]:
        """One query with the condition, fetched ``len(labels_out)`` rows at a time, in id order."""
        cursor = self.connection.execute(self.select + self.condition(where), (where.value,))
        while rows := cursor.fetchmany(len(labels_out)):
            ids = np.array([row[0] for row in rows], dtype=np.intp)
            images_out = buffers(ids)
            for position, (index, label, data, *crc) in enumerate(rows):
                if crc:
                    _checksums.check(data, crc[0], f"{self.path}, the row of image {index}")
                self.codec.decode_into(data, images_out[position])
                labels_out[position] = label
            yield ids, images_out

    def condition(self, where: Where) -> str:
        """The WHERE clause of ``where``, its column checked against the table's (so it names a column)."""
        declared = {name: kind for _, name, kind, *_ in self.connection.execute("PRAGMA table_info(images)")}
        column = where.column
        if not where.on_label and column in COLUMNS:
            column = f"meta_{column}"
        if column not in declared:
            raise no_column(where.column, [name for name in declared if name not in COLUMNS])
        where.check_type(AFFINITY_TYPES.get(declared[column].upper(), pa.string()))
        return WHERE.format(column=column)

    def close(self) -> None:
        self.connection.close()
