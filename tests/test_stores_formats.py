"""The formats people store image sets in today as methods: Hugging Face ``datasets`` (``hf_datasets``),
TFRecord (``tfrecord``) and ArrayRecord (``array_record``), written and read by their libraries (issue 26).

The registry-wide suites (test_stores, test_contracts, test_integrity, test_loading, test_folder,
test_filtered) cover them as every other method; these tests check what is particular to them: every pixel
type and mixed shapes round trip, each store is its library's own dataset, damage the format can see is an
error, and without the formats extra each method is refused saying how to install it. Tests of a method
whose library is not installed here are skipped with the reason (conftest.py).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from shard_damage import assert_a_cut_or_missing_file_is_refused, assert_round_trip

from imagestores import open_store
from imagestores.stores import DamagedStore, MissingLibrary, UnsupportedInput, get, resolve
from imagestores.stores.array_record_files import ArrayRecordFiles
from imagestores.stores.base import MARKER
from imagestores.stores.dtypes import NUMERIC_DTYPES
from imagestores.stores.hf_datasets import HfDataset
from imagestores.stores.tfrecord_files import TFRecordFiles

FORMATS = ["hf_datasets", "tfrecord", "array_record"]
SMALL_SHARDS = {"hf_datasets": 4096, "tfrecord": 4096, "array_record": 4096}


def every_dtype() -> tuple[list[np.ndarray], np.ndarray]:
    """One image of each numeric dtype, each of another shape, with labels beyond uint8."""
    rng = np.random.default_rng(26)
    images = []
    for number, dtype in enumerate(sorted(NUMERIC_DTYPES, key=str)):
        shape = (5 + number, 7, 3) if number % 2 else (9, 4 + number)
        images.append((rng.random(shape) * 100).astype(dtype))
    return images, np.arange(len(images), dtype=np.int64) * 10_000 - 3


@pytest.mark.parametrize("name", FORMATS)
def test_every_dtype_and_shape_round_trips_through_the_store_and_open_store(name, tmp_path):
    images, labels = every_dtype()
    path = tmp_path / name
    spec = {"name": name, "method": name, "options": {"shard_bytes": SMALL_SHARDS[name]}}
    resolve(spec).store(path).write(images, labels)
    assert_round_trip(name, path, images, labels)


def own_samples(name: str, path) -> list[dict]:
    """Every sample read with nothing but the format's library (and NumPy): image bytes, label, layout."""
    if name == "hf_datasets":
        import datasets

        dataset = datasets.load_from_disk(str(path))
        encoded = dataset.features["image"] == datasets.Image(decode=False)
        assert encoded or dataset.features["image"] == datasets.Value("binary"), "raw pixels: a binary column"
        return [
            {
                "image": row["image"]["bytes"] if encoded else row["image"],
                "label": row["label"],
                "shape": row["shape"],
                "dtype": row["dtype"],
            }
            for row in dataset
        ]
    if name == "tfrecord":
        from tfrecord.reader import tfrecord_loader

        samples = []
        for record in sorted(path.glob("*.tfrecord")):
            for example in tfrecord_loader(str(record), None):  # its index reader needs 2+ records a file
                samples.append(
                    {
                        "image": bytes(example["image"]),
                        "label": int(example["label"][0]),
                        "shape": example["shape"].tolist(),
                        "dtype": bytes(example["dtype"]).decode(),
                    }
                )
        return samples
    from array_record.python.array_record_data_source import ArrayRecordDataSource

    from imagestores.stores._sample_shards import unpack_sample

    files = [str(file) for file in sorted(path.glob("*.array_record"))]
    samples = [unpack_sample(record) for record in ArrayRecordDataSource(files)]
    return [sample | {"shape": [int(n) for n in sample["shape"].split(",")]} for sample in samples]


