"""The summary's peak-memory table shows, per method and store size, what writing and reading held."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd

from imagestores.measure.describe import describe_methods
from imagestores.report import summary
from imagestores.report.summary import memory_table

MiB = 2**20


def peaks(*rows: tuple[str, int, str, float]) -> pd.DataFrame:
    """Summary rows: (method, cutoff, operation, peak MiB)."""
    return pd.DataFrame(
        [
            {"method": method, "cutoff": cutoff, "operation": operation, "peak_anon_bytes": mib * MiB}
            for method, cutoff, operation, mib in rows
        ]
    )


def test_each_cell_is_the_largest_peak_of_writing_or_of_reading_at_that_size():
    table = memory_table(
        peaks(
            ("npy", 10, "store_many", 1.0),
            ("npy", 10, "store_one", 2.0),
            ("npy", 10, "read_many", 12.0),
            ("npy", 10, "read_random", 3.0),
            ("npy", 1000, "store_many", 1.5),
            ("npy", 1000, "read_many", 12.5),
            ("lmdb", 10, "store_many", 40.0),
            ("lmdb", 10, "read_one", 0.3),
            ("lmdb", 1000, "store_many", 400.0),
            ("lmdb", 1000, "read_one", 0.5),
        )
    )
    assert table[0] == "| method | write at 10 | read at 10 | write at 1,000 | read at 1,000 |"
    assert table[2:] == ["| npy | 2.0 | 12.0 | 1.5 | 12.5 |", "| lmdb | 40.0 | 0.3 | 400.0 | 0.5 |"]


def test_a_size_a_method_was_not_measured_at_stays_empty():
    table = memory_table(
        peaks(
            ("npy", 10, "read_many", 12.0), ("npy", 100, "read_many", 12.0), ("sqlite", 10, "store_many", 3.0)
        )
    )
    assert table[3] == "| sqlite | 3.0 |  |  |  |"


ENVIRONMENT = {
    "cpu_model": "test CPU",
    "available_cores": 2,
    "logical_cores": 2,
    "memory_bytes": 2**30,
    "kernel": "6.1",
    "python_version": "3.11",
    "filesystem": {"type": "ext4", "device": "/dev/x", "mount_options": "rw"},
    "git": {"commit": "abc", "dirty": False},
    "config_sha256": "0" * 64,
    "hostname": "test",
}


def tables_in(folder: Path) -> summary.Tables:
    """The gathered tables under their pipeline names in ``folder``."""
    names = ("timings.csv", "disk_usage.csv", "environment.json", "methods.csv")
    return summary.Tables(*(folder / name for name in names))


def outputs_in(folder: Path) -> summary.Outputs:
    names = ("summary.csv", "winners.csv", "aa_check.csv", "summary.md")
    return summary.Outputs(*(folder / name for name in names))


def test_a_lossy_config_variant_is_marked_lossy_in_every_table(tmp_path):
    """parquet_jpeg is not registered: its lossiness must come from its options, through methods.csv."""
    specs = ["parquet", {"name": "parquet_jpeg", "method": "parquet", "options": {"encoding": "jpeg"}}]
    describe_methods(specs, tmp_path / "methods.csv")
    rows = [
        {
            "source": "synthetic",
            "method": method,
            "cutoff": 10,
            "operation": "read_many",
            "cache": "warm",
            "repeat": repeat,
            "seconds": seconds + repeat / 100,
            "images": 10,
            "bytes": 30720,
            "peak_anon_bytes": 0,
            "loops": 1,
        }
        for method, seconds in (("parquet", 2.0), ("parquet_jpeg", 1.0))
        for repeat in range(2)
    ]
    pd.DataFrame(rows).to_csv(tmp_path / "timings.csv", index=False)
    usage = [
        {
            "method": method,
            "cutoff": 10,
            "allocated_bytes": size,
            "apparent_bytes": size,
            "files": 1,
            "source": "synthetic",
            "note": "",
            "integrity": verdict,
        }
        for method, size, verdict in (
            ("parquet", 40960, "wrong 8 of 8"),
            ("parquet_jpeg", 8192, "detected 1, unaffected 7 of 8"),
        )
    ]
    pd.DataFrame(usage).to_csv(tmp_path / "disk_usage.csv", index=False)
    (tmp_path / "environment.json").write_text(json.dumps(ENVIRONMENT))
    summary.write(tables_in(tmp_path), outputs_in(tmp_path))
    page = (tmp_path / "summary.md").read_text()
    assert "| fastest | read_many | warm | tie: parquet_jpeg (lossy) |" in page, "2 samples: no verdict"
    assert "| smallest on disk |  |  | parquet_jpeg (lossy) |" in page
    assert "| parquet_jpeg (lossy) |" in page.split("## Every method")[1]
    assert "| parquet |" in page.split("## Every method")[1]
    assert "bytes flipped: reading |" in page and "| wrong 8 of 8 |" in page
    assert "Lossy (checked by PSNR, not equality): parquet_jpeg." in page


def summarised_page(tmp_path, operations: list[str]) -> str:
    """summary.md of two methods timed in ``operations`` (warm), npy three times faster than sqlite."""
    describe_methods(["npy", "sqlite"], tmp_path / "methods.csv")
    rows = [
        {
            "source": "synthetic",
            "method": method,
            "cutoff": 100,
            "operation": operation,
            "cache": "warm",
            "repeat": repeat,
            "seconds": seconds * (1 + repeat / 100),
            "images": 100,
            "bytes": 307200,
            "peak_anon_bytes": 0,
            "loops": 1,
        }
        for method, seconds in (("npy", 1.0), ("sqlite", 3.0))
        for operation in operations
        for repeat in range(5)
    ]
    pd.DataFrame(rows).to_csv(tmp_path / "timings.csv", index=False)
    usage = [
        {"method": method, "cutoff": 100, "allocated_bytes": 4096, "apparent_bytes": 4096, "files": 1}
        | {"source": "synthetic", "note": "", "integrity": ""}
        for method in ("npy", "sqlite")
    ]
    pd.DataFrame(usage).to_csv(tmp_path / "disk_usage.csv", index=False)
    (tmp_path / "environment.json").write_text(json.dumps(ENVIRONMENT))
    summary.write(tables_in(tmp_path), outputs_in(tmp_path))
    return (tmp_path / "summary.md").read_text().split("## A/A check")[0]


def test_what_to_pick_names_training_epochs_and_filtered_reads_when_they_were_timed(tmp_path):
    page = summarised_page(tmp_path, ["read_many", "read_filtered", "epoch_w0", "epoch_w2", "first_batch_w2"])
    assert "| filtered read | read_filtered | warm | npy |" in page
    assert "| training epoch, 0 workers | epoch_w0 | warm | npy |" in page
    assert "| training epoch, 2 workers | epoch_w2 | warm | npy |" in page
    assert "| first batch, 2 workers | first_batch_w2 | warm | npy |" in page
    assert "| fastest | read_many | warm | npy |" in page


def test_what_to_pick_has_no_epoch_or_filtered_rows_without_their_timings(tmp_path):
    page = summarised_page(tmp_path, ["read_many"])
    assert "training epoch" not in page and "filtered read" not in page
    assert "| fastest | read_many | warm | npy |" in page


def timing_rows(cutoff: int, medians: dict[str, float], repeats: int) -> pd.DataFrame:
    """read_many warm rows of each method: ``repeats`` samples within 1% of its median."""
    rows = [
        {
            "source": "synthetic",
            "method": method,
            "cutoff": cutoff,
            "operation": "read_many",
            "cache": "warm",
            "repeat": repeat,
            "seconds": median * (1 + (repeat - repeats // 2) / 200),
            "images": cutoff,
            "bytes": cutoff * 3072,
            "peak_anon_bytes": 0,
            "loops": 1,
        }
        for method, median in medians.items()
        for repeat in range(repeats)
    ]
    return pd.DataFrame(rows)


def test_verdicts_and_the_aa_check_come_from_the_head_to_head_timings(tmp_path):
    """In jobs of their own npy's twin came out 2x apart and hdf5 ahead; head to head, npy wins clearly."""
    describe_methods(["npy", "hdf5", {"name": "npy_twin", "method": "npy"}], tmp_path / "methods.csv")
    own_jobs = timing_rows(40, {"npy": 2.0, "npy_twin": 1.0, "hdf5": 1.5}, 7)
    own_jobs.to_csv(tmp_path / "timings.csv", index=False)
    timing_rows(40, {"npy": 1.0, "npy_twin": 1.01, "hdf5": 1.5}, 7).to_csv(tmp_path / "h2h.csv", index=False)
    pd.DataFrame(
        [
            {
                "method": m,
                "cutoff": 40,
                "allocated_bytes": 1,
                "apparent_bytes": 1,
                "files": 1,
                "source": "synthetic",
                "note": "",
                "integrity": "",
            }
            for m in ("npy", "hdf5", "npy_twin")
        ]
    ).to_csv(tmp_path / "disk_usage.csv", index=False)
    (tmp_path / "environment.json").write_text(json.dumps(ENVIRONMENT))
    tables = dataclasses.replace(tables_in(tmp_path), head_to_head=tmp_path / "h2h.csv")
    summary.write(tables, outputs_in(tmp_path), twins={"npy_twin": "npy"})
    fastest = pd.read_csv(tmp_path / "winners.csv").iloc[0]
    assert (fastest["winner"], fastest["runner_up"], fastest["verdict"]) == ("npy", "hdf5", "faster")
    assert not pd.read_csv(tmp_path / "aa_check.csv")["told_apart"].any()
    medians = pd.read_csv(tmp_path / "summary.csv").set_index("method")["median_s"]
    assert medians["npy"] == 2.0, "the tables keep the measure jobs' numbers"
    page = (tmp_path / "summary.md").read_text()
    assert "every method timed in one job" in page
    assert "`npy_twin` and `npy` up to read_many warm at 40 (2.00x)" in page


def test_the_machine_section_says_when_the_machine_alone_spreads_beyond_the_verdicts_limit():
    drifting = ENVIRONMENT | {
        "machine_drift": {
            "probe_seconds": 10.0,
            "call_seconds_median": 5e-4,
            "spread_by_sample_seconds": {"0.01": 0.3, "0.1": 0.21, "1": 0.15},
        }
    }
    lines = summary.machine_lines(drifting, 0.1)
    line = next(line for line in lines if "own speed" in line)
    assert (
        "spread 30.0% in samples of 0.01 s and 21.0% in samples of 0.1 s and 15.0% in samples of 1 s" in line
    )
    assert "above the 10% spread warning at every length" in line
    steady = drifting | {
        "machine_drift": drifting["machine_drift"] | {"spread_by_sample_seconds": {"1": 0.04}}
    }
    line = next(line for line in summary.machine_lines(steady, 0.1) if "own speed" in line)
    assert line.endswith(
        "spread 4.0% in samples of 1 s; a case with few samples is taken to spread at least as much"
    )
    assert not any("own speed" in line for line in summary.machine_lines(ENVIRONMENT, 0.1)), "older records"
