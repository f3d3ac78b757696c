"""A damaged store is an error, never a crash, and never wrong images where the format can know (issue 13).

Damage is done to a copy and read in child processes (``imagestores.measure.integrity``), so a reader
killed by a signal shows as ``crashed`` instead of killing the tests.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from imagestores.measure import integrity
from imagestores.stores import METHODS, DamagedStore, get

ALL = sorted(METHODS)


def written(name, path, count=5, options=None):
    rng = np.random.default_rng(4)
    images = rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8)
    spec = name if options is None else {"name": f"{name}_x", "method": name, "options": options}
    from imagestores.stores import resolve

    labels = rng.integers(0, 10, count)
    resolve(spec).store(path).write(images, labels)
    data = path.parent / "data"  # the prepared data the reading child takes its buffers' shapes from
    data.mkdir(exist_ok=True)
    np.save(data / "images.npy", images)
    np.save(data / "labels.npy", labels)
    (data / "dataset.json").write_text(json.dumps({"source": "synthetic"}))
    return spec


def trials(spec, path, tmp_path, damages, **keywords):
    count = len(np.load(path.parent / "data" / "labels.npy"))
    return integrity.run_trials(
        spec, path, tmp_path / "copy", path.parent / "data", count, damages, **keywords
    )


@pytest.mark.parametrize("name", ALL)
def test_truncating_any_file_is_an_error_never_a_crash_or_wrong_images(name, tmp_path):
    """Every file of the store cut to half and to nothing, in turn; each read in a child process.

    ``unaffected`` is allowed: a file reads never use (LMDB's lock file, Lance's transaction log) may be
    cut without changing what is read.
    """
    spec = written(name, tmp_path / "s")
    damages = integrity.truncations(tmp_path / "s")
    results = trials(spec, tmp_path / "s", tmp_path, damages)
    assert len(results) == len(damages) and damages
    bad = [f"{trial.damage.describe()}: {trial.outcome} {trial.detail}" for trial in results]
    assert all(trial.outcome in ("detected", "unaffected") for trial in results), bad
    assert any(trial.outcome == "detected" for trial in results)
    assert not (tmp_path / "copy").exists()


@pytest.mark.parametrize("name", ["lmdb", "lmdb_raw"])
def test_a_truncated_lmdb_is_refused_at_open_naming_the_file(name, tmp_path):
    """LMDB maps its file and would die with SIGBUS on a missing page: open compares sizes first."""
    written(name, tmp_path / "s", count=50)
    data = tmp_path / "s" / "data.mdb"
    integrity.Damage("data.mdb", data.stat().st_size // 2, truncate=True).apply(tmp_path / "s")
    with pytest.raises(DamagedStore, match=rf"{data}: \d+ bytes, but LMDB's meta page says"):
        get(name).store(tmp_path / "s").open()


@pytest.mark.parametrize("name", ["chunks_seek", "npy", "webdataset"])
def test_a_truncated_index_or_array_is_refused_at_open(name, tmp_path):
    """A count that differs from the completion marker's is a damaged store, named as such."""
    written(name, tmp_path / "s", count=20)
    index = {"chunks_seek": "index.bin", "npy": "labels.npy", "webdataset": "index.npy"}[name]
    path = tmp_path / "s" / index
    integrity.Damage(index, path.stat().st_size - 40, truncate=True).apply(tmp_path / "s")
    with pytest.raises(DamagedStore, match=str(tmp_path / "s")):
        get(name).store(tmp_path / "s").open()


def test_flips_land_at_seeded_positions_inside_the_files(tmp_path):
    written("chunks_seek", tmp_path / "s")
    first = integrity.flips(tmp_path / "s", 8, seed=1)
    assert first == integrity.flips(tmp_path / "s", 8, seed=1)
    sizes = dict(integrity.store_files(tmp_path / "s"))
    assert all(d.offset >= 0 and d.offset + d.span <= sizes[d.file] and d.span for d in first)


