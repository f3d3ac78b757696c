"""The jobs of the measure stage, one function each; ``workflow/scripts/`` only pass Snakemake's paths in.

Stores that cannot hold the data are not crashed on: the job's timing table is then empty and its
disk-usage row carries the reason as its note. So are methods whose optional library is not installed
(``MissingLibrary``), which ``environment.json`` also lists under ``skipped``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from importlib.metadata import requires
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from imagestores import operations
from imagestores.data.prepared import load_prepared
from imagestores.measure import cases, epoch, integrity, timing
from imagestores.measure.first_touch import first_touch_cost
from imagestores.measure.machine import environment_record
from imagestores.measure.memory import FreshProcesses
from imagestores.measure.sampling import Sampling
from imagestores.stores import MethodSpec, MissingLibrary, UnsupportedInput, name_of, resolve
from imagestores.stores.base import PACKAGE_FILES, Images, image_sizes, metadata_of
from imagestores.stores.where import Where

log = logging.getLogger(__name__)

MEASUREMENT_COLUMNS = [field.name for field in fields(timing.Measurement)]
TIMING_COLUMNS = [
    "method",
    "cutoff",
    *MEASUREMENT_COLUMNS[: MEASUREMENT_COLUMNS.index("eviction")],
    "peak_anon_bytes",
    "eviction",
    "stopped",
    "source",
    "host",
]
MEMORY_COLUMNS = ["method", "cutoff", "operation", "peak_anon_bytes"]
"""``results/memory/``: each operation's peak memory, run once in a fresh process (``measure.memory``)."""
DISK_COLUMNS = [
    "method",
    "cutoff",
    "allocated_bytes",
    "apparent_bytes",
    "files",
    "source",
    "note",
    "integrity",
]
"""``integrity``: what reading did after bytes were flipped in a copy of the store (``integrity.verdict``)."""


def write_table(rows: list[timing.Measurement], method: str, cutoff: int, source: str, out: Path) -> None:
    """One row per timed sample, with the data source and the host it ran on; the operation's peak memory
    is joined in when the tables are gathered (``report.gather``)."""
    timing_frame(rows, method, cutoff, source).to_csv(out, index=False)


def timing_frame(rows: list[timing.Measurement], method: str, cutoff: int, source: str) -> pd.DataFrame:
    """The rows of ``write_table`` as a frame of ``TIMING_COLUMNS``."""
    frame = pd.DataFrame([asdict(row) for row in rows], columns=MEASUREMENT_COLUMNS)
    frame.insert(0, "method", method)
    frame.insert(1, "cutoff", cutoff)
    frame["peak_anon_bytes"] = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    frame["source"] = source
    frame["host"] = socket.gethostname()
    return frame[TIMING_COLUMNS]


def disk_usage(store: Path) -> dict[str, int]:
    """Allocated bytes (``du -sk``), apparent bytes (``du -sb --apparent-size``) and files of a store.

    The completion marker and shapes (``stores.base.PACKAGE_FILES``) are this package's, not the format's:
    left out.
    """
    return {
        "allocated_bytes": du_bytes(store, "-k") * 1024,
        "apparent_bytes": du_bytes(store, "-b", "--apparent-size"),
        "files": sum(len(set(files) - set(PACKAGE_FILES)) for _, _, files in os.walk(store)),
    }


def du_bytes(path: Path, *options: str) -> int:
    """Bytes that GNU ``du`` reports for ``path`` with ``options``."""
    command = ["du", "-s", *(f"--exclude={name}" for name in PACKAGE_FILES), *options, str(path)]
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    return int(result.stdout.split()[0])


def store_root(configured: str) -> Path:
    """``stores.root`` with environment variables expanded on this node; an unset one is an error.

    Left unexpanded, ``$TMPDIR`` would quietly become a directory of that name under the working directory.
    """
    expanded = os.path.expandvars(configured)
    unset = re.findall(r"\$\{?(\w+)", expanded)
    if unset:
        raise OSError(
            f"stores.root is {configured!r}, but {', '.join(unset)} is not set on {socket.gethostname()}; "
            "set it, or choose a path without it"
        )
    return Path(expanded)


