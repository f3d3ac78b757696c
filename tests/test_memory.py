"""Peak memory counts what an operation allocates, and only that, in a fresh interpreter."""

from __future__ import annotations

import os
import time
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from test_stores import read_back

from imagestores.measure.memory import SAMPLE_SECONDS, MemoryRunFailed, PeakMemory, peak_in_fresh_process
from imagestores.stores import _chunk_files as chunks
from imagestores.stores import get
from imagestores.stores import webdataset_shards as webdataset

MiB = 2**20


def allocating(setup_mib: int, work_mib: int):
    """Set-up that holds ``setup_mib`` (not to be counted), work that touches ``work_mib`` (to be counted)."""
    held = [np.ones(setup_mib * MiB, dtype=np.uint8)]

    def work() -> None:
        held.append(np.ones(work_mib * MiB, dtype=np.uint8))  # still held at the last sample

    return work


def tiny_images(count: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` one-pixel images and distinct labels: the index is most of what a store keeps per image."""
    return np.arange(count, dtype=np.uint8).reshape(count, 1, 1, 1), np.arange(count, dtype=np.int64)


def writing_tiny_images(method: str, count: int, store: str, options: dict):
    return partial(get(method).store_class()(store, **options).write, *tiny_images(count))


def failing():
    raise ValueError("the set-up of this operation is broken")


@pytest.fixture
def importable_tests(monkeypatch):
    """Let the child interpreter import this module."""
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent), prepend=os.pathsep)


def test_peak_memory_sees_an_allocation_freed_before_the_end():
    with PeakMemory() as peak:
        block = np.ones(48 * MiB, dtype=np.uint8)
        deadline = time.monotonic() + 60  # waits for the sampler to see it, however slow the machine
        while peak.peak - peak.baseline < 48 * MiB and time.monotonic() < deadline:
            time.sleep(SAMPLE_SECONDS)
        del block
    assert 48 * MiB <= peak.growth_bytes < 64 * MiB


def test_a_fresh_process_counts_the_work_and_not_its_set_up(importable_tests):
    growth = peak_in_fresh_process(f"{__name__.rpartition('.')[2]}:allocating", setup_mib=96, work_mib=32)
    assert 32 * MiB <= growth < 48 * MiB


@pytest.mark.slow
@pytest.mark.parametrize(
    ("method", "options", "index_row"),
    [
        ("chunks_seek", {}, chunks.index_dtype(np.dtype(np.int64))),
        ("webdataset", {"shard_samples": 100}, webdataset.INDEX_DTYPE),
    ],
)
def test_a_sharded_write_streams_its_index_to_disk(importable_tests, tmp_path, method, options, index_row):
    """Held in memory until the end, the index of 200,000 images would take 7 to 9 MB; batches do not.

    Small shards, because ``tarfile`` keeps every member of the shard it writes in memory.
    """
    count = 200_000
    index_bytes = count * index_row.itemsize
    store = tmp_path / "store"
    growth = peak_in_fresh_process(
        f"{__name__.rpartition('.')[2]}:writing_tiny_images",
        method=method,
        count=count,
        store=str(store),
        options=options,
    )
    assert growth < index_bytes / 3
    images, labels = tiny_images(count)
    got, labels_got = read_back(method, store, images, labels, np.arange(count))
    assert (got == images).all() and (labels_got == labels).all()


def test_a_failing_memory_run_raises_with_the_child_s_error(importable_tests):
    with pytest.raises(MemoryRunFailed, match="set-up of this operation is broken"):
        peak_in_fresh_process(f"{__name__.rpartition('.')[2]}:failing")
