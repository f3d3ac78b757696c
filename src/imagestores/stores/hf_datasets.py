"""The ``hf_datasets`` method: a Hugging Face ``datasets`` Arrow dataset, written with ``save_to_disk`` and
memory-mapped with ``load_from_disk``.

A row per image: ``image``, ``label``, ``shape`` and ``dtype`` (``_tables``). Encoded images (PNG, JPEG, a
folder's files) are an ``Image(decode=False)`` column, the struct of the file's bytes (and a null path)
that the Hub's image datasets hold, so ``datasets`` hands the bytes over without decoding them; raw pixels
are a ``binary`` column beside their shape and dtype, as in the other table stores.

Reads use the dataset in Arrow format (``with_format("arrow")``): ``dataset[ids]`` gathers the rows of any
ids from the memory-mapped Arrow files in one call and returns an Arrow table, whose image bytes are decoded
straight into the caller's buffers (``_tables.fill``); rows are never turned into Python dicts or PIL images.
A filtered read uses the label index beside the data: ``Dataset.filter`` runs a Python function over every
batch of rows and writes an indices mapping, which would then slow every read of the result.

Arrow IPC files carry no checksums: a flipped byte in an image reads as a wrong image (the integrity trials
count it), while a truncated file is refused when ``load_from_disk`` maps it.

Writing builds the Arrow table in memory (the images are in memory already) and saves it in shards of
``shard_bytes``; ``datasets`` keeps no cache of it elsewhere.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from imagestores.stores import _tables as tables
from imagestores.stores._sample_shards import import_problem
from imagestores.stores.base import Images, Reader, byte_batches
from imagestores.stores.codecs import Codec
from imagestores.stores.encoded import ShardedStore

INSTALL = 'install the formats extra: .venv/bin/pip install --editable ".[formats]"'
SHARD_BYTES = 500 * 10**6
"""Most bytes of an Arrow file: ``save_to_disk``'s own default (``max_shard_size="500MB"``)."""


class HfDataset(ShardedStore):
    """A ``datasets.Dataset`` saved in Arrow files of at most ``shard_bytes``.

    Options: ``encoding`` (raw, png, jpeg, original), ``quality`` and ``shard_bytes``.
    """

    default_shard_bytes: ClassVar[int] = SHARD_BYTES

    @classmethod
    def unavailable(cls) -> str:
        return import_problem("datasets", "datasets", INSTALL)

    def _write(self, images: Images, labels: np.ndarray) -> None:
        import datasets

        table_schema = tables.schema(images, labels, self.codec)
        parts = tables.record_batches(self, images, labels, table_schema, byte_batches(images))
        table = pa.Table.from_batches(parts, table_schema).select(list(tables.COLUMNS))
        if self.codec.name == "raw":
            image_feature, column = datasets.Value("binary"), table.column(tables.IMAGE).cast(pa.binary())
        else:
            image_feature = datasets.Image(decode=False)
            column = pa.chunked_array(
                [
                    pa.StructArray.from_arrays([chunk, pa.nulls(len(chunk), pa.string())], ["bytes", "path"])
                    for chunk in table.column(tables.IMAGE).chunks
                ]
            )
        features = datasets.Features(
            {
                tables.IMAGE: image_feature,
                tables.LABEL: datasets.Value(str(table.schema.field(tables.LABEL).type)),
                tables.SHAPE: datasets.List(datasets.Value("int32")),
                tables.DTYPE: datasets.Value("string"),
            }
        )
        table = table.set_column(0, tables.IMAGE, column).cast(features.arrow_schema)
        dataset = datasets.Dataset(table, info=datasets.DatasetInfo(features=features))
        datasets.disable_progress_bars()  # a bar per write would fill the pipeline's logs
        dataset.save_to_disk(str(self.path), max_shard_size=self.shard_bytes)

    def _open(self) -> Reader:
        import datasets

        dataset = datasets.load_from_disk(str(self.path), keep_in_memory=False)
        return _HfReader(dataset.select_columns(tables.READ_COLUMNS).with_format("arrow"), self.codec)


class _HfReader(Reader):
    """One ``dataset[ids]`` per call: an Arrow gather from the memory-mapped files."""

    def __init__(self, dataset: Any, codec: Codec) -> None:
        self.dataset = dataset
        self.codec = codec

    def __len__(self) -> int:
        return len(self.dataset)

    def _read_into(self, indices: np.ndarray, images_out: Images, labels_out: np.ndarray) -> None:
        table = self.dataset[indices.tolist()]
        tables.fill(image_bytes(table), np.arange(len(indices)), images_out, labels_out, self.codec)

    def close(self) -> None:
        self.dataset = None


def image_bytes(table: pa.Table) -> pa.Table:
    """``table`` with an ``Image`` column's struct replaced by its bytes, as ``_tables.fill`` reads them."""
    column = table.column(tables.IMAGE)
    if not pa.types.is_struct(column.type):
        return table
    flat = pa.chunked_array([chunk.flatten()[0] for chunk in column.chunks], type=pa.binary())
    return table.set_column(table.schema.get_field_index(tables.IMAGE), tables.IMAGE, flat)
