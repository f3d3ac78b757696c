"""The whole pipeline on a tiny config, as a user runs it: `snakemake --cores 2` in a fresh directory."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image
from pipeline import (
    CASES,
    REPO,
    TIMED_CASES,
    assert_sampled_as_configured,
    sampling_bounds,
    snakemake_command,
    timed_cases,
    versioned_config,
)

from imagestores.measure import epoch
from imagestores.report import FIGURES
from imagestores.stores import METHODS, name_of, resolve

pytestmark = pytest.mark.slow

CACHES = ("warm", "cold")
OPERATIONS = {"store_many", "store_one", "read_many", "read_one", "read_random"}
TINY = versioned_config()
NAMES = [name_of(spec) for spec in TINY["methods"]]
SKIPPED = {name_of(spec): reason for spec in TINY["methods"] if (reason := resolve(spec).unavailable)}
"""Methods whose optional library is not installed here (conftest.py): skipped by the run, with the reason
everywhere it reports (tests/test_missing_library.py makes one missing to show that)."""
MEASURED = [name for name in NAMES if name not in SKIPPED]


def snakemake(workdir: Path, config: dict, *args: str) -> subprocess.CompletedProcess:
    """Run the repository's workflow in ``workdir`` with ``config`` written to its config file."""
    config_file = workdir / "config.yaml"
    config_file.write_text(yaml.safe_dump(config))
    command = snakemake_command(config_file, "--directory", str(workdir), *args)
    return subprocess.run(command, capture_output=True, text=True, timeout=900, env=os.environ | {"CI": "1"})


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("tiny")
    result = snakemake(workdir, TINY, "--cores", "2")
    assert result.returncode == 0, result.stderr[-5000:]
    (workdir / "snakemake-output.txt").write_text(result.stdout + result.stderr)
    return workdir


TIMING_RULES = {"measure", "head_to_head", "paper", "environment", "machine_drift"}
"""Rules whose jobs time something: each must run alone (profiles/default/config.yaml)."""


def overlaps_with_timing_jobs(output: str) -> tuple[list[str], int]:
    """From Snakemake's log of a run, in the order it started and finished jobs: every start of a job while
    a timing job ran, or of a timing job while any job ran; and how many timing jobs started."""
    running: dict[str, str] = {}
    rule = None
    clashes, timing_jobs = [], 0
    for line in output.splitlines():
        if started := re.match(r"(?:local)?rule (\w+):$", line):
            rule = started.group(1)
        elif (job := re.match(r"\s+jobid: (\d+)$", line)) and rule:
            if running and (rule in TIMING_RULES or TIMING_RULES & set(running.values())):
                clashes.append(f"{rule} started beside {sorted(running.values())}")
            timing_jobs += rule in TIMING_RULES
            running[job.group(1)], rule = rule, None
        elif finished := re.match(r"Finished jobid: (\d+)", line):
            running.pop(finished.group(1), None)
    return clashes, timing_jobs


def test_no_job_runs_beside_a_timing_job(tiny_run):
    """With --cores 2 figures and tables could run beside a timing job; the bench slots keep them apart."""
    clashes, timing_jobs = overlaps_with_timing_jobs((tiny_run / "snakemake-output.txt").read_text())
    assert timing_jobs >= len(MEASURED) * len(TINY["cutoffs"]), "every measure job must be in the log"
    assert clashes == []


def test_the_test_config_runs_every_registered_method_and_a_lossy_variant():
    assert set(METHODS) < set(NAMES)


def test_fallback_to_synthetic_data_is_said_loudly(tiny_run):
    record = json.loads((tiny_run / "results" / "data" / "dataset.json").read_text())
    assert record["source"] == "synthetic" and record["requested_source"] == "auto"
    assert "127.0.0.1:9" in record["fallback_reason"]
    assert "SYNTHETIC images, not CIFAR-10" in (tiny_run / "snakemake-output.txt").read_text()


