"""Adding a method is one module and one registry line: a toy method (raw bytes in a ``dbm`` file), defined
in ``toy_method`` and registered from outside the package, goes through the same round-trip and
read-contract tests as every method, and through the pipeline (``IMAGESTORES_METHODS``).

``toy_method`` is the toy's whole implementation; ``registry.register`` stands in for its line in
``_ENTRIES`` (README, Development).
"""

from __future__ import annotations

import os
import subprocess

import numpy as np
import pandas as pd
import pytest
import test_contracts as contracts
import yaml
from pipeline import snakemake_command
from test_stores import assert_round_trip, mixed_shapes
from toy_method import TOY

from imagestores.loading import open_store
from imagestores.stores import registry


@pytest.fixture(scope="module", autouse=True)
def registered():
    registry.register(TOY)
    yield TOY
    registry.unregister(TOY.name)


@pytest.fixture(scope="module")
def stores(tmp_path_factory, registered):
    path = tmp_path_factory.mktemp("toy") / "store"
    TOY.store(path).write(*contracts.cifar_like())
    return {TOY.name: (TOY, path)}


def test_round_trip(tmp_path):
    assert_round_trip(TOY.name, tmp_path, *contracts.cifar_like(9))
    assert_round_trip(TOY.name, tmp_path / "mixed", *mixed_shapes(np.uint16, (3, 1, 0)))


@pytest.mark.parametrize(("ids", "first_bad"), contracts.BAD_IDS)
def test_ids_outside_the_store(ids, first_bad, stores):
    contracts.test_ids_outside_the_store_raise_index_error_before_reading(TOY.name, ids, first_bad, stores)


@pytest.mark.parametrize("ids", [[4, 4, 4], [5, 0, 3, 1], [], list(range(contracts.COUNT))[::-1]])
def test_ids_in_any_order(ids, stores):
    contracts.test_repeated_and_unsorted_ids_read_in_the_order_asked(TOY.name, ids, stores)
    contracts.test_no_ids_read_nothing(TOY.name, stores)


@pytest.mark.parametrize("case", sorted(contracts.REFUSED))
def test_bad_input_is_refused(case, tmp_path):
    contracts.test_bad_input_is_refused_before_anything_is_written(TOY.name, case, tmp_path)


def test_an_incomplete_store_is_refused_and_a_whole_one_opens_by_its_manifest(tmp_path):
    contracts.test_a_store_without_its_completion_marker_is_refused(TOY.name, tmp_path)
    images, labels = contracts.cifar_like()
    TOY.store(tmp_path / "whole").write(images, labels)
    with open_store(tmp_path / "whole") as dataset:
        image, label = dataset[2]
    np.testing.assert_array_equal(image, images[2])
    assert label == labels[2]


PIPELINE = {
    "dataset": {"source": "synthetic", "size": 20, "seed": 1},
    "cutoffs": [10],
    "methods": [TOY.name],
    "caches": ["warm"],
    "timing": {"min_samples": 1, "max_samples": 1, "max_seconds": 0.1},
    "verdicts": {"min_samples": 2, "max_samples": 1, "max_seconds": 0.1},
    "paper": False,
    "integrity": {"trials": 0},
    "aa_twins": [],
}
"""The smallest run: one method, one cutoff, one sample of each case from a warm page cache."""


@pytest.mark.slow
def test_the_toy_runs_through_the_pipeline_named_by_the_environment(tmp_path):
    """Snakemake and its jobs are other processes: IMAGESTORES_METHODS registers the toy in each."""
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(PIPELINE))
    tests = os.path.dirname(os.path.abspath(__file__))
    path = os.pathsep.join(filter(None, (tests, os.environ.get("PYTHONPATH"))))
    env = os.environ | {"CI": "1", "PYTHONPATH": path, registry.EXTRA_METHODS: "toy_method:register"}
    run = subprocess.run(
        snakemake_command("config.yaml", "--cores", "2"),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    results = tmp_path / "results"
    timings = pd.read_csv(results / "timings.csv")
    assert set(timings["method"]) == {TOY.name} and set(timings["cache"]) <= {"warm", "none"}
    usage = pd.read_csv(results / "disk_usage.csv", keep_default_na=False).iloc[0]
    assert (usage["method"], usage["note"]) == (TOY.name, "") and usage["files"] >= 1
    assert f"| {TOY.name} |" in (results / "summary.md").read_text()
