"""The ``epoch`` operation: what a training loop sees, every image once through torch's DataLoader.

Each epoch opens the store with ``imagestores.open_store`` (the dataset users get), shuffles every id with
a seeded permutation and reads them in batches of ``batch_size`` through ``torch.utils.data.DataLoader``
with ``workers`` worker processes, decoding to NumPy pixel arrays (no model, no augmentation). Workers are
started for each epoch (``persistent_workers=False``), as a loop without persistent workers pays it, and
each opens its own reader after the fork (from a fork server, preloaded with torch, for a format that
does not survive a fork: ``StoreDataset.worker_context``). The clock runs from before the store is opened
to the last batch; the time to the first batch is taken on the same clock.

Verification cannot pause the clock while workers keep reading ahead, so it is split: the untimed
warm-up epoch of each worker count compares every pixel and label of every batch with the source, in the
epoch's order, through the same loader; each timed epoch keeps its batches' labels (a list append) and
checks, after the clock stopped, that they are the labels of the permutation's ids, batch by batch.

Rows are ``epoch_w{workers}`` (the whole epoch) and ``first_batch_w{workers}`` (to the first batch, with
that batch's images and bytes), so every worker count is its own operation in the tables and figures.
torch comes with the ``loaders`` extra; without it the operation is skipped (``unavailable``).
"""

from __future__ import annotations

import importlib.util
import logging
import multiprocessing
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from imagestores import operations
from imagestores.loading import collate_arrays, open_store
from imagestores.measure import cache
from imagestores.measure.first_touch import back_for
from imagestores.measure.floor import check_physical
from imagestores.measure.timing import ReadMismatch, describe, verify
from imagestores.stores import Method
from imagestores.stores.base import Images

log = logging.getLogger(__name__)

INSTALL_HINT = 'install the loaders extra: .venv/bin/pip install --editable ".[loaders]"'


def unavailable() -> str:
    """Why the epoch operation cannot run here, or an empty string when it can."""
    if importlib.util.find_spec("torch") is None:
        return f"torch is not installed; {INSTALL_HINT}"
    return ""


def operation(workers: int) -> str:
    """The operation name of an epoch with ``workers`` DataLoader workers."""
    return operations.with_workers("epoch_w", workers)


def first_batch_operation(workers: int) -> str:
    """The operation name of the time to the first batch with ``workers`` DataLoader workers."""
    return operations.with_workers("first_batch_w", workers)


Consume = Callable[[int, Images, np.ndarray], None]
"""Called with each batch's position, images and labels as it arrives; inside the clock of a timed epoch."""


def run_epoch(
    store_path: Path, order: np.ndarray, batch_size: int, workers: int, consume: Consume
) -> tuple[float, float]:
    """Read every image of the store in ``order`` through a DataLoader; return seconds to the first batch
    and to the end of the epoch, both from before the store is opened."""
    from torch.utils.data import DataLoader  # the loaders extra; checked by ``unavailable``

    multiprocessing.set_forkserver_preload(["torch.utils.data", "imagestores.loading"])
    start = time.perf_counter_ns()
    first = 0
    with open_store(store_path) as dataset:
        loader = DataLoader(
            dataset,
            batch_size=batch_size,
            sampler=order.tolist(),
            num_workers=workers,
            collate_fn=collate_arrays,
            persistent_workers=False,
            multiprocessing_context=dataset.worker_context if workers else None,
        )
        for position, (images, labels) in enumerate(loader):
            if not position:
                first = time.perf_counter_ns()
            consume(position, images, labels)
    end = time.perf_counter_ns()
    return (first - start) / 1e9, (end - start) / 1e9


def batch_ids(order: np.ndarray, batch_size: int, position: int) -> np.ndarray:
    """The ids of batch ``position`` of an epoch in ``order``."""
    return order[position * batch_size : (position + 1) * batch_size]


@dataclass(frozen=True)
class Epoch:
    """One store's epoch: every id of ``order`` in batches of ``batch_size`` through a DataLoader with
    ``workers`` worker processes."""

    method: Method
    store_path: Path
    order: np.ndarray
    batch_size: int
    workers: int

    def run(self, consume: Consume) -> tuple[float, float]:
        """``run_epoch`` of this epoch: seconds to the first batch and to the end."""
        return run_epoch(self.store_path, self.order, self.batch_size, self.workers, consume)

    def batch(self, position: int) -> np.ndarray:
        """The ids of batch ``position``."""
        return batch_ids(self.order, self.batch_size, position)


def verified_epoch(epoch: Epoch, images: Images, labels: np.ndarray) -> None:
    """One untimed epoch comparing every image and label of every batch with the source, in order."""
    seen = 0

    def check(position: int, got: Images, got_labels: np.ndarray) -> None:
        nonlocal seen
        verify(epoch.method, got, got_labels, images, labels, epoch.batch(position))
        seen += len(got_labels)

    epoch.run(check)
    if seen != len(epoch.order):
        raise ReadMismatch(
            f"{epoch.method.name}: an epoch with {epoch.workers} workers read {seen} of "
            f"{len(epoch.order)} images"
        )


def keep_labels(kept: list[np.ndarray], position: int, images: Images, labels: np.ndarray) -> None:
    """What a timed epoch does with each batch (``Consume``): keep its labels, to check after the clock."""
    kept.append(labels)


def check_labels(
    method: Method, got: Sequence[np.ndarray], labels: np.ndarray, order: np.ndarray, batch_size: int
) -> None:
    """Raise ReadMismatch unless the batches' labels are those of ``order``'s ids, batch by batch."""
    expected = [labels[batch_ids(order, batch_size, position)] for position in range(len(got))]
    if len(got) * batch_size < len(order) or not all(map(np.array_equal, got, expected)):
        raise ReadMismatch(f"{method.name}: a timed epoch returned other labels than its ids' or missed some")


def timed_epoch(
    epoch: Epoch,
    labels: np.ndarray,
    evict: Callable[[], cache.Eviction] | None,
    moved: int,
    floor: float,
) -> tuple[float, float, str]:
    """One timed epoch, after evicting the store when ``evict`` is given: seconds to the first batch and
    to the end, and how the store was made cold (empty for a warm one). Its labels are checked after."""
    eviction = describe(evict()) if evict is not None else ""
    got: list[np.ndarray] = []
    back_for(moved)
    first, seconds = epoch.run(partial(keep_labels, got))
    check_labels(epoch.method, got, labels, epoch.order, epoch.batch_size)
    check_physical(seconds, moved, floor)
    return first, seconds, eviction


def timed_cutoffs(cutoffs: Sequence[int], min_images: int) -> list[int]:
    """The cutoffs whose jobs time epochs: those of at least ``min_images`` images, and the largest."""
    return sorted({cutoff for cutoff in cutoffs if cutoff >= min_images} | {max(cutoffs)})
