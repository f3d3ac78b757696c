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
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path

import numpy as np

from imagestores.loading import collate_arrays, epoch_order, open_store
from imagestores.measure import cache
from imagestores.measure.first_touch import back_for
from imagestores.measure.floor import check_physical, physical_floor_bandwidth
from imagestores.measure.timing import SEED, Measurement, ReadMismatch, describe, image_bytes, verify
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
    return f"epoch_w{workers}"


def first_batch_operation(workers: int) -> str:
    """The operation name of the time to the first batch with ``workers`` DataLoader workers."""
    return f"first_batch_w{workers}"


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


def verified_epoch(
    method: Method,
    store_path: Path,
    images: Images,
    labels: np.ndarray,
    order: np.ndarray,
    batch_size: int,
    workers: int,
) -> None:
    """One untimed epoch comparing every image and label of every batch with the source, in order."""
    seen = 0

    def check(position: int, got: Images, got_labels: np.ndarray) -> None:
        nonlocal seen
        verify(method, got, got_labels, images, labels, batch_ids(order, batch_size, position))
        seen += len(got_labels)

    run_epoch(store_path, order, batch_size, workers, check)
    if seen != len(order):
        raise ReadMismatch(
            f"{method.name}: an epoch with {workers} workers read {seen} of {len(order)} images"
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


def time_epochs(
    method: Method,
    store_path: Path,
    images: Images,
    labels: np.ndarray,
    repeats: int,
    batch_size: int,
    workers: Sequence[int],
    caches: Sequence[str] = ("warm", "cold"),
    drop_caches: bool = False,
    floor_bandwidth: float | None = None,
) -> list[Measurement]:
    """Time an epoch with each worker count in ``workers``, from each page-cache state in ``caches``.

    Each worker count has one verified, untimed warm-up epoch (which also brings the store into the page
    cache), then ``repeats`` timed epochs per cache state; a cold one first evicts every file of the store
    and checks the eviction, as the other reads do, and backs the memory it may allocate (``first_touch``).
    Every epoch uses the same seeded order.
    """
    floor = physical_floor_bandwidth() if floor_bandwidth is None else floor_bandwidth
    files = cache.store_files(store_path)
    order = epoch_order(len(images), SEED)
    moved = image_bytes(images, order)
    first_ids = batch_ids(order, batch_size, 0)
    first_moved = image_bytes(images, first_ids)
    results = []
    for count in workers:
        verified_epoch(method, store_path, images, labels, order, batch_size, count)
        for state in caches:
            evict = partial(cache.evict_and_verify, files, drop_caches) if state == "cold" else None
            for repeat in range(repeats):
                first, seconds, eviction = timed_epoch(
                    method, store_path, labels, order, batch_size, count, evict, moved, floor
                )
                results += epoch_rows(
                    count,
                    state,
                    repeat,
                    (seconds, len(order), moved),
                    (first, len(first_ids), first_moved),
                    eviction,
                )
    return results


def epoch_rows(
    workers: int,
    state: str,
    repeat: int,
    epoch: tuple[float, int, int],
    first_batch: tuple[float, int, int],
    eviction: str,
) -> list[Measurement]:
    """The two rows of one timed epoch: ``epoch_w{workers}`` and ``first_batch_w{workers}``, each from its
    (seconds, images, bytes)."""
    return [
        Measurement(operation(workers), state, repeat, *epoch, eviction=eviction),
        Measurement(first_batch_operation(workers), state, repeat, *first_batch, eviction=eviction),
    ]


def timed_epoch(
    method: Method,
    store_path: Path,
    labels: np.ndarray,
    order: np.ndarray,
    batch_size: int,
    workers: int,
    evict: Callable[[], cache.Eviction] | None,
    moved: int,
    floor: float,
) -> tuple[float, float, str]:
    """One timed epoch, after evicting the store when ``evict`` is given: seconds to the first batch and
    to the end, and how the store was made cold (empty for a warm one). Its labels are checked after."""
    eviction = describe(evict()) if evict is not None else ""
    got: list[np.ndarray] = []
    back_for(moved)
    first, seconds = run_epoch(store_path, order, batch_size, workers, partial(keep_labels, got))
    check_labels(method, got, labels, order, batch_size)
    check_physical(seconds, moved, floor)
    return first, seconds, eviction


def timed_cutoffs(cutoffs: Sequence[int], min_images: int) -> list[int]:
    """The cutoffs whose jobs time epochs: those of at least ``min_images`` images, and the largest."""
    return sorted({cutoff for cutoff in cutoffs if cutoff >= min_images} | {max(cutoffs)})


def measure(
    method: Method, store_path: Path, images: Images, labels: np.ndarray, settings: Mapping
) -> list[Measurement]:
    """The epoch rows of one measure job (``settings``: the config's ``loader``, ``repeats``, ``caches``,
    ``drop_caches``); none when ``loader["timed"]`` is false (a cutoff not in ``timed_cutoffs``), and none,
    with the reason in the log, when torch is not installed."""
    loader = settings["loader"]
    if not loader.get("timed", True):
        log.info(
            "no epochs at %d images: fewer than loader.min_images and not the largest cutoff", len(images)
        )
        return []
    reason = unavailable()
    if reason:
        log.warning("epoch operation of %s skipped: %s", method.name, reason)
        return []
    log.info(
        "timing epochs of %s in batches of %d with %s DataLoader workers",
        method.name,
        loader["batch_size"],
        ", ".join(map(str, loader["workers"])),
    )
    return time_epochs(
        method,
        store_path,
        images,
        labels,
        settings["repeats"],
        loader["batch_size"],
        loader["workers"],
        settings["caches"],
        settings["drop_caches"],
    )
