"""The ``lance`` method: a Lance dataset with a row per image (bytes, label, shape, dtype).

Lance reads single rows: a read is one ``dataset.take`` of all requested ids, whatever their order. A
filtered read is one scan with the filter pushed down: Lance reads the filtered column, then only the
images of the rows that match (late materialisation).
"""

from __future__ import annotations

from collections.abc import Iterator

import lance
import numpy as np
import pyarrow as pa

from imagestores.stores import _tables as tables
from imagestores.stores.base import Buffers, DamagedStore, EncodedStore, Images, Reader, byte_batches
from imagestores.stores.codecs import Codec
from imagestores.stores.where import Where


class LanceTable(EncodedStore):
    """The store's directory is the dataset, written in streamed batches with Lance's default settings.

    Options: ``encoding`` (raw, png, jpeg) and ``quality``.
    """

    keeps_metadata = True
    filters = True
    fork_safe = False  # lance's runtime threads do not survive a fork: workers segfault (lance warns so)

    def _write(self, images: Images, labels: np.ndarray) -> None:
        table_schema = tables.schema(images, labels, self.codec)
        batches = tables.record_batches(self, images, labels, table_schema, byte_batches(images))
        lance.write_dataset(pa.RecordBatchReader.from_batches(table_schema, batches), self.path)

    def _open(self) -> Reader:
        return _LanceReader(lance.dataset(self.path), self.codec)


class _LanceReader(Reader):
    """One ``take`` per call: each has a fixed cost of a few tenths of a millisecond, so never one per image.

    ``take`` returns rows in the order asked for, duplicates included (checked by the tests), and blocks
    until its tokio threads have finished, so the Arrow buffers copied out are complete.
    """

    def __init__(self, dataset: lance.LanceDataset, codec: Codec) -> None:
        self.dataset = dataset
        self.codec = codec
        self.count = dataset.count_rows()

    def __len__(self) -> int:
        return self.count

    def _read_into(self, indices: np.ndarray, images_out: Images, labels_out: np.ndarray) -> None:
        table = self.dataset.take(np.asarray(indices), columns=tables.READ_COLUMNS)
        if table.num_rows != len(indices):
            raise DamagedStore(f"{self.dataset.uri}: {table.num_rows} rows came back for {len(indices)} ids")
        tables.fill(table, np.arange(len(indices)), images_out, labels_out, self.codec)

    def _read_where(
        self, where: Where, buffers: Buffers, labels_out: np.ndarray
    ) -> Iterator[tuple[np.ndarray, Images]]:
        """One scan in id order with the filter pushed into Lance, in batches of ``len(labels_out)`` rows.

        Each row's id is its position in the dataset: its row address (fragment id << 32 | offset) with
        the rows of the fragments before it added.
        """
        column = tables.column_of(self.dataset.schema, where)
        scanner = self.dataset.scanner(
            columns=tables.READ_COLUMNS,
            filter=f"`{column}` = {_literal(where.value)}",
            with_row_address=True,
            batch_size=len(labels_out),
            scan_in_order=True,
        )
        starts = {}
        first = 0
        for fragment in self.dataset.get_fragments():
            starts[fragment.fragment_id] = first
            first += fragment.count_rows()
        for scanned in scanner.to_batches():
            for start in range(0, scanned.num_rows, len(labels_out)):
                batch = scanned.slice(start, len(labels_out))
                address = batch.column("_rowaddr").to_numpy()
                fragments = (address >> 32).tolist()
                ids = np.array([starts[fragment] for fragment in fragments]) + (address & 0xFFFFFFFF)
                ids = ids.astype(np.intp)
                images_out = buffers(ids)
                table = pa.Table.from_batches([batch])
                tables.fill(table, np.arange(len(ids)), images_out, labels_out, self.codec)
                yield ids, images_out


def _literal(value: int | float | str | bool) -> str:
    """``value`` as a literal of Lance's SQL filters (Arrow expressions on strings do not convert)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)
