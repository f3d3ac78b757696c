"""What the table stores (Parquet, Lance) share: one Arrow schema of one row per image, and its rows.

A folder's metadata table becomes columns beside the image's, so the table answers queries on it.

A row holds the image's encoded bytes, its label, its numpy shape ((H, W) or (H, W, C)) and its numpy
dtype string, so any Arrow reader can rebuild the image without this package. Raw images of one size go
into a ``fixed_size_binary`` column, which is read back as one contiguous buffer (about 1.5x faster than
``binary``, measured); anything else (PNG, JPEG, raw images of differing sizes) goes into ``binary``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import pyarrow as pa

from imagestores.stores.base import EncodedStore, Images, image_sizes, metadata_names, metadata_of
from imagestores.stores.codecs import Codec
from imagestores.stores.where import Where, no_column

IMAGE, LABEL, SHAPE, DTYPE = "image", "label", "shape", "dtype"
COLUMNS = (IMAGE, LABEL, SHAPE, DTYPE)
READ_COLUMNS = [IMAGE, LABEL]
"""The columns a read needs: the caller's buffers already give each image's shape and dtype."""


def column_of(table_schema: pa.Schema, where: Where) -> str:
    """The table's column ``where`` filters on: ``label``, or a metadata column under its stored name
    (``meta_`` before a name that clashes with the image columns); ValueError when there is none or its
    type cannot be compared with the value."""
    names = table_schema.names
    column = where.column
    if not where.on_label and column in COLUMNS:
        column = f"meta_{column}"
    if column in names:
        where.check_type(table_schema.field(column).type)
        return column
    raise no_column(where.column, names[len(COLUMNS) :])


def record_size(images: Images, codec: Codec) -> int | None:
    """Bytes of every record when all have one size (raw pixels of equally sized images), else None."""
    if codec.name != "raw":
        return None
    sizes = np.unique(image_sizes(images))
    return int(sizes[0]) if len(sizes) == 1 else None


def schema(images: Images, labels: np.ndarray, codec: Codec) -> pa.Schema:
    """The image columns, then the metadata table's columns (a folder's), renamed where they would clash."""
    size = record_size(images, codec)
    metadata = metadata_of(images)
    return pa.schema(
        [
            (IMAGE, pa.binary() if size is None else pa.binary(size)),
            (LABEL, pa.from_numpy_dtype(labels.dtype)),
            (SHAPE, pa.list_(pa.int32())),
            (DTYPE, pa.string()),
            *(
                ()
                if metadata is None
                else zip(metadata_names(metadata, COLUMNS), metadata.schema.types, strict=True)
            ),
        ]
    )


def record_batches(
    store: EncodedStore,
    images: Images,
    labels: np.ndarray,
    table_schema: pa.Schema,
    parts: Iterable[slice],
) -> Iterator[pa.RecordBatch]:
    """The rows of ``table_schema``, one record batch per slice of ``parts``, encoded one batch at a time."""
    image_type = table_schema.field(IMAGE).type
    for part in parts:
        block = images[part]
        count = part.stop - part.start
        if isinstance(block, np.ndarray) and pa.types.is_fixed_size_binary(image_type):
            # Raw pixels of an (n, H, W, C) array already are the column's data buffer.
            pixels = pa.py_buffer(np.ascontiguousarray(block))
            column = pa.FixedSizeBinaryArray.from_buffers(image_type, count, [None, pixels])
        else:
            column = pa.array(store.encoded(images, part), type=image_type)
        metadata = metadata_of(block)
        yield pa.record_batch(
            [
                column,
                pa.array(labels[part], type=table_schema.field(LABEL).type),
                *_layout_columns(block),
                *(() if metadata is None else (column.combine_chunks() for column in metadata.columns)),
            ],
            schema=table_schema,
        )


def _layout_columns(block: Images) -> tuple[pa.Array, pa.Array]:
    """The shape and dtype columns of ``block``'s rows: built from one image's for an array of equal
    images, where a Python tuple and string per image cost a sixth of a raw write."""
    if not isinstance(block, np.ndarray):
        return (
            pa.array([image.shape for image in block], type=pa.list_(pa.int32())),
            pa.array([image.dtype.str for image in block], type=pa.string()),
        )
    first, count = block[0], len(block)
    dims = np.tile(np.array(first.shape, dtype=np.int32), count)
    shapes = pa.ListArray.from_arrays(np.arange(0, len(dims) + 1, first.ndim, dtype=np.int32), dims)
    return shapes, pa.repeat(pa.scalar(first.dtype.str), count)


def fill(
    table: pa.Table,
    rows: np.ndarray,
    images_out: Images,
    labels_out: np.ndarray,
    codec: Codec,
    targets: np.ndarray | None = None,
) -> None:
    """Decode ``table`` row ``rows[j]`` into ``images_out[targets[j]]`` and its label into ``labels_out``.

    ``targets`` (increasing; by default 0, 1, 2, ...) lets a reader fill its output a few groups at a time.
    """
    targets = np.arange(len(rows)) if targets is None else targets
    labels_out[targets] = table.column(LABEL).to_numpy()[rows]
    chunks = table.column(IMAGE).chunks
    bounds = np.cumsum([0, *(len(chunk) for chunk in chunks)])
    which = np.searchsorted(bounds, rows, side="right") - 1
    order = np.argsort(which, kind="stable")
    splits = np.searchsorted(which[order], np.arange(1, len(chunks)))
    for number, positions in enumerate(np.split(order, splits)):
        if len(positions):
            _fill_chunk(
                chunks[number], rows[positions] - bounds[number], targets[positions], images_out, codec
            )


def _fill_chunk(
    chunk: pa.Array, local: np.ndarray, positions: np.ndarray, images_out: Images, codec: Codec
) -> None:
    """Decode records ``local`` of one column chunk into ``images_out[positions]`` (increasing)."""
    if pa.types.is_fixed_size_binary(chunk.type):
        records = _fixed_records(chunk)
        if isinstance(images_out, np.ndarray) and images_out.flags.c_contiguous:
            _gather(records, local, positions, images_out)
            return
        for position, index in zip(positions.tolist(), local.tolist(), strict=True):
            codec.decode_into(memoryview(records[index]), images_out[position])
        return
    offsets = np.frombuffer(
        chunk.buffers()[1], dtype=np.int64 if pa.types.is_large_binary(chunk.type) else np.int32
    )
    offsets = offsets[chunk.offset : chunk.offset + len(chunk) + 1]
    data = memoryview(chunk.buffers()[2])
    for position, index in zip(positions.tolist(), local.tolist(), strict=True):
        codec.decode_into(data[offsets[index] : offsets[index + 1]], images_out[position])


def _fixed_records(chunk: pa.FixedSizeBinaryArray) -> np.ndarray:
    """A zero-copy (rows, bytes) view of a fixed_size_binary chunk's data buffer."""
    width = chunk.type.byte_width
    data = np.frombuffer(chunk.buffers()[1], dtype=np.uint8)
    return data[chunk.offset * width : (chunk.offset + len(chunk)) * width].reshape(len(chunk), width)


def _gather(records: np.ndarray, local: np.ndarray, positions: np.ndarray, images_out: np.ndarray) -> None:
    """Copy records into a contiguous output array: once when the positions are one stretch."""
    flat = images_out.reshape(len(images_out), -1).view(np.uint8)
    if flat.shape[1] != records.shape[1]:
        raise ValueError(f"records of {records.shape[1]} bytes do not fill {images_out.shape[1:]} images")
    first, last = int(positions[0]), int(positions[-1])
    if last - first + 1 == len(positions):
        # mode="clip" lets take write straight into ``out`` (mode="raise" buffers a copy); ``local`` is
        # in range by construction.
        np.take(records, local, axis=0, out=flat[first : last + 1], mode="clip")
    else:
        flat[positions] = records[local]
