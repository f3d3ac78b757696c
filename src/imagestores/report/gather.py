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