def test_every_method_cutoff_and_operation_is_timed_as_sampling_asks(tiny_run):
    timings = pd.read_csv(tiny_run / "results" / "timings.csv", keep_default_na=False)
    counts = timings.groupby(["method", "cutoff", "operation", "cache"]).size()
    expected = {
        (m, c, op, cache) for m in MEASURED for c in TINY["cutoffs"] for op, cache in timed_cases(TINY, c)
    }
    assert set(counts.index) == expected
    epochs = {c for _, c, op, _ in expected if op.startswith("epoch")}
    assert epochs == (set() if epoch.unavailable() else {max(TINY["cutoffs"])}), "below loader.min_images"
    assert_sampled_as_configured(timings, TINY)
    cold = timings[timings["cache"] == "cold"]
    assert cold["eviction"].str.startswith("fadvise").all(), "every cold row says how it was made cold"
    assert (timings.loc[timings["cache"] != "cold", "eviction"] == "").all()
    measured_apart = timings["operation"].isin({operation for operation, _ in CASES})
    peaks = pd.to_numeric(timings["peak_anon_bytes"], errors="coerce")
    assert (peaks[measured_apart] >= 0).all()
    assert peaks[~measured_apart].isna().all(), "epochs have no peak memory"
    assert (timings["seconds"] > 0).all()
    assert set(timings["source"]) == {"synthetic"}
    many = timings[timings["operation"].isin(["store_many", "read_many"])]
    assert (many["images"] == many["cutoff"]).all()
    assert (many["bytes"] == many["cutoff"] * 32 * 32 * 3).all()
    one = timings[timings["operation"].isin(["store_one", "read_one"])]
    assert (one["images"] == 1).all() and (one["bytes"] == 3072).all()
    random = timings[timings["operation"] == "read_random"]
    assert (random["images"] == random["cutoff"].clip(upper=TINY["random_reads"])).all()
    labels = np.load(tiny_run / "results" / "data" / "labels.npy")
    filtered = timings[timings["operation"] == "read_filtered"]
    value = TINY.get("filter", {"value": 3})["value"]
    matching = filtered["cutoff"].map(lambda cutoff: int((labels[:cutoff] == value).sum()))
    assert (filtered["images"] == matching).all(), "a filtered read reads exactly the matching images"


def test_the_largest_cutoff_is_timed_once_by_the_head_to_head_job(tiny_run):
    """Its measure jobs only build the store (disk usage, peak memory, damage); their tables are empty."""
    largest = max(TINY["cutoffs"])
    for method in MEASURED:
        assert pd.read_csv(tiny_run / "results" / "timings" / method / f"{largest}.csv").empty
        memory = pd.read_csv(tiny_run / "results" / "memory" / method / f"{largest}.csv")
        assert set(memory["operation"]) == {operation for operation, _ in CASES}
    head = pd.read_csv(tiny_run / "results" / "head_to_head.csv", keep_default_na=False)
    timings = pd.read_csv(tiny_run / "results" / "timings.csv", keep_default_na=False)
    at_largest = timings[timings["cutoff"] == largest].drop(columns="peak_anon_bytes")
    pd.testing.assert_frame_equal(
        at_largest.reset_index(drop=True), head.drop(columns="peak_anon_bytes"), check_dtype=False
    )
    log = (tiny_run / "results" / "logs" / "head_to_head.log").read_text()
    assert "samples of each of" in log, "every case logs how it ended"


def test_paper_mode_times_the_study_methods_once_each(tiny_run):
    paper = pd.read_csv(tiny_run / "results" / "paper.csv")
    assert set(paper["method"]) == {"disk", "lmdb", "hdf5"} & set(NAMES)
    counts = paper.groupby(["method", "cutoff", "operation"]).size()
    assert len(counts) == 3 * len(TINY["cutoffs"]) * 4 and (counts == 1).all()
    assert (paper["seconds"] > 0).all()


