"""An open store: ``Reader.read_into`` (caller's buffers, ids checked once for every store) and
``Reader.read_where``, the filtered read.

``read_into`` accepts only integer ids in [0, len) (repeats, any order and none allowed) and raises
IndexError naming the first bad one before any store reads anything. ``read_where`` reads every image a
filter (``stores.where.Where``) matches: by default through the label index written beside the data
(``manifest.LABEL_INDEX``) and ``read_into``; a store that filters by itself (``Store.filters``: Lance,
Parquet, SQLite) overrides ``_read_where``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self

import numpy as np

from imagestores.stores.batching import batches
from imagestores.stores.errors import DamagedStore, IncompleteStore
from imagestores.stores.images import Images
from imagestores.stores.manifest import LABEL_INDEX, METADATA

if TYPE_CHECKING:
    from imagestores.stores.where import Where


Buffers = Callable[[np.ndarray], Images]
"""Output for the images of the given ids, as ``read_into`` takes it: the caller's to allocate or reuse."""


class Reader(ABC):
    """An open store. Use as a context manager so files are always closed."""

    location: Path | None = None
    """The store's directory (set by ``Store.open``), where a filtered read finds the label index."""

    def read_into(self, indices: np.ndarray, images_out: Images, labels_out: np.ndarray) -> None:
        """Read images ``indices`` into ``images_out[j]`` and their labels into ``labels_out[j]``.

        ``images_out`` is an (M, H, W, C) array or a list of M preallocated arrays, M >= len(indices):
        a reused buffer may be longer than the last batch, and only its first len(indices) entries are
        filled. Ids are integers in [0, len(self)), in any order, repeats allowed; anything else raises
        IndexError before anything is read (``check_ids``). No ids read nothing.
        """
        ids = check_ids(indices, len(self))
        if len(ids):
            self._read_into(ids, images_out, labels_out)

    @abstractmethod
    def _read_into(self, indices: np.ndarray, images_out: Images, labels_out: np.ndarray) -> None:
        """``read_into`` for ids already checked: a non-empty 1-D integer array, each in [0, len)."""

    def read_where(
        self, where: Where, buffers: Buffers, labels_out: np.ndarray
    ) -> Iterator[tuple[np.ndarray, Images]]:
        """Read every image ``where`` matches, in increasing id order, at most ``len(labels_out)`` at a time.

        For each batch the reader asks ``buffers(ids)`` for the output of those ids, fills it and
        ``labels_out[:len(ids)]``, and yields ``(ids, images)``; the next batch may reuse both. A store
        that can filter by itself (``Store.filters``) overrides ``_read_where``; the others look the ids
        up here, in the label index or the metadata table beside their data, and read them in batches with
        their own ``read_into``.
        """
        if not len(labels_out):
            raise ValueError("labels_out must hold at least one label: it bounds each batch")
        yield from self._read_where(where, buffers, labels_out)

    def _read_where(
        self, where: Where, buffers: Buffers, labels_out: np.ndarray
    ) -> Iterator[tuple[np.ndarray, Images]]:
        """The default filtered read: ids from the index beside the data, then batched ``read_into``."""
        ids = self.matching(where)
        for part in batches(len(ids), len(labels_out)):
            chosen = ids[part]
            images_out = buffers(chosen)
            self.read_into(chosen, images_out, labels_out)
            yield chosen, images_out

    def matching(self, where: Where) -> np.ndarray:
        """Ids of the images ``where`` matches, increasing, from the label index or the metadata table."""
        if self.location is None:
            raise ValueError("this reader was not opened by Store.open: it does not know its store's files")
        if where.on_label:
            try:
                labels = np.load(self.location / LABEL_INDEX, mmap_mode="r")
            except FileNotFoundError:
                raise IncompleteStore(
                    f"{self.location} has no label index {LABEL_INDEX}: it was written before filtered "
                    "reads were supported; write it again"
                ) from None
            except ValueError as error:
                raise DamagedStore(f"{self.location / LABEL_INDEX}: unreadable ({error})") from error
            if len(labels) != len(self):
                raise DamagedStore(
                    f"{self.location / LABEL_INDEX}: {len(labels)} labels for {len(self)} images; write the "
                    "store again"
                )
            return where.matches(labels)
        import pyarrow.parquet as pq  # only a folder's metadata is read here, never the labels

        metadata = self.location / METADATA
        table = pq.read_table(metadata, columns=[where.column]) if metadata.exists() else None
        if table is not None and where.column in table.column_names and table.num_rows != len(self):
            raise DamagedStore(f"{metadata}: {table.num_rows} rows for {len(self)} images")
        return where.select(np.empty(0), table)

    @abstractmethod
    def __len__(self) -> int:
        """Images in the store, as its format records them (checked against the marker at open)."""

    def close(self) -> None:  # noqa: B027 - most readers hold something to close; the rest need nothing
        """Release files and handles."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def check_ids(indices: np.ndarray | Sequence[int], count: int) -> np.ndarray:
    """``indices`` as a 1-D integer array, or IndexError naming the first id outside 0..count-1.

    Checked once for every store: a computed offset, a key or a slice would otherwise misread a negative,
    too large or fractional id (read image 3 for 3.5, the last image for -1, or nothing at all).
    """
    ids = np.asarray(indices)
    if ids.ndim != 1:
        raise IndexError(f"image ids must be a 1-D sequence, not an array of shape {ids.shape}")
    if not len(ids):
        return ids.astype(np.intp)
    if ids.dtype.kind not in "iu":
        raise IndexError(
            f"image id {ids[0]!r} is not an integer ({ids.dtype} ids); ids are integers in 0..{count - 1} "
            f"for this store of {count} images"
        )
    if ids.min() >= 0 and ids.max() < count:
        return ids.astype(np.intp, copy=False)  # unsigned ids would wrap in the stores' differences
    first = ids[(ids < 0) | (ids >= count)][0]
    raise IndexError(f"image id {first} is outside this store of {count} images (ids 0..{count - 1})")
