"""A method whose optional library is missing is skipped with its reason everywhere the run reports it.

Every library is installed where the tests run, so sqlite (standard library) is made to say it lacks one:
the check before any timing, the measure job, the machine record and the summary page must each carry
the same reason, and nothing of that method is timed.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from test_summary import ENVIRONMENT, outputs_in, tables_in
from test_timing import images_and_labels, prepared, settings

from imagestores.measure import environment, fit, store_job
from imagestores.measure.describe import describe_methods
from imagestores.report import summary
from imagestores.stores import resolve

REASON = "needs sqlite4, which is not installed: pip install imagestores[sqlite4]"


@pytest.fixture
def missing(monkeypatch) -> str:
    """sqlite, reporting its library missing as a store without its optional library does."""
    monkeypatch.setattr(resolve("sqlite").store_class(), "unavailable", classmethod(lambda cls: REASON))
    return "sqlite"


def test_the_machine_record_lists_the_method_under_skipped_with_its_reason(missing):
    skipped = environment.skipped(["npy", missing])
    assert skipped[missing] == REASON and "npy" not in skipped


def test_the_check_before_timing_says_it_is_not_installed(missing, tmp_path):
    images, _ = images_and_labels(10)
    assert fit.refusal(missing, images).endswith(REASON)
    assert fit.refusal(missing, images).startswith("not installed here")
    assert fit.refusal("npy", images) == ""


def measured(method: str, tmp_path) -> store_job.MeasureOutputs:
    """The measure job's tables of ``method`` with 20 images, under ``tmp_path``/job."""
    images, labels = images_and_labels(20)
    data = prepared(tmp_path, images, labels)
    folder = tmp_path / "job"
    folder.mkdir()
    outputs = store_job.MeasureOutputs(folder / "timings.csv", folder / "usage.csv", folder / "memory.csv")
    store_job.measure_job(method, data, 20, settings(tmp_path), outputs)
    return outputs


def test_the_measure_job_times_nothing_and_its_disk_usage_row_says_why(missing, tmp_path):
    outputs = measured(missing, tmp_path)
    assert pd.read_csv(outputs.timings).empty and pd.read_csv(outputs.memory).empty
    assert pd.read_csv(outputs.disk_usage).iloc[0]["note"].endswith(REASON)
    assert not (tmp_path / "stores" / missing / "20").exists()


def test_the_summary_page_shows_the_method_skipped_with_its_reason(missing, tmp_path):
    describe_methods(["npy", missing], tmp_path / "methods.csv")
    rows = [
        {"source": "synthetic", "method": "npy", "cutoff": 20, "operation": "read_many", "cache": "warm"}
        | {"repeat": repeat, "seconds": 1.0 + repeat / 100, "images": 20, "bytes": 61440}
        | {"peak_anon_bytes": 0, "loops": 1}
        for repeat in range(3)
    ]
    pd.DataFrame(rows).to_csv(tmp_path / "timings.csv", index=False)
    npy = {"method": "npy", "cutoff": 20, "allocated_bytes": 4096, "apparent_bytes": 4096, "files": 1}
    npy |= {"source": "synthetic", "note": "", "integrity": ""}
    skipped_row = pd.read_csv(measured(missing, tmp_path).disk_usage)
    pd.concat([pd.DataFrame([npy]), skipped_row]).to_csv(tmp_path / "disk_usage.csv", index=False)
    record = ENVIRONMENT | {"skipped": environment.skipped(["npy", missing])}
    (tmp_path / "environment.json").write_text(json.dumps(record))
    summary.write(tables_in(tmp_path), outputs_in(tmp_path))
    page = (tmp_path / "summary.md").read_text()
    assert f"| {missing} | skipped: " in page and f"{REASON} |" in page.split("## Every method")[1]
    assert missing not in set(pd.read_csv(tmp_path / "summary.csv")["method"])
