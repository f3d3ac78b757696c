"""The harness refuses numbers it cannot trust: wrong data, impossible speed, a store that cannot hold."""

from __future__ import annotations

import json
import multiprocessing

import numpy as np
import pandas as pd
import pytest

from imagestores.measure import epoch, jobs
from imagestores.measure import timing as bench
from imagestores.measure.floor import SuspectTiming
from imagestores.stores import Method, get
from imagestores.stores.npy_array import NpyArray

CACHES = ("warm", "cold")


class OffByOne(NpyArray):
    """A store whose reader returns the neighbour of every image asked for."""

    def open(self):
        reader = super().open()
        read_into = reader.read_into
        reader.read_into = lambda indices, images, labels: read_into(
            (indices + 1) % reader.count, images, labels
        )
        return reader


def images_and_labels(count: int = 40):
    rng = np.random.default_rng(11)
    return rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8), np.arange(count, dtype=np.int64) % 10


def prepared(tmp_path, images, labels):
    """A data directory as the prepare_dataset rule leaves it."""
    data = tmp_path / "data"
    data.mkdir()
    np.save(data / "images.npy", images)
    np.save(data / "labels.npy", labels)
    (data / "dataset.json").write_text(json.dumps({"source": "synthetic"}))
    return data


def settings(tmp_path):
    """measure_job's settings for a quick run that keeps its store under ``tmp_path``."""
    return {
        "repeats": 1,
        "random_reads": 5,
        "caches": ["warm"],
        "drop_caches": False,
        "stores": {"root": str(tmp_path / "stores"), "keep": True},
        "integrity": {"trials": 4, "max_images": 10_000},
        "loader": {"batch_size": 256, "workers": [0]},
        "filter": {"column": "label", "value": 3},
    }


def test_a_reader_returning_wrong_images_fails_the_measurement(tmp_path):
    images, labels = images_and_labels()
    broken = Method("off_by_one", f"{__name__}:OffByOne", "arrays", "a deliberately wrong reader")
    broken.store(tmp_path / "s").write(images, labels)
    with pytest.raises(bench.ReadMismatch, match="off_by_one"):
        bench.time_reads(broken, tmp_path / "s", images, labels, repeats=1, random_reads=5, caches=("warm",))


def test_a_read_faster_than_physics_allows_fails_the_measurement(tmp_path):
    """With the floor set absurdly high (1 KB/s as the fastest possible copy) every real read is suspect."""
    images, labels = images_and_labels()
    get("npy").store(tmp_path / "s").write(images, labels)
    with pytest.raises(SuspectTiming):
        bench.time_reads(
            get("npy"), tmp_path / "s", images, labels, 1, 5, caches=("warm",), floor_bandwidth=1e3
        )


def test_honest_reads_pass_the_floor_measured_on_this_machine(tmp_path):
    images, labels = images_and_labels()
    get("npy").store(tmp_path / "s").write(images, labels)
    rows = bench.time_reads(get("npy"), tmp_path / "s", images, labels, 2, 5, caches=CACHES)
    assert {(row.operation, row.cache) for row in rows} == {
        (operation, cache)
        for operation in ("read_many", "read_one", "read_random")
        for cache in ("warm", "cold")
    }
    assert all(row.seconds > 0 for row in rows)


def test_a_lossy_store_within_tolerance_passes_and_a_wrong_one_does_not(tmp_path):
    jpeg = Method(
        "jpeg", "imagestores.stores.chunks_seek:ChunkSeekStore", "shards", "lossy", {"encoding": "jpeg"}
    )
    smooth = np.broadcast_to(np.linspace(0, 255, 32, dtype=np.uint8)[None, :, None, None], (4, 32, 32, 3))
    images, labels = np.ascontiguousarray(smooth), np.arange(4)
    jpeg.store(tmp_path / "s").write(images, labels)
    bench.read_all(jpeg, tmp_path / "s", images, labels)  # within 25 dB: no error
    with pytest.raises(bench.ReadMismatch, match=r"below 25\.0 dB"):
        bench.read_all(jpeg, tmp_path / "s", 255 - images, labels)