def test_flipped_raw_pixels_are_wrong_images_and_the_copy_is_restored(tmp_path):
    spec = written("npy", tmp_path / "s", count=50)
    images = tmp_path / "s" / "images.npy"
    before = images.read_bytes()
    damage = integrity.Damage("images.npy", images.stat().st_size - 3000, 64)
    results = trials(spec, tmp_path / "s", tmp_path, [damage, damage])
    assert [trial.outcome for trial in results] == ["wrong", "wrong"]
    assert results[0].detail == "1 images differ"
    assert images.read_bytes() == before, "the measured store itself is never damaged"
    assert integrity.verdict(results) == "wrong 2 of 2"


def test_a_reader_that_does_not_answer_is_recorded_as_crashed_and_the_rest_go_on(tmp_path):
    spec = written("npy", tmp_path / "s")
    damages = [integrity.Damage("images.npy", 200, 8)] * 2
    results = trials(spec, tmp_path / "s", tmp_path, damages, trial_seconds=0.001)
    assert [(trial.outcome, trial.detail) for trial in results] == [("crashed", "hung")] * 2


def test_verdict_counts_outcomes_in_a_fixed_order():
    damage = integrity.Damage("f", 0, 1)
    outcomes = ["unaffected", "detected", "detected", "wrong"]
    trials_ = [integrity.Trial(damage, outcome) for outcome in outcomes]
    assert integrity.verdict(trials_) == "detected 2, wrong 1, unaffected 1 of 4"


CHECKSUMMED = ["chunks_mmap", "chunks_seek", "hdf5", "hdf5_direct", "lmdb_raw", "parquet", "sqlite"]
CHECKSUMMED += ["webdataset", "zarr", "zarr_batched"]


@pytest.mark.parametrize("name", CHECKSUMMED)
def test_with_checksums_flipped_bytes_are_detected_never_wrong_images(name, tmp_path):
    """Sixteen seeded 64-byte flips over the whole store; every one is noticed or changes nothing read."""
    spec = written(name, tmp_path / "s", count=50, options={"checksums": True})
    results = trials(spec, tmp_path / "s", tmp_path, integrity.flips(tmp_path / "s", 16, seed=1))
    bad = [f"{trial.damage.describe()}: {trial.outcome} {trial.detail}" for trial in results]
    assert all(trial.outcome in ("detected", "unaffected") for trial in results), bad
    assert sum(trial.outcome == "detected" for trial in results) >= 8


@pytest.mark.parametrize("name", ["chunks_seek", "lmdb_raw", "sqlite", "webdataset"])
def test_a_checksum_mismatch_names_where_the_damage_is(name, tmp_path):
    """Bytes inverted inside image 10's pixels (raw, so they can be found in the file)."""
    options = {"checksums": True, "encoding": "raw"}
    spec = written(name, tmp_path / "s", count=20, options=options)
    pixels = np.random.default_rng(4).integers(0, 256, (20, 32, 32, 3), dtype=np.uint8)[10].tobytes()
    largest = max(integrity.store_files(tmp_path / "s"), key=lambda file: file[1])[0]
    offset = (tmp_path / "s" / largest).read_bytes().index(pixels) + 100
    results = trials(spec, tmp_path / "s", tmp_path, [integrity.Damage(largest, offset, 64)])
    assert results[0].outcome == "detected"
    assert "checksum mismatch" in results[0].detail and str(tmp_path / "copy") in results[0].detail


def test_the_studys_hdf5_has_no_checksums_unless_asked(tmp_path):
    import h5py

    for checksums, path in ((False, tmp_path / "plain"), (True, tmp_path / "summed")):
        written("hdf5", path, options={"checksums": checksums} if checksums else None)
        with h5py.File(path / "images.h5") as file:
            assert file["images"].fletcher32 is checksums
            assert (file["images"].chunks is None) is not checksums
