"""Byte-bounded batching: stores walk images in slices bounded in images and in bytes, so that neither
4 MB images nor a million small ones make a batch large; and runs of consecutive ids, read with one call.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from imagestores.stores.images import Images

WRITE_BATCH = 4096
"""Images a store handles at once while streaming; bounds memory independently of N."""


def batches(count: int, size: int | None = None) -> Iterator[slice]:
    """Consecutive slices covering range(count), each at most ``size`` (default WRITE_BATCH) long."""
    size = size or WRITE_BATCH
    for start in range(0, count, size):
        yield slice(start, min(start + size, count))


BATCH_BYTES = 64 * 2**20
"""Pixel bytes a store handles at once while streaming: 4,096 CIFAR images are 12 MiB, 16 microscopy
TIFFs of 1344 x 1024 x 16 bit 42 MiB, so memory stays bounded whatever the images' size."""


def image_sizes(images: Images) -> np.ndarray:
    """Pixel bytes of every image, without reading any pixels."""
    if isinstance(images, np.ndarray):
        return np.full(len(images), images[0].nbytes if len(images) else 0, dtype=np.int64)
    sizes = getattr(images, "sizes", None)
    if sizes is not None:
        return np.asarray(sizes, dtype=np.int64)
    return np.array([image.nbytes for image in images], dtype=np.int64)


def byte_batches(images: Images, budget: int | None = None, most: int | None = None) -> Iterator[slice]:
    """Consecutive slices covering ``images``, each at most ``budget`` pixel bytes (default BATCH_BYTES)
    and ``most`` images (default WRITE_BATCH), but never empty: an image larger than the budget comes alone.

    Equally shaped images of one array take no memory per image to split; others need their sizes.
    """
    budget, most = budget or BATCH_BYTES, most or WRITE_BATCH
    if isinstance(images, np.ndarray):
        per_image = max(1, images[0].nbytes) if len(images) else 1
        yield from batches(len(images), max(1, min(most, budget // per_image)))
        return
    ends = np.cumsum(image_sizes(images))
    start = 0
    while start < len(ends):
        before = ends[start - 1] if start else 0
        stop = int(np.searchsorted(ends, before + budget, side="right"))
        stop = min(max(stop, start + 1), start + most)
        yield slice(start, stop)
        start = stop


def runs(indices: np.ndarray) -> Iterator[tuple[int, int, int]]:
    """Split ``indices`` into runs of consecutive ids: yields (position in indices, first id, length).

    Stores read a run with one call instead of one call per image.
    """
    if len(indices) <= 1:
        yield from ((0, int(indices[0]), 1),) if len(indices) else ()
        return
    breaks = np.flatnonzero(np.diff(indices) != 1) + 1
    starts = np.concatenate(([0], breaks))
    ends = np.concatenate((breaks, [len(indices)]))
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        yield start, int(indices[start]), end - start


def put_block(images_out: Images, position: int, block: np.ndarray) -> None:
    """Copy consecutive images ``block`` into ``images_out`` from ``position`` on, array or list alike.

    Slice assignment would replace the elements of a list instead of filling the caller's buffers.
    """
    if isinstance(images_out, np.ndarray):
        images_out[position : position + len(block)] = block
    else:
        for offset, image in enumerate(block):
            images_out[position + offset][...] = image