def test_summary_winners_and_machine_record(tiny_run):
    summary = pd.read_csv(tiny_run / "results" / "summary.csv")
    assert len(summary) == len(MEASURED) * sum(len(timed_cases(TINY, c)) for c in TINY["cutoffs"])
    assert summary["samples"].between(1, sampling_bounds(TINY)[1]).all() and (summary["loops"] >= 1).all()
    assert (summary["median_low_s"] <= summary["median_s"]).all()
    assert (summary["median_s"] <= summary["median_high_s"]).all()
    assert (summary["min_s"] <= summary["median_s"]).all() and (summary["median_s"] <= summary["max_s"]).all()
    winners = pd.read_csv(tiny_run / "results" / "winners.csv")
    fastest = winners[winners["criterion"] == "fastest"]
    assert len(fastest) == len(TIMED_CASES) and set(fastest["cutoff"]) == {max(TINY["cutoffs"])}
    assert set(winners["criterion"]) == {"fastest", "smallest on disk", "fewest files"}
    record = json.loads((tiny_run / "results" / "environment.json").read_text())
    assert record["packages"]["h5py"] and record["filesystem"]["type"] and record["memory_bytes"] > 0
    touch = record["memory_first_touch"]
    assert touch["first_touch_seconds_per_gib"] > 0 and touch["touched_again_seconds_per_gib"] > 0
    drift = record["machine_drift"]
    assert drift["probe_seconds"] == 10 and set(drift["spread_by_sample_seconds"]) == {"0.01", "0.1", "1"}
    page = (tiny_run / "results" / "summary.md").read_text()
    assert "the machine's own speed: a fixed Python loop" in page
    assert "## What to pick" in page and record["cpu_model"] in page
    assert "| parquet_jpeg (lossy) |" in page, "a lossy config variant is marked in the method table"
    methods = pd.read_csv(tiny_run / "results" / "methods.csv").set_index("method")
    assert list(methods.index) == NAMES
    assert methods.loc["parquet_jpeg", "lossy"] and methods.loc["parquet_jpeg", "base"] == "parquet"
    assert not methods.drop(index="parquet_jpeg")["lossy"].any()


def test_disk_usage_of_every_store(tiny_run):
    usage = pd.read_csv(tiny_run / "results" / "disk_usage.csv")
    assert sorted(zip(usage["method"], usage["cutoff"], strict=True)) == sorted(
        (method, cutoff) for method in NAMES for cutoff in TINY["cutoffs"]
    )
    measured = usage[usage["method"].isin(MEASURED)]
    assert (measured["allocated_bytes"] > 0).all() and (measured["apparent_bytes"] > 0).all()
    disk = usage[usage["method"] == "disk"].set_index("cutoff")
    assert disk.loc[40, "files"] == 41, "one PNG per image plus the labels CSV"


def test_stores_hold_the_prepared_images(tiny_run):
    images = np.load(tiny_run / "results" / "data" / "images.npy")
    assert images.shape == (60, 32, 32, 3) and images.dtype == np.uint8
    png = np.asarray(Image.open(tiny_run / "results" / "stores" / "disk" / "40" / "7.png"))
    np.testing.assert_array_equal(png, images[7])


def test_figures_are_drawn(tiny_run):
    for figure in FIGURES:
        with Image.open(tiny_run / "results" / "figures" / f"{figure}.png") as image:
            assert image.width > 400 and image.height > 300
        svg = (tiny_run / "results" / "figures" / f"{figure}.svg").read_text()
        assert "synthetic" in svg, "the data source belongs in the title"


def test_report_holds_every_figure_caption_and_table(tiny_run):
    result = snakemake(tiny_run, TINY, "--report", "results/report.html")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    html = (tiny_run / "results" / "report.html").read_text()
    for figure in FIGURES:
        assert f"{figure}.svg" in html
    for phrase in (
        "posix_fadvise",
        "2019 study",
        "RssAnon",
        "whole file-system blocks",
        "What to pick",
        "machine record",
    ):
        assert phrase in html, phrase
    for table in ("summary.csv", "winners.csv", "environment.json"):
        assert table in html


