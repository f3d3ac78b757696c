"""Head to head: every method's store of the largest size timed in one job, the repeats interleaved.

Each method's own measure job runs at its own time, and the machine changes between jobs: the page cache
grows, fresh memory is first touched, other work comes and goes. A/A twins (one method under two names)
measured in jobs of their own came out 1.2-2.4x apart while the repeats inside each job agreed within 10%:
repeats inside one job cannot see what differs between jobs, so a verdict made from them trusts noise.

Here every case takes its samples in rounds: each round times one sample of every method, in a seeded
shuffled order (A B C, C A B, ...), so drift and passing load fall on all methods alike, and what still
differs is the methods. Rounds go on while any method lacks its repeats or steady spread (up to the
bound), sampling only those methods. The verdicts, the A/A check and the overview
figure are made from this job's timings; the per-method jobs give every size, peak memory, disk usage and
integrity. Every read is verified as in the measure jobs.
"""

from __future__ import annotations

import itertools
import logging
import shutil
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from imagestores.data.prepared import load_prepared
from imagestores.loading import epoch_order
from imagestores.measure import cache, epoch, jobs, timing
from imagestores.measure.floor import physical_floor_bandwidth
from imagestores.measure.timing import Measurement, Repeats
from imagestores.report import stats
from imagestores.stores import Method, MethodSpec, UnsupportedInput, resolve
from imagestores.stores.base import Images

log = logging.getLogger(__name__)

STORES_DIR = "head_to_head"
"""Under ``stores.root``: this job's stores, removed when it ends (the measure jobs keep their own)."""

Samples = dict[str, tuple[int, list[float]]]
"""Per method: calls per sample, and the samples (seconds per call)."""


@dataclass(frozen=True)
class Contest:
    """Which methods the verdicts rank (A/A twins are not), by what rules (``stats.VerdictRules``), and
    each twin's original (``twins``): a twin is sampled whenever its original is, so the A/A check
    compares samples taken alike."""

    ranked: frozenset[str]
    rules: stats.VerdictRules = stats.DEFAULT_RULES
    twins: Mapping[str, str] = field(default_factory=dict)

    def with_twins(self, names: Sequence[str]) -> list[str]:
        """``names`` and the twins of any of them."""
        return [*names, *(twin for twin, original in self.twins.items() if original in names)]

    def undecided(self, samples: Mapping[str, Sequence[float]]) -> tuple[str, str] | None:
        """The fastest ranked method and its runner-up when the interval of their ratio straddles the
        verdicts' ``min_ratio``, so that more samples could still change "tie" into "faster"; else None."""
        ranked = sorted((float(np.median(samples[name])), name) for name in self.ranked if samples.get(name))
        if len(ranked) < 2:
            return None
        (_, fast), (_, slow) = ranked[:2]
        low, high = stats.ratio_interval(
            np.asarray(samples[fast]), np.asarray(samples[slow]), self.rules.confidence
        )
        return (fast, slow) if low <= self.rules.min_ratio < high else None


def interleaved(
    calls: Mapping[str, Callable[[], float]],
    policy: Repeats,
    rng: np.random.Generator,
    between_rounds: Callable[[], None] | None = None,
    case: str = "a case",
    contest: Contest | None = None,
) -> Samples:
    """Sample every call of ``calls`` in rounds, one sample each per round in a shuffled order.

    Each call is first calibrated alone (``timing.calibrate``: its batch size, and a warm-up), in a
    shuffled order too, so no method is always the one warmed up last. A round samples every method whose
    samples are still too few or too spread (``policy``): once the repeats are in, a steady method stops,
    and only the spread ones go on to the bound. Giving every method the rounds of the noisiest made one
    100,000-image run sample every method to the bound, twice as long.
    ``between_rounds`` runs untimed after the calibration and after every round. The log says when
    ``case`` is done, and how long it took: a case of slow methods can take minutes.

    With a ``contest``, rounds of the fastest method and its runner-up go on, up to the bound, while the
    interval of their ratio straddles the verdicts' threshold: two runs called such cases "faster" in one
    run and a tie in the other (``benchmarks/verdict_stability.py``), and more samples narrow it. Their
    A/A twins go on with them: sampled alone, in shorter rounds, a method ran faster than its twin, and
    the A/A check told identical code apart (1.9x).
    """
    started = time.perf_counter()
    names = list(calls)
    loops = {}
    for position in rng.permutation(len(names)):
        loops[names[position]] = timing.calibrate(calls[names[position]], policy.min_sample_seconds)
    samples: dict[str, list[float]] = {name: [] for name in names}

    def round_of(due: Sequence[str]) -> None:
        for position in rng.permutation(len(due)):
            name = due[position]
            samples[name].append(sum(calls[name]() for _ in range(loops[name])) / loops[name])
        if between_rounds:
            between_rounds()

    if between_rounds:
        between_rounds()
    while due := [name for name in names if policy.unsteady(samples[name])]:
        round_of(due)
    while contest and (pair := contest.undecided(samples)):
        if not (due := [name for name in pair if len(samples[name]) < policy.bound]):
            break
        round_of([name for name in contest.with_twins(due) if name in calls])
    fewest, most = min(map(len, samples.values()), default=0), max(map(len, samples.values()), default=0)
    counts = str(fewest) if fewest == most else f"{fewest} to {most}"
    elapsed = time.perf_counter() - started
    log.info("%s: %s samples of each of %d methods in %.0f s", case, counts, len(names), elapsed)
    return {name: (loops[name], samples[name]) for name in names}


