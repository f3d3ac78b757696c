"""The training loaders' formats as methods: LitData chunks (``litdata``) and MosaicML Streaming's MDS shards
(``mds``), written and read by their own libraries (issue 11).

The registry-wide suites (test_stores, test_contracts, test_integrity, test_loading, test_folder) cover
them as every other method; these tests check what is particular to them: the stores are the libraries'
own datasets, read back exactly through the store and through ``open_store``, refused when the library is
missing, and an error when damaged. Tests of a method whose library is not installed here are skipped
with the reason (conftest.py).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from shard_damage import assert_a_cut_or_missing_file_is_refused, assert_round_trip

from imagestores import open_store
from imagestores.stores import DamagedStore, MissingLibrary, UnsupportedInput, get, resolve
from imagestores.stores.base import MARKER
from imagestores.stores.litdata_chunks import LitDataChunks
from imagestores.stores.mds_shards import MdsShards

LOADERS = ["litdata", "mds"]


def mixed() -> tuple[list[np.ndarray], np.ndarray]:
    """Images of differing shapes and pixel types, as a folder gives them, with labels beyond uint8."""
    rng = np.random.default_rng(11)
    images = [
        rng.integers(0, 256, (32, 32, 3), dtype=np.uint8),
        rng.integers(0, 65536, (20, 9), dtype=np.uint16),
        rng.integers(0, 256, (7, 40, 4), dtype=np.uint8),
        rng.integers(0, 65536, (13, 17, 1), dtype=np.uint16),
    ]
    return images, np.array([3, 70_000, -2, 9], dtype=np.int64)


def own_dataset(name: str, path):
    """The store read with nothing but its library: LitData's StreamingDataset, streaming's LocalDataset."""
    if name == "litdata":
        from litdata import StreamingDataset

        return StreamingDataset(input_dir=str(path))
    from streaming import LocalDataset

    return LocalDataset(str(path))


@pytest.mark.parametrize("name", LOADERS)
def test_mixed_images_round_trip_through_the_store_and_open_store(name, tmp_path):
    images, labels = mixed()
    path = tmp_path / name
    get(name).store(path).write(images, labels)
    assert_round_trip(name, path, images, labels)
    with open_store(path) as dataset:
        batch = dataset.__getitems__([3, 1])
        assert [label for _, label in batch] == [9, 70_000]
        np.testing.assert_array_equal(batch[0][0], images[3])


@pytest.mark.parametrize("name", LOADERS)
def test_the_store_is_the_librarys_own_dataset_each_sample_decodable_alone(name, tmp_path):
    rng = np.random.default_rng(5)
    images = rng.integers(0, 256, (9, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, 9)
    path = tmp_path / name
    get(name).store(path).write(images, labels)
    dataset = own_dataset(name, path)
    assert len(dataset) == 9
    for index in (8, 0, 4):
        sample = dataset[index]
        shape = tuple(int(length) for length in sample["shape"].split(","))
        pixels = np.frombuffer(sample["image"], dtype=np.dtype(sample["dtype"])).reshape(shape)
        np.testing.assert_array_equal(pixels, images[index])
        assert sample["label"] == labels[index]


@pytest.mark.parametrize("name", LOADERS)
def test_png_samples_round_trip_and_refuse_what_png_cannot_hold(name, tmp_path):
    spec = {"name": f"{name}_png", "method": name, "options": {"encoding": "png", "shard_bytes": 4096}}
    method = resolve(spec)
    rng = np.random.default_rng(6)
    images = rng.integers(0, 256, (12, 32, 32, 3), dtype=np.uint8)
    labels = np.arange(12)
    method.store(tmp_path / "png").write(images, labels)
    with open_store(tmp_path / "png") as dataset:
        assert len(list((tmp_path / "png").glob("*.*"))) > 5, "4 KiB shards: one PNG sample or two each"
        for index in (11, 0, 6):
            np.testing.assert_array_equal(dataset[index][0], images[index])
    colour16 = [np.zeros((8, 8, 3), dtype=np.uint16)]
    with pytest.raises(UnsupportedInput, match="PNG"):
        method.store(tmp_path / "refused").write(colour16, np.zeros(1, dtype=np.int64))
    assert not (tmp_path / "refused").exists() and not list(tmp_path.glob(".refused*"))


def loader_files(path) -> list[str]:
    """The data files a LitData or MDS index lists."""
    index = json.loads((path / "index.json").read_text())
    if "chunks" in index:
        return [chunk["filename"] for chunk in index["chunks"]]
    return [shard["raw_data"]["basename"] for shard in index["shards"]]


@pytest.mark.parametrize("name", LOADERS)
def test_a_truncated_or_missing_data_file_is_a_damaged_store(name, tmp_path):
    assert_a_cut_or_missing_file_is_refused(name, tmp_path / name, loader_files)


@pytest.mark.parametrize("name", LOADERS)
def test_samples_that_disagree_with_the_manifest_are_an_error_not_misshapen_images(name, tmp_path):
    images = np.random.default_rng(9).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    path = tmp_path / name
    get(name).store(path).write(images, np.arange(4))
    manifest = json.loads((path / MARKER).read_text())
    (path / MARKER).write_text(json.dumps(manifest | {"shape": [16, 64, 3]}))
    with pytest.raises(DamagedStore, match=r"sample 2 holds an image of shape \(32,32,3\)"):
        open_store(path)[2]


@pytest.mark.parametrize("store_class", [LitDataChunks, MdsShards], ids=["litdata", "mds"])
def test_without_its_library_a_method_refuses_to_write_or_open_saying_how_to_install_it(
    store_class, tmp_path, monkeypatch
):
    """Runs with or without the libraries: the reason is what ``unavailable`` says when one is missing."""
    images = np.zeros((2, 4, 4, 3), dtype=np.uint8)
    path = tmp_path / "store"
    path.mkdir()
    (path / MARKER).write_text(json.dumps({"count": 2, "target": "x:y"}))
    monkeypatch.setattr(
        store_class, "unavailable", classmethod(lambda cls: f"{cls.package} is not installed")
    )
    with pytest.raises(MissingLibrary, match=f"{store_class.package} is not installed"):
        store_class(tmp_path / "new").write(images, np.arange(2))
    assert not (tmp_path / "new").exists() and not list(tmp_path.glob(".new*"))
    with pytest.raises(MissingLibrary, match=f"{store_class.package} is not installed"):
        store_class(path).open()
    assert issubclass(MissingLibrary, UnsupportedInput), "the pipeline skips it as a method that cannot hold"


def test_the_install_hints_name_how_the_readme_installs_each_library():
    from imagestores.stores._sample_shards import import_problem

    assert 'pip install --editable ".[loaders]"' in LitDataChunks.install
    assert "--no-deps -r requirements/mds.txt" in MdsShards.install
    reason = import_problem("imagestores_no_such_library", "no-such-library", "install it")
    assert reason == "no-such-library is not installed; install it"
