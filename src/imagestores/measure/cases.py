"""Every timed case of a set of methods on one set of images: writes, reads and epochs, raced.

One code path times a measure job (one method at one cutoff) and the head-to-head job (every method at
the largest cutoff): each operation and page-cache state is one race (``measure.sampling``), its methods
sampled in rounds in a shuffled order. Each method's store is built first, untimed, in a shuffled order:
that write is ``store_many``'s warm-up, and the store is the one every read and epoch is timed on. A read
case's verified warm-up read, and each worker count's verified epoch, are theirs; only cases whose
warm-up was too short to size a sample are calibrated again. Every read is verified, as ``timing`` says.
"""

from __future__ import annotations

import itertools
import logging
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from imagestores.loading import epoch_order
from imagestores.measure import cache, epoch, timing
from imagestores.measure.floor import physical_floor_bandwidth
from imagestores.measure.sampling import Entry, Sampling, loops_for, race
from imagestores.measure.timing import Measurement, Stopwatch
from imagestores.stores import Method
from imagestores.stores.base import Images
from imagestores.stores.where import Where

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plan:
    """What the cases of one run are timed on and with: the images, where stores go, the settings.

    ``settings`` are the measure settings of the config (``random_reads``, ``caches``, ``drop_caches``,
    ``loader`` with ``timed``, ``filter``); ``twins`` maps each A/A twin to its original.
    """

    images: Images
    labels: np.ndarray
    root: Path
    settings: Mapping[str, Any]
    sampling: Sampling
    twins: Mapping[str, str]
    where: Where | None = None


def numbered(folder: Path, name: str) -> Iterator[Path]:
    """``folder/name.0``, ``folder/name.1``, ...: where the successive timed writes of one method go.

    Every method of a case writes into the one ``folder``, so none writes where the file system placed
    another's directory: A/A twins writing into folders of their own came out 2x apart on ``store_one``
    in every round of one run (2026-12-05, 100,000 images), one pair each way; the cause is not known
    (a rerun of those writes alone did not repeat it, with either layout).
    """
    return (folder / f"{name}.{call}" for call in itertools.count())


def remove_written(written: Mapping[str, list[Path]]) -> None:
    """Remove every store the timed writes left, so a round's stores never pile up on disk."""
    for paths in written.values():
        for path in paths:
            shutil.rmtree(path, ignore_errors=True)
        paths.clear()


def rows_of(
    operation: str, state: str, entry: Entry, images: int, moved: int, eviction: str = ""
) -> list[Measurement]:
    """One row per sample of ``entry``, each with the reason its case stopped."""
    return [
        Measurement(operation, state, repeat, seconds, images, moved, entry.loops, eviction, entry.stopped)
        for repeat, seconds in enumerate(entry.samples)
    ]


def build_stores(methods: Mapping[str, Method], plan: Plan, rng: np.random.Generator) -> dict[str, float]:
    """Write each method's store of all images under ``plan.root``/name/store, in a shuffled order, after
    an untimed write of one image; return the seconds each full write took (``store_many``'s warm-up)."""
    seconds = {}
    for position in rng.permutation(len(methods)):
        name = list(methods)[position]
        folder = plan.root / name
        folder.mkdir(parents=True)
        methods[name].store(folder / "warmup").write(plan.images[:1], plan.labels[:1])
        shutil.rmtree(folder / "warmup")
        store = methods[name].store(folder / "store")
        watch = Stopwatch()
        with watch.running():
            store.write(plan.images, plan.labels)
        seconds[name] = watch.seconds
    return seconds


