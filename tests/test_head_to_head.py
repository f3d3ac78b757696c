"""The head-to-head job: every method timed in one job, raced (the rules: tests/test_sampling.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pipeline import TIMED_CASES
from test_timing import images_and_labels, prepared

from imagestores.measure import head_to_head
from imagestores.measure.sampling import STOP_REASONS
from imagestores.measure.tables import TIMING_COLUMNS


def settings(tmp_path) -> dict:
    return {
        "timing": {"min_samples": 2, "max_samples": 3, "min_sample_seconds": 0.0},
        "verdicts": {"min_ratio": 1.1},
        "random_reads": 5,
        "caches": ["warm", "cold"],
        "drop_caches": False,
        "stores": {"root": str(tmp_path / "stores"), "keep": True},
        "integrity": {"trials": 0, "max_images": 0},
        "loader": {"batch_size": 8, "workers": [0]},
        "filter": {"column": "label", "value": 3},
    }


def test_every_method_and_twin_is_timed_in_every_case_with_its_samples(tmp_path):
    images, labels = images_and_labels(20)
    data = prepared(tmp_path, images, labels)
    methods = ["npy", {"name": "npy_twin", "method": "npy"}, "hdf5"]
    out = tmp_path / "head_to_head.csv"
    head_to_head.head_to_head_job(methods, data, 20, settings(tmp_path), out, twins={"npy_twin": "npy"})
    table = pd.read_csv(out, keep_default_na=False, na_values=[""])
    assert list(table.columns) == TIMING_COLUMNS
    assert set(table["cutoff"]) == {20}
    cases = {(operation, cache) for operation, cache in TIMED_CASES if not operation.endswith("w2")}
    for method in ("npy", "npy_twin", "hdf5"):
        mine = table[table["method"] == method]
        assert set(zip(mine["operation"], mine["cache"], strict=True)) == cases
    samples = table.groupby(["operation", "cache", "method"]).size().unstack("method")
    assert samples.isin([2, 3]).all(axis=None), "the fewest samples, and more up to the bound"
    assert (samples["npy"] == samples["npy_twin"]).all(), "a twin is sampled whenever its original is"
    assert set(table["stopped"]) <= set(STOP_REASONS) and table["stopped"].ne("").all()
    assert (table["seconds"] > 0).all()
    cold = table[(table["cache"] == "cold") & ~table["operation"].str.startswith("first_batch")]
    assert (cold["eviction"].str.len() > 0).all()
    assert not (tmp_path / "stores" / head_to_head.STORES_DIR).exists(), "its stores are removed"


def test_a_method_that_cannot_hold_the_data_is_left_out(tmp_path):
    data = prepared(tmp_path, np.zeros((6, 8, 8, 3), dtype=np.uint16), np.zeros(6, dtype=np.uint8))
    jpeg = {"name": "parquet_jpeg", "method": "parquet", "options": {"encoding": "jpeg"}}
    out = tmp_path / "head_to_head.csv"
    head_to_head.head_to_head_job([jpeg, "npy"], data, 6, settings(tmp_path) | {"caches": ["warm"]}, out)
    assert set(pd.read_csv(out)["method"]) == {"npy"}


def test_no_method_fitting_leaves_an_empty_table_not_a_crash(tmp_path):
    data = prepared(tmp_path, np.zeros((6, 8, 8, 3), dtype=np.uint16), np.zeros(6, dtype=np.uint8))
    jpeg = {"name": "parquet_jpeg", "method": "parquet", "options": {"encoding": "jpeg"}}
    out = tmp_path / "head_to_head.csv"
    head_to_head.head_to_head_job([jpeg], data, 6, settings(tmp_path), out)
    table = pd.read_csv(out)
    assert table.empty and list(table.columns) == TIMING_COLUMNS