def store_bound(images: Images) -> int:
    """Most bytes one store of ``images`` takes: the raw pixels plus a 4 KiB block per image."""
    return int(image_sizes(images).sum()) + 4096 * len(images)


def check_free_space(root: Path, images: Images) -> None:
    """Refuse to start when ``root`` cannot hold the stores of one measure job, naming what is needed.

    The store read, one round's timed write, the store a rerun replaces and the memory run's write exist
    at once; each is bounded by ``store_bound`` (a file per image).
    """
    require_free_space(root, 4 * store_bound(images), f"a store of {len(images):,} images")


def require_free_space(root: Path, needed: int, what: str, or_else: str = "") -> None:
    """Raise OSError naming ``what`` needs ``needed`` bytes when ``root``'s file system has fewer free;
    ``or_else`` is a fix beside freeing space and moving ``stores.root``."""
    root.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(root).free
    if needed > free:
        raise OSError(
            f"{root} has {free / 2**30:.1f} GiB free, but {what} may need up to {needed / 2**30:.1f} GiB; "
            f"free space, {or_else}or set `stores.root` to a larger file system"
        )


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
        measure_store(method, data_dir, cutoff, settings, outputs, fresh, drift)


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


def measure_store(
    spec: MethodSpec,
    data_dir: Path,
    cutoff: int,
    settings: Mapping[str, Any],
    outputs: MeasureOutputs,
    fresh: FreshProcesses,
    drift: Mapping[str, Any] | None = None,
) -> None:
    """measure_job's work, with processes forked before it to measure each operation's peak memory."""
    method = resolve(spec)
    data = load_prepared(data_dir, cutoff)
    images, labels, source = data.images, data.labels, data.source
    root = store_root(settings["stores"]["root"]) / method.name
    store = root / str(cutoff)
    usage = {"method": method.name, "cutoff": cutoff, "source": source, "note": ""}
    try:
        method.store(store).check(images)
    except UnsupportedInput as reason:
        why = "is not installed here" if isinstance(reason, MissingLibrary) else "cannot hold this data"
        log.warning("%s %s, skipped: %s", method.name, why, reason)
        outputs.write([], usage | {"note": str(reason)}, {})
        return
    where = filter_of(settings)
    log_filter(where, images, labels)
    check_free_space(root, images)
    scratch = timing.fresh(store.with_name(f"{store.name}.partial"))
    timing.fresh(store)
    timed = settings.get("timed", True)
    rows = time_every_case(method, images, labels, scratch, settings, drift) if timed else []
    if timed:
        (scratch / method.name / "store").rename(store)
    else:
        log.info(
            "the head-to-head job times %d images: the memory run of store_many builds the store", cutoff
        )
    peaks = peak_memory(spec, fresh, data_dir, cutoff, settings, store, scratch, build=not timed)
    usage |= disk_usage(store)
    usage["integrity"] = integrity_job(spec, store, data_dir, cutoff, settings["integrity"], scratch)
    if not settings["stores"]["keep"]:
        shutil.rmtree(store)
    outputs.write(rows, usage, peaks)
    log.info("measured %s with %d images", method.name, cutoff)  # ends the last phase (run_budget.py)


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


def peak_memory(
    spec: MethodSpec,
    fresh: FreshProcesses,
    data_dir: Path,
    cutoff: int,
    settings: Mapping[str, Any],
    store: Path,
    scratch: Path,
    build: bool = False,
) -> dict[str, int]:
    """Each operation's peak memory, run once in one of the ``fresh`` processes; writes go to ``scratch``,
    reads read ``store``. With ``build``, the run of ``store_many`` writes ``store`` itself (the first
    operation), so a job that times nothing writes its store once."""
    log.info("measuring peak memory of every operation of %s, each in a fresh process", name_of(spec))
    timing.fresh(scratch).mkdir(parents=True)
    writes = timing.write_cases(cutoff)
    peaks = {
        operation: fresh.peak(
            f"{__name__}:operation_run",
            method=spec,
            data_dir=str(data_dir),
            cutoff=cutoff,
            operation=operation,
            store=str(store if build and operation == "store_many" else scratch / operation)
            if operation in writes
            else str(store),
            random_reads=settings["random_reads"],
            where=settings.get("filter"),
        )
        for operation in operations.timed(filtered=bool(settings.get("filter")), torch=False)
    }
    shutil.rmtree(scratch)
    return peaks


