"""The harness refuses numbers it cannot trust: wrong data, impossible speed, a store that cannot hold."""

from __future__ import annotations

import json
import multiprocessing
import time

import numpy as np
import pandas as pd
import pytest

from imagestores.measure import cases, epoch, store_job
from imagestores.measure import timing as bench
from imagestores.measure.floor import SuspectTiming
from imagestores.measure.sampling import Sampling
from imagestores.report.gather import gather_timings
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
        "timing": {"min_samples": 1, "max_samples": 1},
        "random_reads": 5,
        "caches": ["warm"],
        "drop_caches": False,
        "stores": {"root": str(tmp_path / "stores"), "keep": True},
        "integrity": {"trials": 4, "max_images": 10_000},
        "loader": {"batch_size": 256, "workers": [0]},
        "filter": {"column": "label", "value": 3},
    }


def time_reads(method, store, images, labels, caches=("warm",), **timing) -> list[bench.Measurement]:
    """The read rows of one method's store, as a measure job times them (no filter)."""
    run = {"random_reads": 5, "caches": list(caches), "drop_caches": False}
    rules = Sampling(**({"min_samples": 1, "max_samples": 2} | timing))
    plan = cases.Plan(images, labels, store.parent, run, rules, {})
    rows = cases.time_reads({method.name: method}, {method.name: store}, plan, np.random.default_rng(0))
    return rows[method.name]


def test_a_reader_returning_wrong_images_fails_the_measurement(tmp_path):
    images, labels = images_and_labels()
    broken = Method("off_by_one", f"{__name__}:OffByOne", "arrays", "a deliberately wrong reader")
    broken.store(tmp_path / "s").write(images, labels)
    with pytest.raises(bench.ReadMismatch, match="off_by_one"):
        time_reads(broken, tmp_path / "s", images, labels)


def test_a_read_faster_than_physics_allows_fails_the_measurement(tmp_path, monkeypatch):
    """With the floor set absurdly high (1 KB/s as the fastest possible copy) every real read is suspect."""
    images, labels = images_and_labels()
    get("npy").store(tmp_path / "s").write(images, labels)
    monkeypatch.setattr(cases, "physical_floor_bandwidth", lambda: 1e3)
    with pytest.raises(SuspectTiming):
        time_reads(get("npy"), tmp_path / "s", images, labels)


def test_honest_reads_pass_the_floor_measured_on_this_machine(tmp_path):
    images, labels = images_and_labels()
    get("npy").store(tmp_path / "s").write(images, labels)
    rows = time_reads(get("npy"), tmp_path / "s", images, labels, CACHES)
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


def outputs(tmp_path) -> store_job.MeasureOutputs:
    return store_job.MeasureOutputs(tmp_path / "timings.csv", tmp_path / "usage.csv", tmp_path / "memory.csv")


def test_a_method_that_cannot_hold_the_data_is_skipped_with_its_reason(tmp_path):
    """uint16 images in a JPEG variant: no timings, and the disk-usage row says why."""
    data = prepared(tmp_path, np.zeros((20, 8, 8, 3), dtype=np.uint16), np.zeros(20, dtype=np.uint8))
    spec = {"name": "parquet_jpeg", "method": "parquet", "options": {"encoding": "jpeg"}}
    usage = tmp_path / "usage.csv"
    store_job.measure_job(spec, data, 20, settings(tmp_path), outputs(tmp_path))
    assert pd.read_csv(tmp_path / "timings.csv").empty and pd.read_csv(tmp_path / "memory.csv").empty
    row = pd.read_csv(usage).iloc[0]
    assert row["method"] == "parquet_jpeg"
    assert "uint16; ParquetTable with the jpeg encoding stores only uint8" in row["note"]
    assert not (tmp_path / "stores" / "parquet_jpeg" / "20").exists()


def test_every_operation_has_its_peak_memory_measured_apart(tmp_path):
    """The study's LMDB holds every written image in its one transaction, and read_many fills one buffer of
    all 2,000 images: both must show at least those bytes. Only the kept store is left behind. Gathered,
    every row of an operation carries its peak; epochs have none."""
    count = 2000
    images, labels = images_and_labels(count)
    data = prepared(tmp_path, images, labels)
    # In a new interpreter, as Snakemake runs the job: its memory processes are forked from a clean one.
    arguments = ("lmdb", data, count, settings(tmp_path), outputs(tmp_path))
    job = multiprocessing.get_context("spawn").Process(target=store_job.measure_job, args=arguments)
    job.start()
    job.join()
    assert job.exitcode == 0
    peaks = pd.read_csv(tmp_path / "memory.csv").set_index("operation")["peak_anon_bytes"]
    assert set(peaks.index) == set(bench.OPERATIONS)
    gather_timings([tmp_path / "timings.csv"], [tmp_path / "memory.csv"], tmp_path / "gathered.csv")
    gathered = pd.read_csv(tmp_path / "gathered.csv").groupby("operation")["peak_anon_bytes"].max()
    epochs = {"epoch_w0", "first_batch_w0"} if not epoch.unavailable() else set()
    assert set(gathered.dropna().index) == set(bench.OPERATIONS)
    assert set(gathered.index) - set(bench.OPERATIONS) == epochs
    assert peaks["store_many"] >= images.nbytes and peaks["read_many"] >= images.nbytes
    assert peaks["store_one"] < images.nbytes
    assert [path.name for path in (tmp_path / "stores" / "lmdb").iterdir()] == [str(count)]
    assert pd.read_csv(tmp_path / "usage.csv")["integrity"].iloc[0].endswith(" of 4")


def test_a_job_asked_to_pause_waits_with_its_store_written_in_partial(tmp_path, monkeypatch):
    """What tests/test_resume.py kills: the job says it paused, its store whole in ``{cutoff}.partial``,
    none of its tables written."""
    images, labels = images_and_labels(20)
    data = prepared(tmp_path, images, labels)
    paused = tmp_path / "paused"
    monkeypatch.setenv(store_job.PAUSE, str(paused))
    arguments = ("npy", data, 20, settings(tmp_path), outputs(tmp_path))
    job = multiprocessing.get_context("spawn").Process(target=store_job.measure_job, args=arguments)
    job.start()
    try:
        while job.is_alive() and not paused.exists():
            time.sleep(0.1)
        assert paused.read_text().strip() == str(job.pid) and job.is_alive()
        assert (tmp_path / "stores" / "npy" / "20.partial" / "npy" / "store").is_dir()
        assert not (tmp_path / "stores" / "npy" / "20").exists()
        assert not (tmp_path / "timings.csv").exists()
    finally:
        job.kill()
        job.join()


def test_a_batched_read_records_its_loops_and_seconds_per_call(tmp_path):
    images, labels = images_and_labels()
    method = get("npy")
    method.store(tmp_path / "store").write(images, labels)
    rows = time_reads(method, tmp_path / "store", images, labels, min_samples=2, min_sample_seconds=0.005)
    timed = {(row.operation, row.cache) for row in rows}
    assert len(timed) == 3 and len(rows) >= 6
    for case in timed:
        assert len({row.loops for row in rows if (row.operation, row.cache) == case}) == 1
    assert all(row.loops >= 1 and row.seconds > 0 for row in rows)
