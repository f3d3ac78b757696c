"""Format checks of the chunks, npy and lmdb_raw stores: standard readers open them; options and edges."""

from __future__ import annotations

import gzip
import json
import struct

import lmdb
import numpy as np
import pytest
from test_stores import cifar_like, mixed_shapes

from imagestores.measure import timing as bench
from imagestores.stores import _files as fileio
from imagestores.stores import batching, get, resolve
from imagestores.stores._chunk_files import CHUNK, INDEX, META
from imagestores.stores.raw_lmdb import HEADER

CHUNK_METHODS = ("chunks_seek", "chunks_mmap")


def variant(method: str, **options):
    return resolve({"name": f"{method}_variant", "method": method, "options": options})


def read_back(method, path, images, indices):
    indices = np.asarray(indices)
    got = bench.allocate(images, indices)
    labels_got = np.zeros(len(indices), dtype=np.int64)
    with method.store(path).open() as reader:
        reader.read_into(indices, got, labels_got)
    return got, labels_got


def assert_reads_back(method, path, images, labels, tolerance_db=None):
    """Every image and label read back in order, shuffled, and in runs with gaps, exactly or within PSNR."""
    count = len(images)
    with_gap = np.r_[0 : min(count, 3), 5:count]
    for indices in (np.arange(count), np.random.default_rng(4).permutation(count), with_gap):
        got, labels_got = read_back(method, path, images, indices)
        np.testing.assert_array_equal(labels_got, labels[indices])
        for position, index in enumerate(indices.tolist()):
            if tolerance_db is None:
                np.testing.assert_array_equal(got[position], images[index])
            else:
                assert bench.psnr_db(got[position], images[index]) >= tolerance_db


def smooth_images(count: int) -> tuple[np.ndarray, np.ndarray]:
    """Gradients with noise, so PNG and gzip have something to compress and JPEG stays well above 30 dB."""
    rng = np.random.default_rng(9)
    ramp = np.add.outer(np.arange(32), np.arange(32))[None, :, :, None] * 3
    noise = rng.integers(0, 8, (count, 32, 32, 3))
    return (ramp + noise + rng.integers(0, 40, (count, 1, 1, 3))).astype(np.uint8), np.arange(count) % 10


# Standard readers


def test_chunks_open_with_numpy_and_plain_file_reads(tmp_path):
    images, labels = cifar_like(30)
    get("chunks_seek").store(tmp_path / "s").write(images, labels)
    meta = json.loads((tmp_path / "s" / META).read_text())
    index = np.fromfile(
        tmp_path / "s" / INDEX, dtype=np.dtype([tuple(field) for field in meta["index_dtype"]])
    )
    row = index[17]
    with open(tmp_path / "s" / CHUNK.format(row["chunk"]), "rb") as file:
        file.seek(row["offset"])
        data = file.read(row["length"])
    shape = tuple(row["shape"][: row["ndim"]])
    np.testing.assert_array_equal(np.frombuffer(data, row["dtype"].decode()).reshape(shape), images[17])
    assert row["label"] == labels[17]
    assert len(index) == 30


def test_gzip_chunks_decompress_with_the_gzip_module(tmp_path):
    """Each record is one gzip member, so a whole chunk decompresses to its records back to back."""
    images, labels = smooth_images(12)
    variant("chunks_seek", compress="gzip").store(tmp_path / "s").write(images, labels)
    with gzip.open(tmp_path / "s" / CHUNK.format(0)) as file:
        pixels = np.frombuffer(file.read(), np.uint8).reshape(images.shape)
    np.testing.assert_array_equal(pixels, images)
    assert sum(path.stat().st_size for path in (tmp_path / "s").glob("chunk-*")) < images.nbytes


def test_npy_opens_with_np_load(tmp_path):
    images, labels = cifar_like(20)
    get("npy").store(tmp_path / "s").write(images, labels)
    np.testing.assert_array_equal(np.load(tmp_path / "s" / "images.npy", mmap_mode="r")[11], images[11])
    np.testing.assert_array_equal(np.load(tmp_path / "s" / "labels.npy"), labels)


def test_lmdb_raw_opens_with_lmdb_and_struct(tmp_path):
    images, labels = cifar_like(20)
    get("lmdb_raw").store(tmp_path / "s").write(images, labels)
    with lmdb.open(str(tmp_path / "s"), readonly=True, lock=False) as env, env.begin() as txn:
        value = txn.get(b"00000013")
        meta = json.loads(txn.get(b"meta"))
    label, dtype, ndim, *shape = HEADER.unpack_from(value)
    image = np.frombuffer(value, dtype.decode(), offset=HEADER.size).reshape(shape[:ndim])
    np.testing.assert_array_equal(image, images[13])
    assert label == labels[13]
    assert meta == {"encoding": "raw", "count": 20, "checksums": False}
    assert struct.calcsize(HEADER.format) == HEADER.size == 24


# Chunks: sizes, options, read paths


@pytest.mark.parametrize("name", CHUNK_METHODS)
def test_chunks_split_where_the_next_record_would_overflow(name, tmp_path):
    images, labels = cifar_like(10)
    record = images[0].nbytes
    variant(name, chunk_bytes=3 * record + 5).store(tmp_path / "s").write(images, labels)
    sizes = [path.stat().st_size for path in sorted((tmp_path / "s").glob("chunk-*"))]
    assert sizes == [3 * record] * 3 + [record]
    assert_reads_back(variant(name), tmp_path / "s", images, labels)


