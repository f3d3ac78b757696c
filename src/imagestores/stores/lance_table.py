"""The ``lance`` method: a Lance dataset with a row per image (bytes, label, shape, dtype).

Lance reads single rows: a read is one ``dataset.take`` of all requested ids, whatever their order.
"""

from __future__ import annotations

import lance
import numpy as np
import pyarrow as pa

from imagestores.stores import _tables as tables
from imagestores.stores.base import DamagedStore, EncodedStore, Images, Reader, byte_batches
from imagestores.stores.codecs import Codec


class LanceTable(EncodedStore):
    """The store's directory is the dataset, written in streamed batches with Lance's default settings.

    Options: ``encoding`` (raw, png, jpeg) and ``quality``.
    """

    keeps_metadata = True
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
