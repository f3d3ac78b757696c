"""A folder of mixed real-world files through the whole pipeline and every method, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pandas as pd
import pytest
import tifffile
import yaml
from PIL import Image
from pipeline import assert_sampled_as_configured, snakemake_command, timed_cases, versioned_config
from varied_folder import BROKEN, add_varied_images

from imagestores.data.example_folder import make_example_folder
from imagestores.stores import METHODS, name_of, resolve

pytestmark = pytest.mark.slow

CONFIG = versioned_config("folder")
NAMES = [name_of(spec) for spec in CONFIG["methods"]]
FIXED_SHAPE = {name for name, method in METHODS.items() if method.traits.fixed_shape}
VARIED = "shoes"
"""The class folder the varied images go in (tests/varied_folder.py), beside the example's own."""


def image_files(spec) -> bool:
    """Whether a configured method keeps image files (PNG, JPEG, original), which hold 8 and 16 bits only."""
    return resolve(spec).traits.encoding not in ("", "raw")


@pytest.fixture(scope="module")
def folder_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("folder-run")
    make_example_folder(workdir / CONFIG["dataset"]["path"], 8, seed=3, scale=8)
    add_varied_images(workdir / CONFIG["dataset"]["path"], VARIED, seed=3, metadata={"category": "varied"})
    (workdir / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    command = snakemake_command(workdir / "config.yaml", "--directory", str(workdir), "--cores", "2")
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=1500, env=os.environ | {"CI": "1"}
    )
    assert result.returncode == 0, result.stderr[-5000:]
    return workdir / "results"


def test_the_test_config_holds_every_registered_method():
    assert set(METHODS) < set(NAMES)


def test_every_method_has_verified_rows_or_says_why_it_cannot_hold_the_images(folder_run):
    usage = pd.read_csv(folder_run / "disk_usage.csv", keep_default_na=False).set_index(["method", "cutoff"])
    timings = pd.read_csv(folder_run / "timings.csv")
    for method in NAMES:
        for cutoff in CONFIG["cutoffs"]:
            note = usage.loc[(method, cutoff), "note"]
            rows = timings[(timings["method"] == method) & (timings["cutoff"] == cutoff)]
            spec = next(s for s in CONFIG["methods"] if name_of(s) == method)
            if method in FIXED_SHAPE:
                assert "shape" in note and rows.empty, (method, note)
            elif reason := resolve(spec).unavailable:
                assert note.endswith(reason) and rows.empty, (method, note)
            elif image_files(spec):
                # The encodings of image files refuse the float TIFF, naming it and its dtype.
                assert rows.empty and "has dtype float32; " in note, (method, note)
                assert note.endswith(f"(file {VARIED}/float32.tif)"), (method, note)
            else:
                counts = rows.groupby(["operation", "cache"]).size()
                assert note == "" and len(counts) == len(timed_cases(CONFIG, cutoff)), (method, cutoff, note)
                assert (counts >= 1).all()
    assert_sampled_as_configured(timings, CONFIG)
    assert {"store_many", "read_many", "read_random"} <= set(timings["operation"])
    raw = [
        name_of(spec)
        for spec in CONFIG["methods"]
        if not image_files(spec) and name_of(spec) not in FIXED_SHAPE
    ]
    assert {"lmdb", "lmdb_raw", "sqlite", "parquet", "lance", "chunks_seek", "chunks_mmap"} <= set(raw)


def test_every_method_is_checked_before_any_timing_and_the_head_to_head_times_the_raw_ones(folder_run):
    fit = pd.read_csv(folder_run / "methods_fit.csv", keep_default_na=False).set_index("method")
    usage = pd.read_csv(folder_run / "disk_usage.csv", keep_default_na=False).set_index("method")
    assert set(fit.index) == set(NAMES)
    for method in NAMES:
        assert fit.loc[method, "fits"] == (usage.loc[method, "note"] == ""), method
    judged = pd.read_csv(folder_run / "head_to_head.csv")
    assert set(judged["method"]) == set(fit.index[fit["fits"]])


def test_bytes_moved_are_the_images_own_sizes(folder_run):
    files = pd.read_csv(folder_run / "data" / "images.csv")
    timings = pd.read_csv(folder_run / "timings.csv")
    many = timings[timings["operation"] == "read_many"]
    for cutoff in CONFIG["cutoffs"]:
        assert set(many.loc[many["cutoff"] == cutoff, "bytes"]) == {int(files["pixel_bytes"][:cutoff].sum())}