def time_writes(
    methods: Mapping[str, Method], plan: Plan, rng: np.random.Generator, built: Mapping[str, float]
) -> dict[str, list[Measurement]]:
    """``store_many`` and ``store_one`` of every method, raced; each timed write makes a new store.

    ``built`` (seconds of each store's untimed build) sizes ``store_many``'s samples: the build was its
    warm-up. ``store_one`` is calibrated, its calibration its warm-up.
    """
    rows: dict[str, list[Measurement]] = {name: [] for name in methods}
    min_sample = plan.sampling.min_sample_seconds
    for operation, chosen in timing.write_cases(len(plan.images)).items():
        subset, subset_labels = plan.images[chosen], plan.labels[chosen]
        moved = timing.image_bytes(plan.images, range(chosen.start, chosen.stop))
        written: dict[str, list[Path]] = {name: [] for name in methods}
        calls, loops = {}, {}
        scratch = plan.root / operation
        scratch.mkdir(parents=True)
        for name, method in methods.items():
            paths = numbered(scratch, name)
            calls[name] = partial(
                timing.timed_write, method, paths, written[name], subset, subset_labels, moved
            )
            if operation == "store_many":
                loops[name] = loops_for(built[name], min_sample, calls[name])
        entries = race(
            calls,
            plan.sampling,
            rng,
            loops=loops,
            twins=plan.twins,
            between_rounds=partial(remove_written, written),
            case=operation,
        )
        for name, entry in entries.items():
            rows[name] += rows_of(operation, "none", entry, len(subset), moved)
        shutil.rmtree(scratch)
    return rows


def time_reads(
    methods: Mapping[str, Method], stores: Mapping[str, Path], plan: Plan, rng: np.random.Generator
) -> dict[str, list[Measurement]]:
    """Every read case of every method from each page-cache state, raced, verified.

    Each case's verified, untimed warm-up read (in a shuffled order) sizes its samples when it lasted long
    enough; a cold call lasts at least as long as a warm one.
    """
    files = {name: cache.store_files(stores[name]) for name in methods}
    rows: dict[str, list[Measurement]] = {name: [] for name in methods}
    random_reads = plan.settings["random_reads"]
    for operation, indices in timing.timed_read_cases(
        plan.images, plan.labels, random_reads, plan.where
    ).items():
        reads = {
            name: timing.operation_run(method, operation, plan, stores[name], random_reads, plan.where)
            for name, method in methods.items()
        }
        warmed = {}
        for position in rng.permutation(len(reads)):
            name = list(reads)[position]
            warmed[name] = reads[name]()
        sized = {name: 1 for name, seconds in warmed.items() if seconds >= plan.sampling.min_sample_seconds}
        for state in plan.settings["caches"]:
            for name, taken in race_reads(
                reads, files, (operation, state, indices), plan, rng, sized
            ).items():
                rows[name] += taken
    return rows


def race_reads(
    reads: Mapping[str, Callable[[], float]],
    files: Mapping[str, Sequence[Path]],
    case: tuple[str, str, np.ndarray],
    plan: Plan,
    rng: np.random.Generator,
    sized: Mapping[str, int],
) -> dict[str, list[Measurement]]:
    """One read case (operation, page-cache state, the ids it reads) of every method, raced: its rows."""
    operation, state, indices = case
    moved = timing.image_bytes(plan.images, indices)
    floor = physical_floor_bandwidth()
    evictions: dict[str, list[str]] = {name: [] for name in reads}
    calls = {
        name: partial(
            timing.timed_read,
            reads[name],
            evictor(files[name], plan.settings["drop_caches"], state),
            evictions[name],
            moved,
            floor,
        )
        for name in reads
    }
    entries = race(calls, plan.sampling, rng, loops=sized, twins=plan.twins, case=f"{operation}, {state}")
    return {
        name: rows_of(operation, state, entry, len(indices), moved, timing.case_eviction(evictions[name]))
        for name, entry in entries.items()
    }


def evictor(files: Sequence[Path], drop_caches: bool, state: str) -> Callable[[], cache.Eviction] | None:
    """What makes a call cold: evicting ``files`` (verified) for a cold read; nothing for a warm one."""
    return partial(cache.evict_and_verify, files, drop_caches) if state == "cold" else None


def epoch_sample(
    timed: Callable[[], tuple[float, float, str]], firsts: list[float], evictions: list[str]
) -> float:
    """One timed epoch (``epoch.timed_epoch``): its seconds; the first batch's and the eviction noted."""
    first, seconds, eviction = timed()
    firsts.append(first)
    evictions.append(eviction)
    return seconds