def numbered(folder: Path) -> Iterator[Path]:
    """``folder/0``, ``folder/1``, ...: where the successive timed writes of one method go."""
    return (folder / str(call) for call in itertools.count())


def remove_written(written: Mapping[str, list[Path]]) -> None:
    """Remove every store the timed writes left, so a round's stores never pile up on disk."""
    for paths in written.values():
        for path in paths:
            shutil.rmtree(path, ignore_errors=True)
        paths.clear()


def time_writes(
    methods: Mapping[str, Method],
    images: Images,
    labels: np.ndarray,
    root: Path,
    policy: Repeats,
    rng: np.random.Generator,
    contest: Contest | None = None,
) -> dict[str, list[Measurement]]:
    """``store_many`` and ``store_one`` of every method, interleaved; each write makes a new store."""
    rows: dict[str, list[Measurement]] = {name: [] for name in methods}
    for operation, chosen in timing.write_cases(len(images)).items():
        subset, subset_labels = images[chosen], labels[chosen]
        moved = timing.image_bytes(images, range(chosen.start, chosen.stop))
        written: dict[str, list[Path]] = {name: [] for name in methods}
        calls = {}
        for name, method in methods.items():
            scratch = timing.fresh(root / name / operation)
            scratch.mkdir(parents=True)
            method.store(scratch / "warmup").write(subset[:1], subset_labels[:1])
            paths = numbered(scratch)
            calls[name] = partial(
                timing.timed_write, method, paths, written[name], subset, subset_labels, moved
            )
        samples = interleaved(calls, policy, rng, partial(remove_written, written), operation, contest)
        for name, (loops, seconds) in samples.items():
            rows[name] += [
                Measurement(operation, "none", repeat, value, len(subset), moved, loops)
                for repeat, value in enumerate(seconds)
            ]
            shutil.rmtree(root / name / operation)
    return rows


def time_reads(
    methods: Mapping[str, Method],
    stores: Mapping[str, Path],
    images: Images,
    labels: np.ndarray,
    settings: Mapping[str, Any],
    policy: Repeats,
    rng: np.random.Generator,
    contest: Contest | None = None,
) -> dict[str, list[Measurement]]:
    """Every read case of every method from each page-cache state, interleaved, verified."""
    floor = physical_floor_bandwidth()
    files = {name: cache.store_files(stores[name]) for name in methods}
    rows: dict[str, list[Measurement]] = {name: [] for name in methods}
    where = jobs.filter_of(settings)
    cases = timing.timed_read_cases(images, labels, settings["random_reads"], where)
    for operation, indices in cases.items():
        moved = timing.image_bytes(images, indices)
        reads = {
            name: timing.operation_run(
                method, operation, images, labels, stores[name], settings["random_reads"], where
            )
            for name, method in methods.items()
        }
        for position in rng.permutation(len(reads)):  # warm-ups: each verifies its store
            list(reads.values())[position]()
        for state in settings["caches"]:
            evictions: dict[str, list[str]] = {name: [] for name in methods}
            calls = {
                name: partial(
                    timing.timed_read,
                    reads[name],
                    partial(cache.evict_and_verify, files[name], settings["drop_caches"])
                    if state == "cold"
                    else None,
                    evictions[name],
                    moved,
                    floor,
                )
                for name in methods
            }
            samples = interleaved(calls, policy, rng, case=f"{operation}, {state}", contest=contest)
            for name, (loops, seconds) in samples.items():
                eviction = timing.case_eviction(evictions[name])
                rows[name] += [
                    Measurement(operation, state, repeat, value, len(indices), moved, loops, eviction)
                    for repeat, value in enumerate(seconds)
                ]
    return rows


def epoch_sample(
    timed: Callable[[], tuple[float, float, str]], firsts: list[float], evictions: list[str]
) -> float:
    """One timed epoch (``epoch.timed_epoch``): its seconds; the first batch's and the eviction noted."""
    first, seconds, eviction = timed()
    firsts.append(first)
    evictions.append(eviction)
    return seconds


