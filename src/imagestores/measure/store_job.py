"""The ``measure`` job: write, read and measure one method's store of one size, all in one job.

Stores that cannot hold the data are not crashed on: the job's timing table is then empty and its
disk-usage row carries the reason as its note. So are methods whose optional library is not installed
(``MissingLibrary``), which ``environment.json`` also lists under ``skipped`` (``measure.environment``).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from imagestores import operations
from imagestores.data.prepared import Prepared, load_prepared
from imagestores.measure import cases, integrity, timing
from imagestores.measure.disk import check_free_space, disk_usage, store_root
from imagestores.measure.memory import FreshProcesses
from imagestores.measure.sampling import Sampling
from imagestores.measure.tables import DISK_COLUMNS, MEMORY_COLUMNS, write_table
from imagestores.stores import MethodSpec, MissingLibrary, UnsupportedInput, name_of, resolve
from imagestores.stores.base import Images, metadata_of
from imagestores.stores.where import Where

log = logging.getLogger(__name__)

PAUSE = "IMAGESTORES_PAUSE_MEASURE"
"""For tests: a file path. A timed measure job that sees it set writes the file once its store is written
and still in ``{cutoff}.partial``, and waits there, so that a test kills the run at a known point rather
than at a moment it polls for (tests/test_resume.py)."""


@dataclass(frozen=True)
class StoreJob:
    """One measure job: ``method``'s store of ``cutoff`` images prepared in ``data_dir``.

    ``settings`` and ``drift`` are those of ``measure_job``.
    """

    method: MethodSpec
    data_dir: Path
    cutoff: int
    settings: Mapping[str, Any]
    drift: Mapping[str, Any] | None = None

    @property
    def timed(self) -> bool:
        """False at the largest cutoff, which the head-to-head job times."""
        return self.settings.get("timed", True)


@dataclass(frozen=True)
class MeasureOutputs:
    """Where a measure job writes: its timed samples, its disk usage row, its peak memory per operation."""

    timings: Path
    disk_usage: Path
    memory: Path

    def write(self, rows: list[timing.Measurement], usage: dict, peaks: Mapping[str, int]) -> None:
        method, cutoff, source = usage["method"], usage["cutoff"], usage["source"]
        write_table(rows, method, cutoff, source, self.timings)
        pd.DataFrame([usage], columns=DISK_COLUMNS).to_csv(self.disk_usage, index=False)
        memory = [
            {"method": method, "cutoff": cutoff, "operation": op, "peak_anon_bytes": peak}
            for op, peak in peaks.items()
        ]
        pd.DataFrame(memory, columns=MEMORY_COLUMNS).to_csv(self.memory, index=False)


def measure_job(
    method: MethodSpec,
    data_dir: Path,
    cutoff: int,
    settings: Mapping[str, Any],
    outputs: MeasureOutputs,
    drift: Mapping[str, Any] | None = None,
) -> None:
    """Write, read and measure one store of ``cutoff`` images, all in this job.

    One job does all so that a store on node-local scratch is read on the node that wrote it. The store
    goes to ``settings["stores"]["root"]`` (environment variables expanded on the node that runs the job)
    and is removed afterwards unless ``settings["stores"]["keep"]``. A leftover of a killed run is removed
    first, never trusted. ``settings`` holds the config's ``timing`` and ``verdicts`` (how many samples,
    ``sampling.Sampling.configured`` with the machine's ``drift``), ``random_reads``, ``caches``,
    ``drop_caches``, ``loader`` (the ``epoch`` operation, ``measure.epoch``; its ``timed`` says whether
    this cutoff times epochs), ``filter`` (the ``read_filtered`` operation's ``stores.where.Where``;
    without it the operation is left out), ``integrity`` (trials of the untimed damage test,
    ``integrity_job``) and ``timed``: false at the largest cutoff, which the head-to-head job times, so
    this job times nothing: its memory run of ``store_many`` builds the store, for disk usage, peak memory
    and the damage test.

    The processes that measure peak memory are forked as the job starts, so it must be the first work of
    a new interpreter, as a Snakemake script job is: forked from a process that had already worked, they
    would reuse its freed memory unseen.
    """
    resolve(method).store_class().unavailable()  # imports the store and its library before the forks
    with FreshProcesses(len(timing.OPERATIONS)) as fresh:
        measure_store(StoreJob(method, data_dir, cutoff, settings, drift), outputs, fresh)


def measure_store(job: StoreJob, outputs: MeasureOutputs, fresh: FreshProcesses) -> None:
    """measure_job's work, with processes forked before it to measure each operation's peak memory."""
    method = resolve(job.method)
    data = load_prepared(job.data_dir, job.cutoff)
    store = store_root(job.settings["stores"]["root"]) / method.name / str(job.cutoff)
    usage = {"method": method.name, "cutoff": job.cutoff, "source": data.source, "note": ""}
    reason = why_skipped(method, store, data.images)
    if reason:
        outputs.write([], usage | {"note": reason}, {})
        return
    log_filter(filter_of(job.settings), data.images, data.labels)
    check_free_space(store.parent, data.images)
    scratch = timing.fresh(store.with_name(f"{store.name}.partial"))
    timing.fresh(store)
    rows = time_store(job, method, data, store, scratch)
    peaks = peak_memory(job, fresh, store, scratch)
    usage |= disk_usage(store)
    usage["integrity"] = integrity_job(job, store, scratch)
    if not job.settings["stores"]["keep"]:
        shutil.rmtree(store)
    outputs.write(rows, usage, peaks)
    log.info("measured %s with %d images", method.name, job.cutoff)  # ends the last phase (run_budget.py)


def why_skipped(method: Any, store: Path, images: Images) -> str:
    """Why ``method`` cannot measure ``images`` here (its library is missing, or it cannot hold them),
    logged; empty when it can."""
    try:
        method.store(store).check(images)
    except UnsupportedInput as reason:
        why = "is not installed here" if isinstance(reason, MissingLibrary) else "cannot hold this data"
        log.warning("%s %s, skipped: %s", method.name, why, reason)
        return str(reason)
    return ""


def time_store(job: StoreJob, method: Any, data: Prepared, store: Path, scratch: Path) -> list:
    """Time every case and keep the store the timing wrote as ``store``; nothing when the job is not
    ``timed`` (the memory run of ``store_many`` then builds the store)."""
    if not job.timed:
        log.info(
            "the head-to-head job times %d images: the memory run of store_many builds the store", job.cutoff
        )
        return []
    rows = time_every_case(method, data.images, data.labels, scratch, job.settings, job.drift)
    pause_if_asked()
    (scratch / method.name / "store").rename(store)
    return rows


def pause_if_asked(longest: float = 600.0) -> None:
    """Wait, up to ``longest`` seconds, to be killed, when ``PAUSE`` names a file (written first)."""
    marker = os.environ.get(PAUSE)
    if not marker:
        return
    Path(marker).write_text(f"{os.getpid()}\n")
    log.warning("paused for a test (%s=%s)", PAUSE, marker)
    deadline = time.monotonic() + longest
    while time.monotonic() < deadline:
        time.sleep(1)


def log_filter(where: Where | None, images: Images, labels: Any) -> None:
    """Say how many images the filter matches: a filter matching none times the search alone."""
    if where is None:
        return
    matching = where.select(labels, metadata_of(images))
    if not len(matching):
        log.warning(
            "the filter %s matches none of %d images: read_filtered times the search alone",
            where,
            len(images),
        )
    else:
        log.info("the filter %s matches %d of %d images", where, len(matching), len(images))


def time_every_case(
    method: Any,
    images: Images,
    labels: Any,
    scratch: Path,
    settings: Mapping[str, Any],
    drift: Mapping[str, Any] | None,
) -> list[timing.Measurement]:
    """Time every case of ``method`` (``cases.time_methods``, a race of one); its store is left in
    ``scratch``/name/store."""
    log.info("timing writes, reads and epochs of %s with %d images", method.name, len(images))
    plan = cases.Plan(
        images, labels, scratch, settings, Sampling.configured(settings, drift), {}, filter_of(settings)
    )
    rows, _ = cases.time_methods({method.name: method}, plan, np.random.default_rng(timing.SEED))
    return rows[method.name]


def peak_memory(job: StoreJob, fresh: FreshProcesses, store: Path, scratch: Path) -> dict[str, int]:
    """Each operation's peak memory, run once in one of the ``fresh`` processes; writes go to ``scratch``,
    reads read ``store``. A job that is not ``timed`` has its run of ``store_many`` write ``store`` itself
    (the first operation), so it writes its store once."""
    log.info("measuring peak memory of every operation of %s, each in a fresh process", name_of(job.method))
    timing.fresh(scratch).mkdir(parents=True)
    writes = timing.write_cases(job.cutoff)

    def written_to(operation: str) -> Path:
        if operation not in writes:
            return store
        return store if not job.timed and operation == "store_many" else scratch / operation

    peaks = {
        operation: fresh.peak(
            f"{__name__}:operation_run", job=job, operation=operation, store=str(written_to(operation))
        )
        for operation in operations.timed(filtered=bool(job.settings.get("filter")), torch=False)
    }
    shutil.rmtree(scratch)
    return peaks


def integrity_job(job: StoreJob, store: Path, scratch: Path) -> str:
    """What reading does when ``trials`` seeded 64-byte flips damage a copy of ``store``, one at a time.

    Untimed, after every timing; the copy goes to ``scratch``. Each trial reads the whole store, so only
    stores of at most ``max_images`` images are tried (the outcome is the format's, not the size's): empty
    otherwise, and when ``trials`` is 0 (both in ``settings["integrity"]``).
    """
    trials = job.settings["integrity"]["trials"]
    if not trials or job.cutoff > job.settings["integrity"]["max_images"]:
        return ""
    log.info("flipping bytes at %d seeded positions in a copy of %s, reading after each", trials, store)
    damages = integrity.flips(store, trials, seed=timing.SEED)
    results = integrity.run_trials(job.method, store, scratch, job.data_dir, job.cutoff, damages)
    for trial in results:
        log.info("  %s: %s %s", trial.damage.describe(), trial.outcome, trial.detail)
    return integrity.verdict(results)


def operation_run(job: StoreJob, operation: str, store: str) -> Callable[[], object]:
    """Set up one operation of measure_job on the prepared data, for a fresh process to measure."""
    data = load_prepared(Path(job.data_dir), job.cutoff)
    return timing.operation_run(
        resolve(job.method),
        operation,
        data,
        Path(store),
        job.settings["random_reads"],
        filter_of(job.settings),
    )


def filter_of(settings: Mapping[str, Any]) -> Where | None:
    """The config's ``filter`` (column and value) as a ``Where``; None when there is none."""
    configured = settings.get("filter")
    return None if not configured else Where(**configured)
