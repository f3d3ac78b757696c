"""The jobs of the measure stage, one function each; ``workflow/scripts/`` only pass Snakemake's paths in.

Stores that cannot hold the data are not crashed on: the job's timing table is then empty and its
disk-usage row carries the reason as its note.
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
from dataclasses import asdict, fields
from importlib.metadata import requires
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from imagestores.measure import timing
from imagestores.measure.machine import environment_record
from imagestores.measure.memory import peak_in_fresh_process
from imagestores.stores import MethodSpec, UnsupportedInput, resolve

log = logging.getLogger(__name__)

MEASUREMENT_COLUMNS = [field.name for field in fields(timing.Measurement)]
TIMING_COLUMNS = [
    "method",
    "cutoff",
    *MEASUREMENT_COLUMNS[: MEASUREMENT_COLUMNS.index("eviction")],
    "peak_anon_bytes",
    "eviction",
    "source",
    "host",
]
DISK_COLUMNS = ["method", "cutoff", "allocated_bytes", "apparent_bytes", "files", "source", "note"]


def load_source(data_dir: Path, cutoff: int) -> tuple[np.ndarray, np.ndarray, str]:
    """The first ``cutoff`` prepared images (memory-mapped: nothing is decoded twice), labels, data source."""
    images = np.load(Path(data_dir) / "images.npy", mmap_mode="r")
    if cutoff > len(images):
        raise ValueError(f"cutoff {cutoff} is larger than the prepared dataset ({len(images)} images)")
    labels = np.load(Path(data_dir) / "labels.npy")[:cutoff]
    source = json.loads((Path(data_dir) / "dataset.json").read_text())["source"]
    return images[:cutoff], labels, source


def write_table(
    rows: list[timing.Measurement],
    method: str,
    cutoff: int,
    source: str,
    out: Path,
    peaks: Mapping[str, int] | None = None,
) -> None:
    """One row per timed repeat, with what was stored, the operation's peak memory (``peaks``, empty when
    not measured), the data source and the host it ran on."""
    frame = pd.DataFrame([asdict(row) for row in rows], columns=MEASUREMENT_COLUMNS)
    frame.insert(0, "method", method)
    frame.insert(1, "cutoff", cutoff)
    frame["peak_anon_bytes"] = frame["operation"].map(peaks or {}).astype("Int64")
    frame["source"] = source
    frame["host"] = socket.gethostname()
    frame[TIMING_COLUMNS].to_csv(out, index=False)


def disk_usage(store: Path) -> dict[str, int]:
    """Allocated bytes (``du -sk``), apparent bytes (``du -sb --apparent-size``) and files of a store."""
    return {
        "allocated_bytes": du_bytes(store, "-k") * 1024,
        "apparent_bytes": du_bytes(store, "-b", "--apparent-size"),
        "files": sum(len(files) for _, _, files in os.walk(store)),
    }


def du_bytes(path: Path, *options: str) -> int:
    """Bytes that GNU ``du`` reports for ``path`` with ``options``."""
    result = subprocess.run(["du", "-s", *options, str(path)], check=True, capture_output=True, text=True)
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


def check_free_space(root: Path, images: np.ndarray, repeats: int) -> None:
    """Refuse to start when ``root`` cannot hold the repeats of a store, naming what is needed.

    Every timed repeat keeps its store until all are timed, so ``repeats`` + 2 stores (with the memory run)
    exist at once; each is bounded by the raw pixels plus a 4 KiB block per image (a file per image).
    """
    needed = (repeats + 2) * len(images) * (images[0].nbytes + 4096)
    root.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(root).free
    if needed > free:
        raise OSError(
            f"{root} has {free / 2**30:.1f} GiB free, but {repeats} repeats of a store of "
            f"{len(images):,} images may need up to {needed / 2**30:.1f} GiB; free space, lower `repeats`, "
            "or set `stores.root` to a larger file system"
        )


def measure_job(
    method: MethodSpec,
    data_dir: Path,
    cutoff: int,
    settings: Mapping[str, Any],
    timings_out: Path,
    disk_usage_out: Path,
) -> None:
    """Write, read and measure one store of ``cutoff`` images, all in this job.

    One job does all three so that a store on node-local scratch is read on the node that wrote it. The
    store goes to ``settings["stores"]["root"]`` (environment variables expanded on the node that runs
    the job) and is removed afterwards unless ``settings["stores"]["keep"]``. A leftover of a killed run
    is removed first, never trusted. ``settings`` holds the config's ``repeats``, ``random_reads``,
    ``caches``, ``drop_caches`` and ``timing`` (see timing.Repeats).
    """
    spec, method = method, resolve(method)
    images, labels, source = load_source(data_dir, cutoff)
    root = store_root(settings["stores"]["root"]) / method.name
    store = root / str(cutoff)
    usage = {"method": method.name, "cutoff": cutoff, "source": source, "note": ""}
    try:
        method.store(store).check(images)
    except UnsupportedInput as reason:
        log.warning("%s cannot hold this data, skipped: %s", method.name, reason)
        write_table([], method.name, cutoff, source, timings_out)
        pd.DataFrame([usage | {"note": str(reason)}], columns=DISK_COLUMNS).to_csv(
            disk_usage_out, index=False
        )
        return
    repeats = timing.Repeats(settings["repeats"], **settings.get("timing", {}))
    check_free_space(root, images, repeats.bound)
    timing.fresh(store)
    log.info("timing writes of %s with %d images, %s", method.name, cutoff, repeats)
    scratch = store.with_name(f"{store.name}.partial")
    rows = timing.time_writes(method, images, labels, keep=store, scratch=scratch, repeats=repeats)
    log.info("timing reads of %s: %s page cache", method.name, " and ".join(settings["caches"]))
    rows += timing.time_reads(
        method,
        store,
        images,
        labels,
        repeats,
        settings["random_reads"],
        settings["caches"],
        settings["drop_caches"],
    )
    usage |= disk_usage(store)
    log.info("measuring peak memory of every operation of %s, each in a fresh interpreter", method.name)
    timing.fresh(scratch).mkdir(parents=True)
    writes = timing.write_cases(cutoff)
    peaks = {
        operation: peak_in_fresh_process(
            f"{__name__}:operation_run",
            method=spec,
            data_dir=str(data_dir),
            cutoff=cutoff,
            operation=operation,
            store=str(scratch / operation if operation in writes else store),
            random_reads=settings["random_reads"],
        )
        for operation in timing.OPERATIONS
    }
    shutil.rmtree(scratch)
    if not settings["stores"]["keep"]:
        shutil.rmtree(store)
    write_table(rows, method.name, cutoff, source, timings_out, peaks)
    pd.DataFrame([usage], columns=DISK_COLUMNS).to_csv(disk_usage_out, index=False)


def operation_run(
    method: MethodSpec, data_dir: str, cutoff: int, operation: str, store: str, random_reads: int
) -> Callable[[], object]:
    """Set up one operation of measure_job on the prepared data, for a fresh interpreter to measure."""
    images, labels, _ = load_source(Path(data_dir), cutoff)
    return timing.operation_run(resolve(method), operation, images, labels, Path(store), random_reads)


def environment_job(results_dir: Path, config: dict, out: Path) -> None:
    """The machine record: hardware, file system of the results, software versions, commit, config hash."""
    packages = ["imagestores", *(re.split(r"[=<>!~ ;\[]", spec)[0] for spec in requires("imagestores") or [])]
    record = environment_record(Path(results_dir), config, packages)
    Path(out).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


def paper_job(method: MethodSpec, data_dir: Path, cutoff: int, root: str, out: Path) -> None:
    """Time one of the study's methods the study's way (see timing.time_paper), for the comparison."""
    method = resolve(method)
    images, labels, source = load_source(data_dir, cutoff)
    scratch = store_root(root) / method.name / f"{cutoff}.paper"
    rows = timing.time_paper(method, images, labels, scratch)
    write_table(rows, method.name, cutoff, source, out)


DESCRIPTION_COLUMNS = ["method", "base", "family", "lossy", "holds", "options", "summary"]


def describe_methods(specs: Sequence[MethodSpec], out: Path) -> None:
    """``methods.csv``: every configured method, variants included, as the report needs to know it."""
    rows = [resolve(spec).describe() for spec in specs]
    pd.DataFrame(rows, columns=DESCRIPTION_COLUMNS).to_csv(out, index=False)
