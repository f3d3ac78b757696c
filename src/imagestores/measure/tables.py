"""The measure stage's tables: the columns of its CSV files, and the timed samples as one of them."""

from __future__ import annotations

import socket
from dataclasses import asdict, fields
from pathlib import Path

import pandas as pd

from imagestores.measure import timing

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
