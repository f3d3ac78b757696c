"""Concatenating the per-job tables of the measure stage into one tidy table each."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd


def gather(tables: Sequence[Path], out: Path) -> None:
    """Concatenate the per-job tables into one tidy table."""
    frames = [pd.read_csv(table) for table in tables]
    # Skipped methods leave tables with a header only; if every one was skipped, keep one header.
    measured = [frame for frame in frames if not frame.empty] or frames[:1]
    pd.concat(measured, ignore_index=True).to_csv(out, index=False)


def gather_timings(tables: Sequence[Path], memory: Sequence[Path], out: Path) -> None:
    """Concatenate the timed samples (the measure jobs' and the head-to-head job's, which alone times the
    largest cutoff) and join each operation's peak memory (``results/memory/``) to its rows."""
    frames = [pd.read_csv(table) for table in tables]
    timings = pd.concat([frame for frame in frames if not frame.empty] or frames[:1], ignore_index=True)
    peaks = pd.concat([pd.read_csv(table) for table in memory], ignore_index=True)
    peaks = peaks.astype({"method": str, "cutoff": "int64", "operation": str})
    keys = ["method", "cutoff", "operation"]
    timings = timings.drop(columns="peak_anon_bytes").merge(peaks, on=keys, how="left")
    timings["peak_anon_bytes"] = timings["peak_anon_bytes"].astype("Int64")
    columns = [*frames[0].columns]
    timings[columns].to_csv(out, index=False)
