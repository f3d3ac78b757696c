"""The table stores (parquet, lance): readable by pyarrow and lance themselves, and read back right."""

from __future__ import annotations

import lance
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from imagestores.stores import get, resolve
from imagestores.stores.parquet_table import FILE, ParquetTable


def images_and_labels(count: int, shape: tuple[int, ...] = (8, 8, 3)) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    return rng.integers(0, 256, (count, *shape), dtype=np.uint8), rng.integers(0, 10, count).astype(np.int64)


def read(store, indices, like: np.ndarray, dtype=np.int64) -> tuple[np.ndarray, np.ndarray]:
    got = np.zeros((len(indices), *like.shape[1:]), dtype=like.dtype)
    labels = np.full(len(indices), -1, dtype=dtype)
    with store.open() as reader:
        reader.read_into(np.asarray(indices), got, labels)
    return got, labels


def rebuild(row: dict) -> np.ndarray:
    """An image from its row, as any Arrow user would: bytes, numpy dtype string, shape."""
    return np.frombuffer(row["image"], dtype=row["dtype"]).reshape(row["shape"])


def test_parquet_file_opens_with_pyarrow(tmp_path):
    images, labels = images_and_labels(40)
    get("parquet").store(tmp_path / "p").write(images, labels)
    table = pq.read_table(tmp_path / "p" / FILE)
    assert table.schema.field("image").type == pa.binary(images[0].nbytes)
    row = table.slice(17, 1).to_pylist()[0]
    np.testing.assert_array_equal(rebuild(row), images[17])
    assert row["label"] == labels[17]


def test_lance_dataset_opens_with_lance(tmp_path):
    images, labels = images_and_labels(40)
    get("lance").store(tmp_path / "l").write(images, labels)
    dataset = lance.dataset(tmp_path / "l")
    assert dataset.count_rows() == 40
    row = dataset.take([23]).to_pylist()[0]
    np.testing.assert_array_equal(rebuild(row), images[23])
    assert row["label"] == labels[23]


def test_parquet_row_groups_follow_the_option_and_reads_pick_scattered_rows(tmp_path):
    images, labels = images_and_labels(100)
    store = ParquetTable(tmp_path / "p", row_group_rows=16)
    store.write(images, labels)
    assert pq.ParquetFile(tmp_path / "p" / FILE).metadata.num_row_groups == 7  # 6 x 16 + 4
    # Scattered, unsorted, across groups, several from one group, the last short group, a repeat.
    indices = np.array([99, 3, 50, 17, 16, 15, 98, 0, 64, 3])
    got, got_labels = read(store, indices, images)
    np.testing.assert_array_equal(got, images[indices])
    np.testing.assert_array_equal(got_labels, labels[indices])


def test_parquet_default_row_group_holds_about_three_mebibytes(tmp_path):
    images, labels = images_and_labels(5, shape=(1024, 1024, 3))
    get("parquet").store(tmp_path / "p").write(images, labels)
    assert pq.ParquetFile(tmp_path / "p" / FILE).metadata.num_row_groups == 5


@pytest.mark.parametrize("name", ["parquet", "lance"])
@pytest.mark.parametrize("count", [1, 5])
def test_fewer_images_than_a_row_group(name, count, tmp_path):
    images, labels = images_and_labels(count)
    store = get(name).store(tmp_path / name)
    store.write(images, labels)
    indices = np.arange(count)[::-1]
    got, got_labels = read(store, indices, images)
    np.testing.assert_array_equal(got, images[indices])
    np.testing.assert_array_equal(got_labels, labels[indices])


@pytest.mark.parametrize("name", ["parquet", "lance"])
def test_fixed_size_binary_only_when_every_record_has_one_size(name, tmp_path):
    def image_type(path):
        if name == "parquet":
            return pq.read_schema(path / FILE).field("image").type
        return lance.dataset(path).schema.field("image").type

    images, labels = images_and_labels(6)
    get(name).store(tmp_path / "array").write(images, labels)
    assert image_type(tmp_path / "array") == pa.binary(images[0].nbytes)
    same_size = [images[0], images[1].reshape(3, 64, 1)]
    get(name).store(tmp_path / "list").write(same_size, labels[:2])
    assert image_type(tmp_path / "list") == pa.binary(images[0].nbytes)
    mixed = [images[0], images[1][:4]]
    get(name).store(tmp_path / "mixed").write(mixed, labels[:2])
    assert image_type(tmp_path / "mixed") == pa.binary()
    out = [np.zeros_like(mixed[1]), np.zeros_like(mixed[0])]
    with get(name).store(tmp_path / "mixed").open() as reader:
        reader.read_into(np.array([1, 0]), out, np.zeros(2, dtype=np.int64))
    np.testing.assert_array_equal(out[0], mixed[1])
    np.testing.assert_array_equal(out[1], mixed[0])


@pytest.mark.parametrize("name", ["parquet", "lance"])
def test_png_variant_is_binary_and_round_trips(name, tmp_path):
    method = resolve({"name": f"{name}_png", "method": name, "options": {"encoding": "png"}})
    images, labels = images_and_labels(30)
    store = method.store(tmp_path / "png")
    store.write(images, labels)
    if name == "parquet":
        table = pq.read_table(tmp_path / "png" / FILE)
    else:
        table = lance.dataset(tmp_path / "png").to_table()
    assert table.schema.field("image").type == pa.binary()
    assert table.column("image")[0].as_py().startswith(b"\x89PNG")
    indices = np.array([29, 0, 14, 15])
    got, got_labels = read(store, indices, images)
    np.testing.assert_array_equal(got, images[indices])
    np.testing.assert_array_equal(got_labels, labels[indices])


@pytest.mark.parametrize("name", ["parquet", "lance"])
def test_list_outputs_are_filled_in_place(name, tmp_path):
    images, labels = images_and_labels(20)
    store = get(name).store(tmp_path / name)
    store.write(images, labels)
    buffers = [np.zeros_like(images[0]) for _ in range(5)]
    originals = list(buffers)
    with store.open() as reader:
        reader.read_into(np.array([7, 2, 19]), buffers, np.zeros(5, dtype=np.int64))
    assert all(a is b for a, b in zip(buffers, originals, strict=True))
    for position, index in enumerate([7, 2, 19]):
        np.testing.assert_array_equal(buffers[position], images[index])
    assert not buffers[3].any()


def test_lance_take_keeps_requested_order_over_many_batches_and_calls(tmp_path, monkeypatch):
    """Rows come back in the order asked, across write batches, on every call (lance runs threads)."""
    monkeypatch.setattr("imagestores.stores.batching.WRITE_BATCH", 64)
    images, labels = images_and_labels(1000)
    store = get("lance").store(tmp_path / "l")
    store.write(images, labels)
    rng = np.random.default_rng(3)
    with store.open() as reader:
        for _ in range(20):
            indices = rng.choice(1000, size=300, replace=True)
            got = np.zeros((300, *images.shape[1:]), dtype=images.dtype)
            got_labels = np.zeros(300, dtype=np.int64)
            reader.read_into(indices, got, got_labels)
            np.testing.assert_array_equal(got, images[indices])
            np.testing.assert_array_equal(got_labels, labels[indices])