def time_epochs(
    methods: Mapping[str, Method],
    stores: Mapping[str, Path],
    images: Images,
    labels: np.ndarray,
    settings: Mapping[str, Any],
    rng: np.random.Generator,
    contest: Contest | None = None,
) -> dict[str, list[Measurement]]:
    """The epoch of every method with each worker count and page-cache state, interleaved.

    As in the measure jobs, epochs take ``repeats`` samples of one epoch each after a verified epoch.
    """
    rows: dict[str, list[Measurement]] = {name: [] for name in methods}
    if reason := epoch.unavailable():
        log.warning("epoch operation skipped: %s", reason)
        return rows
    floor = physical_floor_bandwidth()
    batch_size = settings["loader"]["batch_size"]
    order = epoch_order(len(images), timing.SEED)
    moved = timing.image_bytes(images, order)
    first_ids = epoch.batch_ids(order, batch_size, 0)
    first_moved = timing.image_bytes(images, first_ids)
    files = {name: cache.store_files(stores[name]) for name in methods}
    policy = Repeats(settings["repeats"])
    for workers in settings["loader"]["workers"]:
        for name, method in methods.items():
            epoch.verified_epoch(method, stores[name], images, labels, order, batch_size, workers)
        for state in settings["caches"]:
            firsts: dict[str, list[float]] = {name: [] for name in methods}
            evictions: dict[str, list[str]] = {name: [] for name in methods}
            calls = {}
            for name, method in methods.items():
                evict = (
                    partial(cache.evict_and_verify, files[name], settings["drop_caches"])
                    if state == "cold"
                    else None
                )
                timed = partial(
                    epoch.timed_epoch,
                    method,
                    stores[name],
                    labels,
                    order,
                    batch_size,
                    workers,
                    evict,
                    moved,
                    floor,
                )
                calls[name] = partial(epoch_sample, timed, firsts[name], evictions[name])
            case = f"epoch with {workers} workers, {state}"
            for name, (_, seconds) in interleaved(calls, policy, rng, case=case, contest=contest).items():
                eviction = timing.case_eviction(evictions[name])
                # The calibration's epoch comes first: the samples' first batches are the last ones.
                first_seconds = firsts[name][-len(seconds) :]
                for repeat, (value, first) in enumerate(zip(seconds, first_seconds, strict=True)):
                    rows[name] += epoch.epoch_rows(
                        workers,
                        state,
                        repeat,
                        (value, len(order), moved),
                        (first, len(first_ids), first_moved),
                        eviction,
                    )
    return rows


def check_free_space(root: Path, images: Images, methods: int) -> None:
    """Refuse to start when ``root`` cannot hold two stores per method (the one read, one round's write)."""
    what = f"comparing {methods} methods head to head on {len(images):,} images"
    jobs.require_free_space(root, 2 * methods * jobs.store_bound(images), what)


def head_to_head_job(
    methods: Sequence[MethodSpec],
    data_dir: Path,
    cutoff: int,
    settings: Mapping[str, Any],
    out: Path,
    rules: stats.VerdictRules = stats.DEFAULT_RULES,
    twins: Mapping[str, str] | None = None,
) -> None:
    """Time every method of ``methods`` (A/A twins included) on ``cutoff`` images in this one job,
    interleaved (see the module), and write their rows to ``out`` in the columns of ``timings.csv``.

    ``settings`` are the measure jobs' (``jobs.measure_job``). A method that cannot hold the data is left
    out, as its measure job says. Each method's store is built once, untimed, under ``stores.root``/
    ``head_to_head`` and removed at the end. A case whose leading pair of ranked methods is undecided
    under the verdicts' ``rules`` gets more rounds of that pair and its twins (``Contest``); ``twins``
    maps each A/A twin's name to its original's, and twins are not ranked.
    """
    data = load_prepared(data_dir, cutoff)
    images, labels = data.images, data.labels
    root = jobs.store_root(settings["stores"]["root"]) / STORES_DIR
    contenders: dict[str, Method] = {}
    for spec in methods:
        method = resolve(spec)
        try:
            method.store(root / method.name).check(images)
        except UnsupportedInput as reason:
            log.warning("%s cannot hold this data, left out: %s", method.name, reason)
            continue
        contenders[method.name] = method
    if not contenders:  # the measure jobs of smaller cutoffs may still time some: not the run's end
        log.warning("no method can hold these %d images: nothing to time head to head", cutoff)
        pd.DataFrame(columns=jobs.TIMING_COLUMNS).to_csv(out, index=False)
        return
    policy = Repeats(settings["repeats"], **settings.get("timing", {}))
    check_free_space(root, images, len(contenders))
    timing.fresh(root)
    stores = {name: root / name / "store" for name in contenders}
    rng = np.random.default_rng(timing.SEED)
    for position in rng.permutation(len(contenders)):  # built in a shuffled order: none always last
        name = list(contenders)[position]
        stores[name].parent.mkdir(parents=True)
        contenders[name].store(stores[name]).write(images, labels)
    log.info("timing %s on %d images, interleaved, %s", ", ".join(contenders), cutoff, policy)
    twins = twins or {}
    contest = Contest(frozenset(contenders) - set(twins), rules, twins)
    parts = [time_writes(contenders, images, labels, root, policy, rng, contest)]
    parts.append(time_reads(contenders, stores, images, labels, settings, policy, rng, contest))
    parts.append(time_epochs(contenders, stores, images, labels, settings, rng, contest))
    shutil.rmtree(root)
    frames = [
        jobs.timing_frame([row for part in parts for row in part[name]], name, cutoff, data.source)
        for name in contenders
    ]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=jobs.TIMING_COLUMNS)
    table.to_csv(out, index=False)