def test_a_new_cutoff_runs_only_its_jobs(tiny_run):
    before = {path: path.stat().st_mtime_ns for path in (tiny_run / "results" / "timings").rglob("*.csv")}
    config = TINY | {"cutoffs": [*TINY["cutoffs"], 20]}
    dry = snakemake(tiny_run, config, "--cores", "2", "--dry-run")
    assert dry.returncode == 0, dry.stderr[-3000:]
    planned = {line.split()[1].rstrip(":") for line in dry.stdout.splitlines() if line.startswith("rule ")}
    aggregation = {"gather_timings", "gather_disk_usage", "gather_paper", "summarise", "environment", "all"}
    # The overview is drawn from the head-to-head job at the largest cutoff, which a smaller one leaves be.
    plots = {"plot_operation", "plot_timings", "plot_disk_usage", "plot_epoch", "front_page"}
    # check_methods looks at the new cutoff; the timing jobs of the old ones wait for it but do not rerun.
    assert planned == {"check_methods", "measure", "paper"} | plots | aggregation
    result = snakemake(tiny_run, config, "--cores", "2")
    assert result.returncode == 0, result.stderr[-5000:]
    after = {path: path.stat().st_mtime_ns for path in (tiny_run / "results" / "timings").rglob("*.csv")}
    assert all(after[path] == mtime for path, mtime in before.items()), "old cutoffs must not rerun"
    new = {path.relative_to(tiny_run / "results" / "timings") for path in set(after) - set(before)}
    assert new == {Path(method) / "20.csv" for method in NAMES}
    timings = pd.read_csv(tiny_run / "results" / "timings.csv")
    assert 20 in set(timings["cutoff"])
    again = snakemake(tiny_run, config, "--cores", "2", "--dry-run")
    assert "Nothing to be done" in again.stdout + again.stderr


def test_a_bad_config_fails_before_any_job_naming_the_key(tmp_path):
    """End to end once; every other bad config is checked in-process in tests/test_config.py."""
    result = snakemake(tmp_path, TINY | {"cutoffs": [10, 100]}, "--cores", "1", "--dry-run")
    assert result.returncode != 0
    assert "cutoffs" in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()


def test_numbers_typed_on_the_command_line_are_read_as_numbers(tmp_path):
    """``--config 'cutoffs=[10,20]'`` hands Snakemake strings; the run must take them as numbers."""
    result = snakemake(
        tmp_path, TINY, "--cores", "1", "--dry-run", "--config", "cutoffs=[10,20]", "timing={min_samples: 1}"
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    planned = set(re.findall(r"results/timings/disk/\d+\.csv", result.stdout))
    assert planned == {"results/timings/disk/10.csv", "results/timings/disk/20.csv"}


def test_a_method_option_typed_on_the_command_line_runs_without_touching_aa_twins(tmp_path):
    """The README's override, as typed: a nested option is handed over as the string '90', and the
    config's twin of a method left out of ``methods`` is dropped with a note, not refused."""
    override = "methods=[npy,{name: parquet_jpeg, method: parquet, options: {encoding: jpeg, quality: 90}}]"
    config = TINY | {"aa_twins": ["npy", "chunks_seek"]}
    result = snakemake(tmp_path, config, "--cores", "1", "--dry-run", "--config", override)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "chunks_seek not in 'methods', so no twin of it is measured" in output
    planned = set(re.findall(r"results/timings/(\w+)/\d+\.csv", result.stdout))
    assert planned == {"npy", "npy_twin", "parquet_jpeg"}


@pytest.mark.parametrize("name", ["config.yaml", "large.yaml", "folder-example.yaml"])
def test_shipped_configs_plan_every_job(tmp_path, name):
    config = yaml.safe_load((REPO / "config" / name).read_text())
    result = snakemake(tmp_path, config, "--cores", "4", "--dry-run")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    measure_jobs = sum(line.strip() == "rule measure:" for line in result.stdout.splitlines())
    methods = len(config["methods"]) + len(config.get("aa_twins", []))
    assert measure_jobs == methods * len(config["cutoffs"])
