"""The table of operations is the one place an operation is named: timing, summary and figures agree."""

from __future__ import annotations

import re

import pytest
import yaml
from pipeline import REPO

from imagestores import operations
from imagestores.measure import epoch, timing
from imagestores.report import OPERATION_FIGURES, figures, summary


def test_timing_implements_every_row_in_table_order() -> None:
    assert tuple(timing.write_cases(10)) == operations.WRITES
    cases = timing.timed_read_cases(*_images(), random_reads=3, where=None)
    assert (*cases, timing.FILTERED) == operations.READS
    assert timing.OPERATIONS == operations.WRITES + operations.READS


def _images() -> tuple:
    import numpy as np

    return np.zeros((10, 2, 2, 1), np.uint8), np.arange(10) % 3


def test_per_worker_names_round_trip() -> None:
    assert epoch.operation(2) == "epoch_w2"
    assert epoch.first_batch_operation(0) == "first_batch_w0"
    assert operations.get("epoch_w12").name == "epoch_w"
    assert operations.workers_of("first_batch_w3") == 3
    assert operations.workers_of("read_many") is None
    with pytest.raises(KeyError):
        operations.get("epoch_wx")
    with pytest.raises(ValueError):
        operations.with_workers("read_many", 2)


def test_what_a_run_times_follows_its_needs() -> None:
    assert "read_filtered" not in operations.timed(filtered=False, torch=False)
    assert operations.timed(filtered=True, torch=False) == operations.TIMED
    assert {"epoch_w", "first_batch_w"} <= set(operations.timed(filtered=True, torch=True))


def test_summary_and_figures_read_the_table() -> None:
    assert summary.CASES == operations.CASES
    assert ("read_one", "cold") in summary.CASES and ("read_one", "cold") not in summary.COLUMNS
    assert OPERATION_FIGURES == operations.FIGURES
    assert set(figures.TITLES) == set(operations.TIMED)
    assert summary.need("fastest", "epoch_w1") == "training epoch, 1 worker"
    assert summary.need("fastest", "first_batch_w2") == "first batch, 2 workers"
    assert summary.need("fastest", "read_filtered") == "filtered read"
    assert summary.need("fastest", "read_many") == "fastest"


def test_schema_and_captions_name_only_known_operations() -> None:
    """The config schema's descriptions and the report's captions name operations the table knows."""
    texts = [(REPO / "workflow" / "schemas" / "config.schema.yaml").read_text()]
    texts += [path.read_text() for path in (REPO / "workflow" / "report").glob("*.rst")]
    yaml.safe_load(texts[0])
    named = {
        m
        for text in texts
        for m in re.findall(r"\b((?:store|read)_[a-z]+(?![a-z_])|(?:epoch|first_batch)_w)", text)
    }
    assert named <= set(operations.BY_NAME), named - set(operations.BY_NAME)
    assert all(op.caption and op.title for op in operations.TABLE)