def test_a_method_that_cannot_hold_the_data_is_skipped_with_its_reason(tmp_path):
    """uint16 images in a JPEG variant: no timings, and the disk-usage row says why."""
    data = prepared(tmp_path, np.zeros((20, 8, 8, 3), dtype=np.uint16), np.zeros(20, dtype=np.uint8))
    spec = {"name": "parquet_jpeg", "method": "parquet", "options": {"encoding": "jpeg"}}
    timings, usage = tmp_path / "timings.csv", tmp_path / "usage.csv"
    jobs.measure_job(spec, data, 20, settings(tmp_path), timings, usage)
    assert pd.read_csv(timings).empty
    row = pd.read_csv(usage).iloc[0]
    assert row["method"] == "parquet_jpeg"
    assert "uint16; ParquetTable with the jpeg encoding stores only uint8" in row["note"]
    assert not (tmp_path / "stores" / "parquet_jpeg" / "20").exists()


def test_every_row_carries_the_peak_memory_of_its_operation_measured_apart(tmp_path):
    """The study's LMDB holds every written image in its one transaction, and read_many fills one buffer of
    all 2,000 images: both must show at least those bytes. Only the kept store is left behind."""
    count = 2000
    images, labels = images_and_labels(count)
    data = prepared(tmp_path, images, labels)
    timings = tmp_path / "timings.csv"
    # In a new interpreter, as Snakemake runs the job: its memory processes are forked from a clean one.
    arguments = ("lmdb", data, count, settings(tmp_path), timings, tmp_path / "usage.csv")
    job = multiprocessing.get_context("spawn").Process(target=jobs.measure_job, args=arguments)
    job.start()
    job.join()
    assert job.exitcode == 0
    peaks = pd.read_csv(timings).groupby("operation")["peak_anon_bytes"].max()
    assert set(peaks.dropna().index) == set(bench.OPERATIONS)
    epochs = {"epoch_w0", "first_batch_w0"} if not epoch.unavailable() else set()
    assert set(peaks.index) - set(bench.OPERATIONS) == epochs  # epochs have no peak memory
    assert peaks["store_many"] >= images.nbytes and peaks["read_many"] >= images.nbytes
    assert peaks["store_one"] < images.nbytes
    assert [path.name for path in (tmp_path / "stores" / "lmdb").iterdir()] == [str(count)]
    assert pd.read_csv(tmp_path / "usage.csv")["integrity"].iloc[0].endswith(" of 4")


class Calls:
    """A stand-in for one timed call: returns the given seconds in turn (the last one forever)."""

    def __init__(self, *seconds: float) -> None:
        self.seconds = list(seconds)
        self.count = 0

    def __call__(self) -> float:
        self.count += 1
        return self.seconds.pop(0) if len(self.seconds) > 1 else self.seconds[0]


def test_calls_too_short_to_time_alone_are_batched_until_a_sample_is_long_enough():
    loops, samples = bench.sample(Calls(1e-4), bench.Repeats(5, min_sample_seconds=0.01))
    assert loops == 128, "doubling from one call until a batch lasts 10 ms (100 calls)"
    assert samples == [pytest.approx(1e-4)] * 5
    assert bench.sample(Calls(0.02), bench.Repeats(3, min_sample_seconds=0.01)) == (1, [0.02] * 3)


def test_noisy_cases_get_more_repeats_up_to_the_bound_and_quiet_ones_do_not():
    quiet = Calls(1.0)
    assert bench.sample(quiet, bench.Repeats(3, max_repeats=10))[1] == [1.0] * 3
    noisy = Calls(*[1.0, 2.0] * 20)
    assert len(bench.sample(noisy, bench.Repeats(3, max_repeats=10))[1]) == 10
    wobbles = Calls(1.0, 1.3, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
    taken = bench.sample(wobbles, bench.Repeats(2, max_repeats=20, max_cv=0.1))[1]
    assert 2 < len(taken) < 20 and bench.coefficient_of_variation(taken) <= 0.1


def test_a_batched_read_records_its_loops_and_seconds_per_call(tmp_path):
    images, labels = images_and_labels()
    method = get("npy")
    method.store(tmp_path / "store").write(images, labels)
    rows = bench.time_reads(
        method, tmp_path / "store", images, labels, bench.Repeats(2, min_sample_seconds=0.005), 5, ["warm"]
    )
    cases = {(row.operation, row.cache) for row in rows}
    assert len(cases) == 3 and len(rows) == 6
    for case in cases:
        assert len({row.loops for row in rows if (row.operation, row.cache) == case}) == 1
    assert all(row.loops >= 1 and row.seconds > 0 for row in rows)