def integrity_job(
    method: MethodSpec, store: Path, data_dir: Path, cutoff: int, settings: Mapping[str, int], scratch: Path
) -> str:
    """What reading does when ``trials`` seeded 64-byte flips damage a copy of ``store``, one at a time.

    Untimed, after every timing; the copy goes to ``scratch``. Each trial reads the whole store, so only
    stores of at most ``max_images`` images are tried (the outcome is the format's, not the size's): empty
    otherwise, and when ``trials`` is 0.
    """
    trials = settings["trials"]
    if not trials or cutoff > settings["max_images"]:
        return ""
    log.info("flipping bytes at %d seeded positions in a copy of %s, reading after each", trials, store)
    damages = integrity.flips(store, trials, seed=timing.SEED)
    results = integrity.run_trials(method, store, scratch, data_dir, cutoff, damages)
    for trial in results:
        log.info("  %s: %s %s", trial.damage.describe(), trial.outcome, trial.detail)
    return integrity.verdict(results)


def operation_run(
    method: MethodSpec,
    data_dir: str,
    cutoff: int,
    operation: str,
    store: str,
    random_reads: int,
    where: Mapping[str, Any] | None = None,
) -> Callable[[], object]:
    """Set up one operation of measure_job on the prepared data, for a fresh process to measure."""
    data = load_prepared(Path(data_dir), cutoff)
    return timing.operation_run(
        resolve(method),
        operation,
        data.images,
        data.labels,
        Path(store),
        random_reads,
        filter_of({"filter": where}),
    )


def filter_of(settings: Mapping[str, Any]) -> Where | None:
    """The config's ``filter`` (column and value) as a ``Where``; None when there is none."""
    configured = settings.get("filter")
    return None if not configured else Where(**configured)


OUTSIDE_EXTRAS = ("mosaicml-streaming",)
"""Libraries installed beside the extras (README, Training loops), whose versions are recorded too."""


def environment_job(results_dir: Path, config: dict, drift: Path, out: Path) -> None:
    """The machine record: hardware, file system of the results, software versions, commit, config hash,
    under ``skipped`` what could not be measured here and why (the epoch without torch, a method without
    its library), the cost of fresh memory (``memory_first_touch``) and how far the machine's own speed
    drifts (``machine_drift``: the ``machine_drift`` job's record, ``drift``)."""
    required = (re.split(r"[=<>!~ ;\[]", spec)[0] for spec in requires("imagestores") or [])
    record = environment_record(Path(results_dir), config, ["imagestores", *required, *OUTSIDE_EXTRAS])
    skipped = {"epoch": epoch.unavailable()} | {
        method.name: method.unavailable for method in map(resolve, config["methods"])
    }
    record["skipped"] = {what: reason for what, reason in skipped.items() if reason}
    record["memory_first_touch"] = first_touch_cost()
    record["machine_drift"] = json.loads(Path(drift).read_text())
    Path(out).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


def paper_job(method: MethodSpec, data_dir: Path, cutoff: int, root: str, out: Path) -> None:
    """Time one of the study's methods the study's way (see timing.time_paper), for the comparison."""
    method = resolve(method)
    data = load_prepared(data_dir, cutoff)
    scratch = store_root(root) / method.name / f"{cutoff}.paper"
    try:
        rows = timing.time_paper(method, data.images, data.labels, scratch)
    except UnsupportedInput as reason:
        log.warning("%s cannot hold this data, not timed the study's way: %s", method.name, reason)
        rows = []
    write_table(rows, method.name, cutoff, data.source, out)


DESCRIPTION_COLUMNS = ["method", "base", "family", "lossy", "holds", "options", "summary"]


def describe_methods(specs: Sequence[MethodSpec], out: Path) -> None:
    """``methods.csv``: every configured method, variants included, as the report needs to know it."""
    rows = [resolve(spec).describe() for spec in specs]
    pd.DataFrame(rows, columns=DESCRIPTION_COLUMNS).to_csv(out, index=False)
