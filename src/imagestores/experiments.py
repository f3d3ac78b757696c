"""The pipeline's jobs, one function each; ``workflow/scripts/`` only pass Snakemake's paths in.

Stores that cannot hold the data are not crashed on: the store directory then holds ``UNSUPPORTED.txt``
with the reason, the job's timing table is empty, and the disk-usage row carries the reason as its note.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
from collections.abc import Sequence
from dataclasses import asdict, fields
from importlib.metadata import requires
from pathlib import Path

import numpy as np
import pandas as pd

from imagestores import bench
from imagestores.machine import environment_record
from imagestores.stores import MethodSpec, UnsupportedInput, resolve

log = logging.getLogger(__name__)

UNSUPPORTED = "UNSUPPORTED.txt"
SNAKEMAKE_MARKER = ".snakemake_timestamp"
"""Empty file Snakemake adds to every directory output; not part of the store, so not counted."""
MEASUREMENT_COLUMNS = [field.name for field in fields(bench.Measurement)]
TIMING_COLUMNS = ["method", "cutoff", *MEASUREMENT_COLUMNS, "source", "host"]
DISK_COLUMNS = ["method", "cutoff", "allocated_bytes", "apparent_bytes", "files", "source", "note"]


def load_source(data_dir: Path, cutoff: int) -> tuple[np.ndarray, np.ndarray, str]:
    """The first ``cutoff`` prepared images (memory-mapped: nothing is decoded twice), labels, data source."""
    images = np.load(Path(data_dir) / "images.npy", mmap_mode="r")
    if cutoff > len(images):
        raise ValueError(f"cutoff {cutoff} is larger than the prepared dataset ({len(images)} images)")
    labels = np.load(Path(data_dir) / "labels.npy")[:cutoff]
    source = json.loads((Path(data_dir) / "dataset.json").read_text())["source"]
    return images[:cutoff], labels, source


def write_table(rows: list[bench.Measurement], method: str, cutoff: int, source: str, out: Path) -> None:
    """One row per timed repeat, with what was stored, the data source and the host it ran on."""
    frame = pd.DataFrame([asdict(row) for row in rows], columns=MEASUREMENT_COLUMNS)
    frame.insert(0, "method", method)
    frame.insert(1, "cutoff", cutoff)
    frame["source"] = source
    frame["host"] = socket.gethostname()
    frame[TIMING_COLUMNS].to_csv(out, index=False)


def store_job(
    method: MethodSpec, data_dir: Path, cutoff: int, repeats: int, store_out: Path, timings_out: Path
) -> None:
    """Time writing the store of ``cutoff`` images and keep it at ``store_out`` for the read job."""
    method = resolve(method)
    images, labels, source = load_source(data_dir, cutoff)
    store_out = Path(store_out)
    try:
        method.store(store_out).check(images)
    except UnsupportedInput as reason:
        log.warning("%s cannot hold this data, skipped: %s", method.name, reason)
        store_out.mkdir(parents=True)
        (store_out / UNSUPPORTED).write_text(f"{reason}\n")
        write_table([], method.name, cutoff, source, timings_out)
        return
    log.info("timing writes of %s with %d images, %d repeats", method.name, cutoff, repeats)
    scratch = store_out.with_name(f"{store_out.name}.partial")
    rows = bench.time_writes(method, images, labels, keep=store_out, scratch=scratch, repeats=repeats)
    write_table(rows, method.name, cutoff, source, timings_out)


def read_job(
    method: MethodSpec,
    data_dir: Path,
    cutoff: int,
    repeats: int,
    random_reads: int,
    caches: Sequence[str],
    drop_caches: bool,
    store: Path,
    timings_out: Path,
) -> None:
    """Time reading the store written by ``store_job``; every read is verified against the source."""
    method = resolve(method)
    images, labels, source = load_source(data_dir, cutoff)
    rows = []
    if not (Path(store) / UNSUPPORTED).exists():
        log.info("timing reads of %s with %d images, %d repeats", method.name, cutoff, repeats)
        rows = bench.time_reads(
            method, Path(store), images, labels, repeats, random_reads, caches, drop_caches
        )
    write_table(rows, method.name, cutoff, source, timings_out)


def du_bytes(path: Path, *options: str) -> int:
    """Bytes that GNU ``du`` reports for ``path`` with ``options``."""
    result = subprocess.run(["du", "-s", *options, str(path)], check=True, capture_output=True, text=True)
    return int(result.stdout.split()[0])


def disk_usage_job(method: MethodSpec, data_dir: Path, cutoff: int, store: Path, out: Path) -> None:
    """One row: allocated bytes (``du -sk``), apparent bytes (``du -sb --apparent-size``) and file count."""
    source = json.loads((Path(data_dir) / "dataset.json").read_text())["source"]
    store = Path(store)
    row = {"method": resolve(method).name, "cutoff": cutoff, "source": source, "note": ""}
    if (store / UNSUPPORTED).exists():
        row["note"] = (store / UNSUPPORTED).read_text().strip()
    else:
        row["allocated_bytes"] = du_bytes(store, "-k") * 1024
        row["apparent_bytes"] = du_bytes(store, "-b", "--apparent-size")
        row["files"] = sum(name != SNAKEMAKE_MARKER for _, _, files in os.walk(store) for name in files)
    pd.DataFrame([row], columns=DISK_COLUMNS).to_csv(out, index=False)


def gather(tables: Sequence[Path], out: Path) -> None:
    """Concatenate the per-job tables into one tidy table."""
    frames = [pd.read_csv(table) for table in tables]
    pd.concat([frame for frame in frames if not frame.empty], ignore_index=True).to_csv(out, index=False)


def environment_job(results_dir: Path, config: dict, out: Path) -> None:
    """The machine record: hardware, file system of the results, software versions, commit, config hash."""
    packages = ["imagestores", *(re.split(r"[=<>!~ ;\[]", spec)[0] for spec in requires("imagestores") or [])]
    record = environment_record(Path(results_dir), config, packages)
    Path(out).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