def time_epochs(
    methods: Mapping[str, Method], stores: Mapping[str, Path], plan: Plan, rng: np.random.Generator
) -> dict[str, list[Measurement]]:
    """The epoch of every method with each worker count and page-cache state, raced.

    Each worker count's verified, untimed epoch of every method is its warm-up; each sample is one epoch.
    """
    batch_size = plan.settings["loader"]["batch_size"]
    order = epoch_order(len(plan.images), timing.SEED)
    files = {name: cache.store_files(stores[name]) for name in methods}
    rows: dict[str, list[Measurement]] = {name: [] for name in methods}
    for workers in plan.settings["loader"]["workers"]:
        epochs = {
            name: epoch.Epoch(method, stores[name], order, batch_size, workers)
            for name, method in methods.items()
        }
        for name in methods:
            epoch.verified_epoch(epochs[name], plan.images, plan.labels)
        for state in plan.settings["caches"]:
            for name, taken in race_epochs(epochs, files, state, plan, rng).items():
                rows[name] += taken
    return rows


def race_epochs(
    epochs: Mapping[str, epoch.Epoch],
    files: Mapping[str, Sequence[Path]],
    state: str,
    plan: Plan,
    rng: np.random.Generator,
) -> dict[str, list[Measurement]]:
    """The epochs of every method from one page-cache state, raced: their rows, the epoch's and its first
    batch's."""
    some = next(iter(epochs.values()))
    moved = timing.image_bytes(plan.images, some.order)
    first_ids = some.batch(0)
    first_moved = timing.image_bytes(plan.images, first_ids)
    floor = physical_floor_bandwidth()
    firsts: dict[str, list[float]] = {name: [] for name in epochs}
    evictions: dict[str, list[str]] = {name: [] for name in epochs}
    calls = {}
    for name, one in epochs.items():
        evict = evictor(files[name], plan.settings["drop_caches"], state)
        timed = partial(epoch.timed_epoch, one, plan.labels, evict, moved, floor)
        calls[name] = partial(epoch_sample, timed, firsts[name], evictions[name])
    case = f"epoch with {some.workers} workers, {state}"
    entries = race(calls, plan.sampling, rng, loops=dict.fromkeys(calls, 1), twins=plan.twins, case=case)
    rows: dict[str, list[Measurement]] = {}
    for name, entry in entries.items():
        eviction = timing.case_eviction(evictions[name])
        first = Entry(1, firsts[name], entry.stopped)
        rows[name] = rows_of(epoch.operation(some.workers), state, entry, len(some.order), moved, eviction)
        rows[name] += rows_of(
            epoch.first_batch_operation(some.workers), state, first, len(first_ids), first_moved, eviction
        )
    return rows


def time_methods(
    methods: Mapping[str, Method], plan: Plan, rng: np.random.Generator
) -> tuple[dict[str, list[Measurement]], dict[str, Path]]:
    """Build every method's store under ``plan.root`` and time every case on it (see the module); return
    each method's rows and the path of its store, which the caller keeps or removes.

    Epochs are timed when ``plan.settings["loader"]["timed"]`` (the default) and torch is installed; else
    the log says why not.
    """
    stores = {name: plan.root / name / "store" for name in methods}
    built = build_stores(methods, plan, rng)
    log.info(
        "timing %s on %d images, %s",
        ", ".join(methods),
        len(plan.images),
        plan.sampling,
    )
    parts = [time_writes(methods, plan, rng, built), time_reads(methods, stores, plan, rng)]
    loader = plan.settings["loader"]
    if not loader.get("timed", True):
        log.info("no epochs at %d images: below loader.min_images", len(plan.images))
    elif reason := epoch.unavailable():
        log.warning("epoch operation skipped: %s", reason)
    else:
        parts.append(time_epochs(methods, stores, plan, rng))
    rows = {name: [row for part in parts for row in part[name]] for name in methods}
    return rows, stores
