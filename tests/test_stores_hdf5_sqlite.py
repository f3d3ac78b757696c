"""The HDF5 blob layouts, hdf5_direct's reads and the SQLite table, checked with h5py and sqlite3 directly."""

from __future__ import annotations

import io
import sqlite3

import h5py
import numpy as np
import pytest
from PIL import Image

from imagestores.stores import get, resolve
from imagestores.stores._hdf5 import ENCODED_FILE as HDF5_FILE
from imagestores.stores._hdf5 import read_points
from imagestores.stores.sqlite_blobs import FILE as SQLITE_FILE
from imagestores.stores.sqlite_blobs import SqliteBlobs

OURS = ("hdf5_blobs", "hdf5_vlen", "hdf5_direct", "sqlite")


def small_images(
    count: int, seed: int = 0, shape: tuple[int, ...] = (6, 5, 3)
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (count, *shape), dtype=np.uint8), rng.integers(0, 10, count).astype(np.int64)


def read(store, indices, images, labels):
    indices = np.asarray(indices)
    got = np.zeros((len(indices), *images.shape[1:]), images.dtype)
    labels_got = np.full(len(indices), -1, dtype=labels.dtype)
    with store.open() as reader:
        reader.read_into(indices, got, labels_got)
    return got, labels_got


def png_pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image)


def test_hdf5_blobs_groups_by_thousands_and_h5py_reads_each_image(tmp_path):
    images, labels = small_images(2345)
    get("hdf5_blobs").store(tmp_path / "s").write(images, labels)
    with h5py.File(tmp_path / "s" / HDF5_FILE, "r") as file:
        groups = sorted(name for name in file if isinstance(file[name], h5py.Group))
        assert groups == ["00000", "00001", "00002"]
        assert [len(file[group]) for group in groups] == [1000, 1000, 345]
        assert file.attrs["encoding"] == "png"
        blob = file["00001/00001234"]
        assert blob.dtype == np.uint8 and blob.ndim == 1
        np.testing.assert_array_equal(png_pixels(blob[()].tobytes()), images[1234])
        assert file["labels"][1234] == labels[1234]
        np.testing.assert_array_equal(file["shapes"][1234], [6, 5, 3])
        assert file["dtypes"][1234] == b"|u1"


def test_hdf5_vlen_is_one_dataset_h5py_reads(tmp_path):
    images, labels = small_images(50)
    get("hdf5_vlen").store(tmp_path / "s").write(images, labels)
    with h5py.File(tmp_path / "s" / HDF5_FILE, "r") as file:
        assert sorted(file) == ["dtypes", "images", "labels", "shapes"]
        assert file["images"].shape == (50,)
        assert h5py.check_vlen_dtype(file["images"].dtype) == np.uint8
        np.testing.assert_array_equal(png_pixels(file["images"][17].tobytes()), images[17])
        np.testing.assert_array_equal(file["labels"][()], labels)


@pytest.mark.parametrize("method", ["hdf5_blobs", "hdf5_vlen"])
def test_raw_blobs_rebuild_from_shapes_and_dtypes_with_plain_h5py(method, tmp_path):
    rng = np.random.default_rng(4)
    images = [
        rng.integers(0, 65536, (7, 3), dtype=np.uint16),
        rng.integers(0, 256, (2, 4, 3), dtype=np.uint8),
        rng.integers(0, 65536, (3, 3, 2), dtype=np.uint16),
    ]
    labels = np.array([4, 5, 6])
    spec = {"name": f"{method}_raw", "method": method, "options": {"encoding": "raw"}}
    resolve(spec).store(tmp_path / "s").write(images, labels)
    with h5py.File(tmp_path / "s" / HDF5_FILE, "r") as file:
        assert file.attrs["encoding"] == "raw"
        for index, image in enumerate(images):
            data = file["images"][index] if method == "hdf5_vlen" else file[f"00000/{index:08d}"][()]
            height, width, channels = file["shapes"][index].tolist()
            shape = (height, width, channels) if channels else (height, width)
            rebuilt = np.frombuffer(data.tobytes(), dtype=file["dtypes"][index].decode()).reshape(shape)
            assert rebuilt.dtype == image.dtype
            np.testing.assert_array_equal(rebuilt, image)


def test_hdf5_direct_writes_the_study_file(tmp_path):
    images, labels = small_images(20)
    get("hdf5_direct").store(tmp_path / "s").write(images, labels)
    with h5py.File(tmp_path / "s" / "images.h5", "r") as file:
        np.testing.assert_array_equal(file["images"][()], images)
        np.testing.assert_array_equal(file["meta"][()], labels)


def test_hdf5_direct_reads_scattered_and_shuffled_ids_in_requested_order(tmp_path):
    images, labels = small_images(500)
    store = get("hdf5_direct").store(tmp_path / "s")
    store.write(images, labels)
    rng = np.random.default_rng(9)
    requests = (
        rng.permutation(500),  # every id once, shuffled
        rng.permutation(500)[:37],  # scattered, no repeats
        np.array([499, 0, 1, 2, 250, 3, 4]),  # runs out of order
        np.array([7, 7, 3, 7]),  # repeats
    )
    for indices in requests:
        got, labels_got = read(store, indices, images, labels)
        np.testing.assert_array_equal(got, images[indices])
        np.testing.assert_array_equal(labels_got, labels[indices])