def test_the_filtered_read_reads_every_image_with_the_metadata_value(folder_run):
    """The config filters on a metadata column: every store read exactly its matching images."""
    metadata = pd.read_parquet(folder_run / "data" / "metadata.parquet")
    timings = pd.read_csv(folder_run / "timings.csv")
    filtered = timings[timings["operation"] == "read_filtered"]
    column, value = CONFIG["filter"]["column"], CONFIG["filter"]["value"]
    for cutoff in CONFIG["cutoffs"]:
        matching = int((metadata[column][:cutoff] == value).sum())
        assert 0 < matching < cutoff
        assert set(filtered.loc[filtered["cutoff"] == cutoff, "images"]) == {matching}


def test_the_data_is_described_and_nothing_is_dropped_silently(folder_run):
    record = json.loads((folder_run / "data" / "dataset.json").read_text())
    assert record["base_size"] == 17 and record["source"] == "folder"
    skipped = [entry["path"] for entry in record["skipped_bad_files"]]
    assert sorted(skipped) == sorted(["shirts/truncated.jpg", *(f"{VARIED}/{name}" for name in BROKEN)])
    assert set(record["not_images"]["examples"]) == {"README.txt", "images.csv"}
    assert record["files_found"] == 11 + 9 + len(BROKEN)
    assert set(record["dtypes"]) == {"uint8", "uint16", "float32", "int32", "float64"}
    assert {"JPEG", "PNG", "TIFF"} <= set(record["formats"]) and record["multi_frame_files"] == 1
    assert {"RGBA", "P", "L"} <= set(record["modes"]) and "10x15x3" in record["shapes"]
    metadata = pd.read_parquet(folder_run / "data" / "metadata.parquet")
    assert list(metadata.columns[:2]) == ["path", "category"] and len(metadata) == 17
    labels = np.load(folder_run / "data" / "labels.npy")
    assert len(set(labels.tolist())) == len(record["classes"]) == 4
    page = (folder_run / "summary.md").read_text()
    assert "## Data" in page and "3 unreadable images" in page and "## Throughput" in page
    assert "MB/s" in page
    assert (folder_run / "figures" / "dataset.png").stat().st_size > 10_000


def test_the_original_variants_are_refused_naming_the_float_image(folder_run):
    """``original`` keeps image files of 8 or 16 bits (tests/test_folder.py reads such copies back)."""
    usage = pd.read_csv(folder_run / "disk_usage.csv", keep_default_na=False).set_index("method")
    for name in NAMES:
        if name.endswith("_original"):
            assert "with the original encoding stores only uint16, uint8" in usage.loc[name, "note"]


def test_a_folder_no_configured_method_can_hold_ends_with_one_message_and_no_traceback(tmp_path):
    """A float TIFF beside a gray PNG of another shape, for PNG files, one array and a JPEG variant: the run
    stops after the data stage, before any timing, saying why for each method and what would help."""
    folder = tmp_path / "folder" / "scans"
    folder.mkdir(parents=True)
    tifffile.imwrite(folder / "deconvolved.tif", np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4))
    Image.fromarray(np.zeros((5, 6), np.uint8)).save(folder / "gray.png")
    (folder / "empty.png").write_bytes(b"")
    jpeg = {"name": "parquet_jpeg", "method": "parquet", "options": {"encoding": "jpeg"}}
    config = {
        "dataset": {"source": "folder", "path": "folder", "on_bad_file": "skip"},
        "cutoffs": [2],
        "methods": ["disk", "npy", jpeg],
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    command = snakemake_command(tmp_path / "config.yaml", "--directory", str(tmp_path), "--cores", "2")
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=600, env=os.environ | {"CI": "1"}
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "None of the 3 configured methods can hold these images" in output
    for line in (
        "  - disk: image 0 has dtype float32",
        "  - npy: image 1 has shape",
        "  - parquet_jpeg: image 0",
    ):
        assert line in output
    assert "add a method of raw pixels" in output and "on_bad_file" in output
    log = (tmp_path / "results" / "logs" / "check_methods.log").read_text()
    assert "Traceback" not in output + log
    timed = ("timings", "head_to_head.csv", "paper")
    assert not any((tmp_path / "results" / name).exists() for name in timed), "no method may be timed"
