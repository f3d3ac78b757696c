"""The ``parquet`` method: one Parquet file with a row per image (bytes, label, shape, dtype).

Parquet reads whole row groups (pyarrow has no row-level reads), so a read fetches only the row groups
holding the requested rows, and only the image and label columns, then gathers the rows it needs. A
filtered read skips the row groups whose statistics (min and max of the filtered column, written for the
label and metadata columns) exclude the value, reads the filtered column of the others, and then the
images of only the row groups holding a match.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from imagestores.stores import _tables as tables
from imagestores.stores.base import Buffers, EncodedStore, Images, Reader, batches, byte_batches
from imagestores.stores.codecs import Codec
from imagestores.stores.where import Where

FILE = "images.parquet"

ROW_GROUP_BYTES = 3 * 2**20
"""Target pixel bytes per row group when ``row_group_rows`` is not given: 1,024 CIFAR-sized images.

Reading one image reads its whole row group, so groups must stay small; but each group adds footer
metadata parsed at open and a read call per group touched. In one noisy run (100,000 CIFAR images)
256-row groups read 1,000 random images about 1.7x slower than 1,024-row groups, and 4,096-row groups
read one image about 2x slower; sizing by bytes keeps a group near 3 MiB for larger images too.
"""


class ParquetTable(EncodedStore):
    """Uncompressed columns written row group by row group with ``pq.ParquetWriter``.

    Options: ``encoding`` (raw, png, jpeg), ``quality`` and ``row_group_rows`` (images per row group;
    by default as many as hold ROW_GROUP_BYTES of pixels) and ``checksums`` (Parquet's CRC-32 of every
    data page, written and checked on every read). Parquet's compression is off: it gains nothing
    on raw pixels (measured) or on PNG and JPEG bytes, which are compressed already. Statistics and
    dictionary encoding are kept off the image column, where they would only bloat the footer.
    """

    keeps_metadata = True
    filters = True

    def __init__(
        self,
        path: Path | str | None = None,
        row_group_rows: int | None = None,
        checksums: bool = False,
        **options: Any,
    ) -> None:
        super().__init__(path, **options)
        self.checksums = checksums
        if row_group_rows is not None and row_group_rows < 1:
            raise ValueError(f"row_group_rows must be positive, not {row_group_rows}")
        self.row_group_rows = row_group_rows

    def row_groups(self, images: Images) -> Iterator[slice]:
        """The images of each row group: ``row_group_rows`` at a time, or about ROW_GROUP_BYTES of pixels."""
        if self.row_group_rows is not None:
            return batches(len(images), self.row_group_rows)
        return byte_batches(images, ROW_GROUP_BYTES, most=len(images))

    def _write(self, images: Images, labels: np.ndarray) -> None:
        table_schema = tables.schema(images, labels, self.codec)
        with pq.ParquetWriter(
            self.path / FILE,
            table_schema,
            compression="none",
            use_dictionary=[tables.LABEL, tables.DTYPE, f"{tables.SHAPE}.list.element"],
            write_statistics=[tables.LABEL, *table_schema.names[len(tables.COLUMNS) :]],
            write_page_checksum=self.checksums,
        ) as writer:
            for batch in tables.record_batches(self, images, labels, table_schema, self.row_groups(images)):
                writer.write_batch(batch, row_group_size=batch.num_rows)

    def _open(self) -> Reader:
        return _ParquetReader(self.path / FILE, self.codec, self.checksums)


READ_GROUPS = 4
"""Row groups read per call: about 12 MiB of CIFAR pixels, one buffer batch of 4,096 images in order."""


class _ParquetReader(Reader):
    def __init__(self, path: Path, codec: Codec, checksums: bool = False) -> None:
        # Memory-mapping read 1,000 random images about 1.4x faster than buffered reads in one noisy run.
        self.file = pq.ParquetFile(path, memory_map=True, page_checksum_verification=checksums)
        self.codec = codec
        metadata = self.file.metadata
        sizes = [metadata.row_group(group).num_rows for group in range(metadata.num_row_groups)]
        self.starts = np.concatenate(([0], np.cumsum(sizes)))
        """Id of each row group's first image, then the number of images."""

    def __len__(self) -> int:
        return int(self.starts[-1])

    def _read_into(self, indices: np.ndarray, images_out: Images, labels_out: np.ndarray) -> None:
        groups = np.searchsorted(self.starts, indices, side="right") - 1
        needed = np.unique(groups)
        # A few row groups at a time: memory holds READ_GROUPS groups however many the ids touch (a random
        # batch touches nearly all of them; reading them at once held 1.9 GB at 1,000,000 images).
        for first in range(0, len(needed), READ_GROUPS):
            chosen = needed[first : first + READ_GROUPS]
            targets = np.flatnonzero(np.isin(groups, chosen))
            table = self.file.read_row_groups(chosen.tolist(), columns=tables.READ_COLUMNS)
            # Where each chosen group begins in ``table``, which holds only the chosen groups, in order.
            table_starts = np.concatenate(([0], np.cumsum(np.diff(self.starts)[chosen])[:-1]))
            wanted = groups[targets]
            rows = table_starts[np.searchsorted(chosen, wanted)] + indices[targets] - self.starts[wanted]
            tables.fill(table, rows, images_out, labels_out, self.codec, targets)

    def _read_where(
        self, where: Where, buffers: Buffers, labels_out: np.ndarray
    ) -> Iterator[tuple[np.ndarray, Images]]:
        """Row groups the statistics allow, their filtered column, then the images of groups that match."""
        column = tables.column_of(self.file.schema_arrow, where)
        candidates = self.candidate_groups(column, where.value)
        if not candidates:
            return
        values = self.file.read_row_groups(candidates, columns=[column]).column(column)
        rows_read = np.concatenate([np.arange(self.starts[g], self.starts[g + 1]) for g in candidates])
        ids = rows_read[where.matches(values)]
        groups = np.searchsorted(self.starts, ids, side="right") - 1
        needed = np.unique(groups)
        for first in range(0, len(needed), READ_GROUPS):
            chosen = needed[first : first + READ_GROUPS]
            inside = np.flatnonzero(np.isin(groups, chosen))
            table = self.file.read_row_groups(chosen.tolist(), columns=tables.READ_COLUMNS)
            table_starts = np.concatenate(([0], np.cumsum(np.diff(self.starts)[chosen])[:-1]))
            for part in batches(len(inside), len(labels_out)):
                picked = inside[part]
                wanted = groups[picked]
                rows = table_starts[np.searchsorted(chosen, wanted)] + ids[picked] - self.starts[wanted]
                images_out = buffers(ids[picked])
                tables.fill(table, rows, images_out, labels_out, self.codec)
                yield ids[picked], images_out

    def candidate_groups(self, column: str, value: object) -> list[int]:
        """Row groups whose statistics of ``column`` do not rule ``value`` out (all of them without any)."""
        metadata = self.file.metadata
        leaf = [metadata.schema.column(i).path for i in range(metadata.num_columns)].index(column)
        kept = []
        for group in range(metadata.num_row_groups):
            statistics = metadata.row_group(group).column(leaf).statistics
            if statistics is not None and statistics.has_min_max:
                if not statistics.min <= value <= statistics.max:
                    continue
            elif statistics is not None and statistics.null_count == metadata.row_group(group).num_rows:
                continue
            kept.append(group)
        return kept

    def close(self) -> None:
        self.file.close()
