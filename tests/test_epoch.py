"""The epoch operation: rows per worker count and cache, verified reads, a clean skip without torch."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from test_stores import cifar_like

from imagestores.measure import cases, epoch
from imagestores.measure.sampling import Sampling
from imagestores.measure.timing import ReadMismatch
from imagestores.stores import get


def plan(images, labels, root, **loader) -> cases.Plan:
    """Two samples of an epoch with 0 and 2 workers, warm and cold, in batches of 8."""
    settings = {
        "loader": {"batch_size": 8, "workers": [0, 2]} | loader,
        "caches": ["warm", "cold"],
        "drop_caches": False,
        "random_reads": 5,
    }
    return cases.Plan(images, labels, root, settings, Sampling(min_samples=2, max_samples=2), {})


def time_epochs(method, store, images, labels, **loader) -> list:
    rows = cases.time_epochs(
        {method.name: method}, {method.name: store}, plan(images, labels, store.parent, **loader), seeded()
    )
    return rows[method.name]


def seeded() -> np.random.Generator:
    return np.random.default_rng(0)


def written(tmp_path, name="lmdb_raw", count=30):
    images, labels = cifar_like(count)
    get(name).store(tmp_path / name).write(images, labels)
    return get(name), tmp_path / name, images, labels


def test_every_worker_count_and_cache_state_gets_an_epoch_and_a_first_batch_row(tmp_path):
    pytest.importorskip("torch")
    method, store, images, labels = written(tmp_path)
    rows = time_epochs(method, store, images, labels)
    timed = {(row.operation, row.cache) for row in rows}
    assert timed == {
        (operation, state)
        for workers in (0, 2)
        for operation in (f"epoch_w{workers}", f"first_batch_w{workers}")
        for state in ("warm", "cold")
    }
    assert len(rows) == 2 * 2 * 2 * 2
    for row in rows:
        first = row.operation.startswith("first_batch")
        assert row.images == (8 if first else 30)
        assert row.bytes == row.images * images[0].nbytes
        assert row.seconds > 0
        assert (row.eviction != "") == (row.cache == "cold")


def test_an_epoch_that_reads_other_images_fails(tmp_path):
    pytest.importorskip("torch")
    method, store, images, labels = written(tmp_path, "npy")
    other = images.copy()
    other[17, 0, 0, 0] ^= 1
    with pytest.raises(ReadMismatch, match="image 17 read back differs"):
        time_epochs(method, store, other, labels, workers=[0])


def test_timed_epochs_check_their_labels_against_the_order():
    method = get("npy")
    labels = np.arange(10)
    order = np.array([3, 1, 2, 0, 9, 8, 7, 6, 5, 4])
    epoch.check_labels(method, [labels[order[:4]], labels[order[4:8]], labels[order[8:]]], labels, order, 4)
    with pytest.raises(ReadMismatch, match="other labels"):
        epoch.check_labels(method, [labels[order[:4]], labels[order[4:8]]], labels, order, 4)
    with pytest.raises(ReadMismatch, match="other labels"):
        epoch.check_labels(method, [labels[:4], labels[4:8], labels[8:]], labels, order, 4)


def epoch_rows(method, images, labels, root, **loader) -> list:
    """The epoch rows of every case ``cases.time_methods`` times for ``method``."""
    rows, _ = cases.time_methods({method.name: method}, plan(images, labels, root, **loader), seeded())
    return [row for row in rows[method.name] if row.operation.startswith(("epoch", "first_batch"))]


def test_without_torch_the_epoch_is_skipped_with_the_reason_and_the_fix(tmp_path, monkeypatch, caplog):
    images, labels = cifar_like(12)
    monkeypatch.setattr(epoch.importlib.util, "find_spec", lambda name: None)
    assert "torch is not installed" in epoch.unavailable() and ".[loaders]" in epoch.unavailable()
    with caplog.at_level(logging.WARNING):
        assert epoch_rows(get("lmdb_raw"), images, labels, tmp_path) == []
    assert "epoch operation skipped: torch is not installed" in caplog.text


def test_epochs_are_timed_at_cutoffs_of_min_images_and_always_at_the_largest():
    assert epoch.timed_cutoffs([10, 100, 1000, 10000], 1000) == [1000, 10000]
    assert epoch.timed_cutoffs([10, 40], 1000) == [40]
    assert epoch.timed_cutoffs([40, 10], 1) == [10, 40]


def test_a_cutoff_that_times_no_epochs_gives_no_rows(tmp_path, caplog):
    images, labels = np.zeros((4, 2, 2, 3), np.uint8), np.arange(4)
    caplog.set_level("INFO")
    assert epoch_rows(get("npy"), images, labels, tmp_path, workers=[0], timed=False) == []
    assert "below loader.min_images" in caplog.text