def test_hdf5_direct_fills_buffers_it_cannot_read_into_directly(tmp_path):
    images, labels = small_images(30)
    store = get("hdf5_direct").store(tmp_path / "s")
    store.write(images, labels)
    indices = np.array([5, 6, 7, 29, 0])
    as_list = [np.zeros_like(images[0]) for _ in indices]
    strided = np.zeros((len(indices) * 2, *images.shape[1:]), np.uint8)[::2]
    for out in (as_list, strided):
        labels_got = np.zeros(len(indices), np.int64)
        with store.open() as reader:
            reader.read_into(indices, out, labels_got)
        np.testing.assert_array_equal(np.stack(out), images[indices])
        np.testing.assert_array_equal(labels_got, labels[indices])


def test_hdf5_direct_fills_only_the_first_entries_of_a_longer_buffer(tmp_path):
    images, labels = small_images(10)
    store = get("hdf5_direct").store(tmp_path / "s")
    store.write(images, labels)
    got = np.full((8, *images.shape[1:]), 77, np.uint8)
    labels_got = np.full(8, -1)
    with store.open() as reader:
        reader.read_into(np.array([9, 2, 3]), got, labels_got)
    np.testing.assert_array_equal(got[:3], images[[9, 2, 3]])
    assert (got[3:] == 77).all() and (labels_got[3:] == -1).all()


def test_read_points_keeps_order_and_repeats(tmp_path):
    with h5py.File(tmp_path / "f.h5", "w") as file:
        dataset = file.create_dataset("x", data=np.arange(100) * 3)
        np.testing.assert_array_equal(read_points(dataset, np.array([9, 2, 9, 50])), [27, 6, 27, 150])
        assert read_points(dataset, np.array([], dtype=np.int64)).shape == (0,)


@pytest.mark.parametrize("name", OURS)
def test_a_store_of_one_image(name, tmp_path):
    images, labels = small_images(1)
    store = get(name).store(tmp_path / "s")
    store.write(images, labels)
    got, labels_got = read(store, [0], images, labels)
    np.testing.assert_array_equal(got, images)
    np.testing.assert_array_equal(labels_got, labels)


def test_sqlite_table_reads_with_sqlite3_and_has_large_pages(tmp_path):
    rng = np.random.default_rng(6)
    images = [
        rng.integers(0, 65536, (4, 6), dtype=np.uint16),
        rng.integers(0, 256, (3, 2, 3), dtype=np.uint8),
    ]
    labels = np.array([8, 1])
    get("sqlite").store(tmp_path / "s").write(images, labels)
    connection = sqlite3.connect(tmp_path / "s" / SQLITE_FILE)
    try:
        assert connection.execute("PRAGMA page_size").fetchone() == (16384,)
        rows = connection.execute(
            "SELECT id, label, height, width, channels, dtype, data FROM images"
        ).fetchall()
    finally:
        connection.close()
    assert [row[:6] for row in rows] == [(0, 8, 4, 6, None, "<u2"), (1, 1, 3, 2, 3, "|u1")]
    for (_, _, height, width, channels, dtype, data), image in zip(rows, images, strict=True):
        shape = (height, width) if channels is None else (height, width, channels)
        np.testing.assert_array_equal(np.frombuffer(data, dtype=dtype).reshape(shape), image)


def test_sqlite_page_size_option_is_set_and_checked(tmp_path):
    images, labels = small_images(5)
    SqliteBlobs(tmp_path / "s", page_size=65536).write(images, labels)
    connection = sqlite3.connect(tmp_path / "s" / SQLITE_FILE)
    try:
        assert connection.execute("PRAGMA page_size").fetchone() == (65536,)
    finally:
        connection.close()
    with pytest.raises(ValueError, match="power of two"):
        SqliteBlobs(tmp_path / "t", page_size=10000)


def test_sqlite_reader_is_read_only(tmp_path):
    images, labels = small_images(3)
    store = get("sqlite").store(tmp_path / "s")
    store.write(images, labels)
    with store.open() as reader, pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader.connection.execute("DELETE FROM images")


def test_sqlite_splits_in_lists_beyond_the_variable_limit(tmp_path):
    """40,000 shuffled ids in one call: more IN variables than SQLite's default limit of 32,766."""
    count = 40_000
    images, labels = small_images(count, shape=(1, 2, 1))
    store = get("sqlite").store(tmp_path / "s")
    store.write(images, labels)
    indices = np.random.default_rng(3).permutation(count)
    got = np.zeros_like(images)
    labels_got = np.full(count, -1)
    with store.open() as reader:
        reader.connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 32_766)
        with pytest.raises(sqlite3.OperationalError, match="too many SQL variables"):
            reader.connection.execute(
                f"SELECT id FROM images WHERE id IN ({', '.join('?' * count)})", [0] * count
            )
        reader.read_into(indices, got, labels_got)
    np.testing.assert_array_equal(got, images[indices])
    np.testing.assert_array_equal(labels_got, labels[indices])


def test_sqlite_mixes_ranges_lists_and_repeats_in_requested_order(tmp_path):
    images, labels = small_images(3000)
    store = get("sqlite").store(tmp_path / "s")
    store.write(images, labels)
    indices = np.concatenate([np.arange(2000, 2600), [5, 2999, 5], np.arange(100, 400)[::-1], [2100]])
    got, labels_got = read(store, indices, images, labels)
    np.testing.assert_array_equal(got, images[indices])
    np.testing.assert_array_equal(labels_got, labels[indices])
