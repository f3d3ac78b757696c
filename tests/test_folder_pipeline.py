"""A folder of mixed real-world files through the whole pipeline and every method, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pandas as pd
import pytest
import yaml
from pipeline import assert_sampled_as_configured, snakemake_command, timed_cases, versioned_config

from imagestores.data.example_folder import make_example_folder
from imagestores.stores import METHODS, name_of, resolve
from imagestores.stores.base import PACKAGE_FILES

pytestmark = pytest.mark.slow

CONFIG = versioned_config("folder")
NAMES = [name_of(spec) for spec in CONFIG["methods"]]
FIXED_SHAPE = {name for name, method in METHODS.items() if method.traits.fixed_shape}


@pytest.fixture(scope="module")
def folder_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("folder-run")
    make_example_folder(workdir / CONFIG["dataset"]["path"], 8, seed=3, scale=8)
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
            if method in FIXED_SHAPE:
                assert "shape" in note and rows.empty, (method, note)
            elif reason := resolve(next(s for s in CONFIG["methods"] if name_of(s) == method)).unavailable:
                assert note.endswith(reason) and rows.empty, (method, note)
            else:
                counts = rows.groupby(["operation", "cache"]).size()
                assert note == "" and len(counts) == len(timed_cases(CONFIG, cutoff)), (method, cutoff, note)
                assert (counts >= 1).all()
    assert_sampled_as_configured(timings, CONFIG)
    assert {"store_many", "read_many", "read_random"} <= set(timings["operation"])


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
    assert record["base_size"] == 8 and record["source"] == "folder"
    assert [entry["path"] for entry in record["skipped_bad_files"]] == ["shirts/truncated.jpg"]
    assert set(record["not_images"]["examples"]) == {"README.txt", "images.csv"}
    assert record["files_found"] == 11
    assert {"uint8", "uint16"} <= set(record["dtypes"]) and {"JPEG", "PNG", "TIFF"} <= set(record["formats"])
    metadata = pd.read_parquet(folder_run / "data" / "metadata.parquet")
    assert list(metadata.columns[:2]) == ["path", "category"] and len(metadata) == 8
    labels = np.load(folder_run / "data" / "labels.npy")
    assert len(set(labels.tolist())) == len(record["classes"]) == 4
    page = (folder_run / "summary.md").read_text()
    assert "## Data" in page and "1 unreadable images" in page and "## Throughput" in page
    assert "MB/s" in page
    assert (folder_run / "figures" / "dataset.png").stat().st_size > 10_000


def test_the_original_variant_is_a_copy_of_the_files(folder_run):
    files = pd.read_csv(folder_run / "data" / "images.csv")
    store = folder_run / "stores" / "disk_original" / "8"
    kept = {"labels.csv", "metadata.parquet", *PACKAGE_FILES}
    originals = sorted(path.stat().st_size for path in store.iterdir() if path.name not in kept)
    assert originals == sorted(files["file_bytes"])
