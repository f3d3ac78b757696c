"""Read any store the pipeline built from training code: ``open_store(path)`` gives a map-style dataset.

The dataset needs nothing but the store's directory: its completion marker (``stores.base.MARKER``) names the
store class, its options, the image count and the images' shape and dtype (or ``SHAPES`` beside it for
images of differing shapes), so a reader allocates its own output. It does not import torch, yet it is
what ``torch.utils.data.DataLoader`` expects of a map-style dataset (``__len__``, ``__getitem__`` and the
batched ``__getitems__``), and the pipeline's ``epoch`` operation reads every store through it.

Each process opens its own reader on its first read: LMDB environments and SQLite connections must not
cross a fork, so a dataset made in the main process is safe to hand to DataLoader workers.

May import ``stores``; nothing from ``data``, ``measure`` or ``report``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import numpy as np

from imagestores.stores.base import SHAPES, Images, Reader, check_ids, layout_of, read_manifest, written_count
from imagestores.stores.registry import stored

__all__ = ["StoreDataset", "collate_arrays", "epoch_order", "open_store"]

Sample = tuple[np.ndarray, int]
"""One image and its label."""


def open_store(path: Path | str) -> StoreDataset:
    """The store at ``path`` as a map-style dataset: ``len(ds)``, ``ds[i] -> (image, label)``.

    Raises FileNotFoundError when there is no store, IncompleteStore when its write did not finish and
    DamagedStore when its marker does not say how to read it.
    """
    return StoreDataset(path)


class StoreDataset:
    """A store read as a map-style dataset; images come back as NumPy arrays, labels as ints.

    ``__getitems__`` reads a whole batch with one ``read_into`` call (DataLoader calls it with each
    batch's ids), which is how stores read fastest; ``__getitem__`` reads one image. Opening is lazy and
    per process (keyed on ``os.getpid()``), so nothing is opened until the first read.
    """

    def __init__(self, path: Path | str) -> None:
        self.store = stored(path)
        self.path = self.store.path
        self.count = written_count(self.path)
        manifest = read_manifest(self.path)
        if "shape" in manifest:
            self.shape: tuple[int, ...] | None = tuple(manifest["shape"])
            self.dtype: np.dtype | None = np.dtype(manifest["dtype"])
            self.layouts = None
        else:
            self.shape, self.dtype = None, None
            self.layouts = np.load(self.path / SHAPES)
        self._reader: Reader | None = None
        self._pid = 0

    @property
    def method(self) -> str:
        """The configured method's name the store was written as (empty when written without the registry)."""
        return self.store.method_name

    def __len__(self) -> int:
        return self.count

    @property
    def worker_context(self) -> str | None:
        """The multiprocessing start method DataLoader workers need for this store: None (fork, the
        default) unless its format does not survive a fork (Lance), then ``forkserver``."""
        return None if self.store.fork_safe else "forkserver"

    def reader(self) -> Reader:
        """This process's open reader: opened on first use, and again in each forked worker.

        A reader inherited through a fork is closed unused first: py-lmdb refuses to open an environment
        its process already holds, and handles must not be shared with the parent anyway.
        """
        if self._reader is not None and self._pid != os.getpid():
            self._reader.close()
            self._reader = None
        if self._reader is None:
            self._reader = self.store.open()
            self._pid = os.getpid()
        return self._reader

    def read(self, indices: Sequence[int] | np.ndarray) -> tuple[Images, np.ndarray]:
        """Images ``indices`` and their labels: one (M, H, W, C) array when the store's images share a
        shape, else a list of M arrays."""
        ids = check_ids(np.asarray(indices), self.count)
        images = self._allocate(ids)
        labels = np.empty(len(ids), dtype=np.int64)
        self.reader().read_into(ids, images, labels)
        return images, labels

    def _allocate(self, ids: np.ndarray) -> Images:
        if self.layouts is None:
            return np.empty((len(ids), *self.shape), dtype=self.dtype)
        return [np.empty(*layout_of(self.layouts[i])) for i in ids.tolist()]

    def __getitem__(self, index: int) -> Sample:
        """Image ``index`` and its label; IndexError outside 0..len-1, which also ends ``for x in ds``."""
        images, labels = self.read([index])
        return images[0], int(labels[0])

    def __getitems__(self, indices: Sequence[int]) -> list[Sample]:
        """The samples of a batch, read with one call: what DataLoader's collate function receives."""
        images, labels = self.read(indices)
        return list(zip(images, labels.tolist(), strict=True))

    def close(self) -> None:
        """Close this process's reader, if it opened one."""
        if self._reader is not None and self._pid == os.getpid():
            self._reader.close()
        self._reader = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        """Without the open reader: a dataset sent to a spawned worker opens its own."""
        return self.__dict__ | {"_reader": None, "_pid": 0}


def collate_arrays(samples: Sequence[Sample]) -> tuple[Images, np.ndarray]:
    """A batch as NumPy: the images stacked when they share a shape and dtype (else a list), the labels.

    Pass as DataLoader's ``collate_fn`` to keep NumPy arrays; torch's default collate makes tensors.
    """
    images = [image for image, _ in samples]
    labels = np.array([label for _, label in samples], dtype=np.int64)
    first = images[0]
    if all(image.shape == first.shape and image.dtype == first.dtype for image in images):
        return np.stack(images), labels
    return images, labels


def epoch_order(count: int, seed: int) -> np.ndarray:
    """Every id below ``count`` once, in the shuffled order ``seed`` gives: one epoch's sampler."""
    return np.random.default_rng(seed).permutation(count)