@pytest.mark.parametrize("encoding", ["raw", "png"])
@pytest.mark.parametrize("name", FORMATS)
def test_the_store_is_the_librarys_own_dataset_each_sample_decodable_alone(name, encoding, tmp_path):
    rng = np.random.default_rng(5)
    images = rng.integers(0, 256, (9, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, 9)
    path = tmp_path / name
    options = {"encoding": encoding, "shard_bytes": SMALL_SHARDS[name]}
    resolve({"name": name, "method": name, "options": options}).store(path).write(images, labels)
    samples = own_samples(name, path)
    assert len(samples) == 9
    for index in (8, 0, 4):
        sample = samples[index]
        assert sample["shape"] == [32, 32, 3] and sample["label"] == labels[index]
        if encoding == "raw":
            pixels = np.frombuffer(sample["image"], dtype=np.dtype(sample["dtype"])).reshape(32, 32, 3)
        else:
            import io

            from PIL import Image

            assert bytes(sample["image"][:4]) == b"\x89PNG"
            pixels = np.asarray(Image.open(io.BytesIO(bytes(sample["image"]))))
        np.testing.assert_array_equal(pixels, images[index])


@pytest.mark.parametrize("name", FORMATS)
def test_png_and_jpeg_refuse_what_they_cannot_hold_before_writing(name, tmp_path):
    colour16 = [np.zeros((8, 8, 3), dtype=np.uint16)]
    for encoding, match in (("png", "PNG"), ("jpeg", "jpeg")):
        method = resolve({"name": f"{name}_{encoding}", "method": name, "options": {"encoding": encoding}})
        with pytest.raises(UnsupportedInput, match=match):
            method.store(tmp_path / "refused").write(colour16, np.zeros(1, dtype=np.int64))
        assert not (tmp_path / "refused").exists() and not list(tmp_path.glob(".refused*"))


def test_a_flipped_byte_in_a_tfrecord_is_a_checksum_mismatch_never_a_wrong_image(tmp_path):
    images = np.random.default_rng(7).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    path = tmp_path / "tfrecord"
    get("tfrecord").store(path).write(images, np.arange(4))
    data = path / "data-00000.tfrecord"
    offset = int(np.loadtxt(str(data) + ".tfindex", dtype=np.int64)[2, 0]) + 500
    with open(data, "r+b") as file:
        file.seek(offset)
        byte = file.read(1)
        file.seek(offset)
        file.write(bytes([byte[0] ^ 0x10]))
    with open_store(path) as dataset:
        np.testing.assert_array_equal(dataset[1][0], images[1])
        with pytest.raises(DamagedStore, match=r"data-00000.tfrecord: record 2: checksum mismatch"):
            dataset[2]


def indexed_files(path) -> list[str]:
    """The data files a TFRecord or ArrayRecord store's index lists."""
    return [entry["filename"] for entry in json.loads((path / "index.json").read_text())["files"]]


@pytest.mark.parametrize("name", ["tfrecord", "array_record"])
def test_a_truncated_or_missing_data_file_is_a_damaged_store_named_at_open(name, tmp_path):
    assert_a_cut_or_missing_file_is_refused(name, tmp_path / name, indexed_files)


@pytest.mark.parametrize("name", FORMATS)
def test_samples_that_disagree_with_the_manifest_are_an_error_not_misshapen_images(name, tmp_path):
    images = np.random.default_rng(9).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    path = tmp_path / name
    get(name).store(path).write(images, np.arange(4))
    manifest = json.loads((path / MARKER).read_text())
    (path / MARKER).write_text(json.dumps(manifest | {"shape": [16, 64, 4]}))
    with pytest.raises((DamagedStore, ValueError)):
        open_store(path)[2]


@pytest.mark.parametrize(
    "store_class",
    [HfDataset, TFRecordFiles, ArrayRecordFiles],
    ids=["hf_datasets", "tfrecord", "array_record"],
)
def test_without_the_formats_extra_a_method_refuses_to_write_or_open_saying_how_to_install_it(
    store_class, tmp_path, monkeypatch
):
    """Runs with or without the libraries: the reason is what ``unavailable`` says when one is missing."""
    images = np.zeros((2, 4, 4, 3), dtype=np.uint8)
    path = tmp_path / "store"
    path.mkdir()
    (path / MARKER).write_text(json.dumps({"count": 2, "target": "x:y"}))
    reason = 'is not installed; install the formats extra: .venv/bin/pip install --editable ".[formats]"'
    monkeypatch.setattr(store_class, "unavailable", classmethod(lambda cls: f"it {reason}"))
    with pytest.raises(MissingLibrary, match="formats extra"):
        store_class(tmp_path / "new").write(images, np.arange(2))
    assert not (tmp_path / "new").exists() and not list(tmp_path.glob(".new*"))
    with pytest.raises(MissingLibrary, match="formats extra"):
        store_class(path).open()


def test_each_install_hint_is_the_readmes_install_line_of_the_formats_extra():
    from pathlib import Path

    line = '.venv/bin/pip install --editable ".[formats]"'
    assert line in (Path(__file__).parents[1] / "README.md").read_text()
    for store_class in (TFRecordFiles, ArrayRecordFiles):
        assert line in store_class.install
    from imagestores.stores import hf_datasets

    assert line in hf_datasets.INSTALL


def test_array_record_refuses_an_unknown_compression():
    with pytest.raises(ValueError, match="compression must be one of"):
        resolve({"name": "a", "method": "array_record", "options": {"compression": "lzma"}}).traits  # noqa: B018