@pytest.mark.parametrize("name", CHUNK_METHODS)
def test_a_record_larger_than_a_chunk_gets_a_chunk_of_its_own(name, tmp_path):
    images, labels = mixed_shapes(np.uint8, (3, 1, 4, 0))
    variant(name, chunk_bytes=100).store(tmp_path / "s").write(images, labels)
    assert len(list((tmp_path / "s").glob("chunk-*"))) == len(images)
    assert_reads_back(variant(name), tmp_path / "s", images, labels)


@pytest.mark.parametrize("name", CHUNK_METHODS)
def test_differing_records_fill_each_chunk_until_the_next_would_overflow(name, tmp_path, monkeypatch):
    """Also across write batches (of four images here): a chunk stays open from one batch to the next."""
    monkeypatch.setattr(batching, "WRITE_BATCH", 4)
    images, labels = mixed_shapes(np.uint8, (3, 1, 4, 0))
    images, labels = images * 6, np.arange(6 * len(images))
    lengths = [image.nbytes for image in images]
    limit = 3 * max(lengths)
    variant(name, chunk_bytes=limit).store(tmp_path / "s").write(images, labels)
    expected, used = [], 0
    for length in lengths:
        if used and used + length > limit:
            expected.append(used)
            used = 0
        used += length
    expected.append(used)
    sizes = [path.stat().st_size for path in sorted((tmp_path / "s").glob("chunk-*"))]
    assert sizes == expected
    assert len(sizes) > 2
    assert_reads_back(variant(name), tmp_path / "s", images, labels)


@pytest.mark.parametrize("name", CHUNK_METHODS)
@pytest.mark.parametrize(
    ("options", "tolerance_db"),
    [({"compress": "gzip"}, None), ({"encoding": "png"}, None), ({"encoding": "jpeg", "quality": 90}, 30.0)],
)
def test_chunk_options_round_trip(name, options, tolerance_db, tmp_path):
    images, labels = smooth_images(25)
    method = variant(name, chunk_bytes=10_000, **options)
    method.store(tmp_path / "s").write(images, labels)
    assert_reads_back(method, tmp_path / "s", images, labels, tolerance_db)


@pytest.mark.parametrize("name", CHUNK_METHODS)
def test_gzip_chunks_hold_mixed_shapes_and_uint16(name, tmp_path):
    images, labels = mixed_shapes(np.uint16, (3, 0))
    method = variant(name, compress="gzip", chunk_bytes=5000)
    method.store(tmp_path / "s").write(images, labels)
    assert_reads_back(method, tmp_path / "s", images, labels)


def test_seek_reads_many_buffers_in_groups_and_strided_outputs(tmp_path, monkeypatch):
    """Runs longer than IOV_MAX take several preadv calls; a non-contiguous output is filled via a copy."""
    monkeypatch.setattr(fileio, "IOV_MAX", 3)
    images, labels = mixed_shapes(np.uint8, (3, 1, 4, 0))
    get("chunks_seek").store(tmp_path / "s").write(images, labels)
    assert_reads_back(get("chunks_seek"), tmp_path / "s", images, labels)
    fixed, fixed_labels = cifar_like(8)
    get("chunks_seek").store(tmp_path / "f").write(fixed, fixed_labels)
    strided = np.zeros((8, 32, 32, 6), np.uint8)[..., ::2]
    with get("chunks_seek").store(tmp_path / "f").open() as reader:
        reader.read_into(np.arange(8), strided, np.zeros(8, np.int64))
    np.testing.assert_array_equal(strided, fixed)


@pytest.mark.parametrize("name", [*CHUNK_METHODS, "npy", "lmdb_raw"])
def test_raw_records_that_do_not_fit_the_output_are_refused(name, tmp_path):
    images, labels = cifar_like(4)
    get(name).store(tmp_path / "s").write(images, labels)
    with get(name).store(tmp_path / "s").open() as reader, pytest.raises(ValueError):
        reader.read_into(np.arange(2), np.zeros((2, 32, 32, 4), np.uint8), np.zeros(2, np.int64))


def test_chunk_options_are_checked():
    with pytest.raises(ValueError, match="chunk_bytes"):
        variant("chunks_seek", chunk_bytes=0).store("unused")
    with pytest.raises(ValueError, match="compression"):
        variant("chunks_seek", compress="zstd").store("unused")


# Every method: one image, empty reads


@pytest.mark.parametrize("name", [*CHUNK_METHODS, "npy", "lmdb_raw"])
def test_a_store_of_one_image(name, tmp_path):
    images, labels = cifar_like(1)
    get(name).store(tmp_path / "s").write(images, labels)
    assert_reads_back(get(name), tmp_path / "s", images, labels)
    with get(name).store(tmp_path / "s").open() as reader:
        reader.read_into(np.array([], dtype=np.int64), np.zeros((0, 32, 32, 3), np.uint8), np.zeros(0))


# lmdb_raw


def test_lmdb_raw_png_holds_large_images_across_batches(tmp_path, monkeypatch):
    """Several write transactions, values of many pages, an encoding: the derived map size suffices."""
    monkeypatch.setattr("imagestores.stores.batching.WRITE_BATCH", 4)
    rng = np.random.default_rng(2)
    images = [rng.integers(0, 256, (300, 400, 3), dtype=np.uint8) for _ in range(10)]
    labels = np.arange(10)
    method = variant("lmdb_raw", encoding="png")
    method.store(tmp_path / "s").write(images, labels)
    assert_reads_back(method, tmp_path / "s", images, labels)
