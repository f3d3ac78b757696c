"""The zarr and webdataset stores: readable by their formats' own readers, correct across shard boundaries."""

from __future__ import annotations

import io
import tarfile

import numpy as np
import pytest
import webdataset
import zarr
from PIL import Image
from test_stores import cifar_like, read_back

from imagestores.data.synthetic import synthetic_images
from imagestores.measure import timing as bench
from imagestores.stores import get, resolve
from imagestores.stores import webdataset_shards as wds_store
from imagestores.stores import zarr_arrays as zarr_store


def variant(method: str, **options) -> object:
    return resolve({"name": f"{method}-test", "method": method, "options": options})


def assert_reads(store, images, labels, indices) -> None:
    indices = np.asarray(indices)
    got = np.zeros((len(indices), *images.shape[1:]), dtype=images.dtype)
    labels_got = np.full(len(indices), 255, dtype=labels.dtype)
    with store.open() as reader:
        reader.read_into(indices, got, labels_got)
    np.testing.assert_array_equal(labels_got, labels[indices])
    np.testing.assert_array_equal(got, images[indices])


def test_modules_import_the_libraries_not_themselves():
    assert zarr_store.zarr is zarr and hasattr(zarr, "open_group")
    assert wds_store.webdataset is webdataset and hasattr(webdataset, "ShardWriter")


# zarr


@pytest.mark.parametrize(("name", "chunk"), [("zarr", 1), ("zarr_batched", 100)])
def test_zarr_opens_with_zarr_itself(name, chunk, tmp_path):
    images, labels = cifar_like(37)  # fewer than one shard of 1,000
    get(name).store(tmp_path / "s").write(images, labels)
    group = zarr.open_group(tmp_path / "s", mode="r")
    array = group["images"]
    assert array.shape == images.shape and array.dtype == images.dtype
    assert array.chunks == (chunk, 32, 32, 3) and array.shards == (1000, 32, 32, 3)
    assert array.compressors == ()
    np.testing.assert_array_equal(array[5], images[5])
    assert group["labels"][5] == labels[5]
    direct = zarr.open_array(tmp_path / "s" / "images", mode="r")
    np.testing.assert_array_equal(direct[:], images)


def test_zarr_shard_boundaries_with_batches_smaller_than_a_shard(tmp_path, monkeypatch):
    monkeypatch.setattr("imagestores.stores.batching.WRITE_BATCH", 3)
    images, labels = cifar_like(23, seed=4)
    store = variant("zarr", shard=4, chunk=2).store(tmp_path / "s")
    store.write(images, labels)
    assert zarr.open_array(tmp_path / "s" / "images", mode="r").shards == (4, 32, 32, 3)
    shard_files = [p for p in (tmp_path / "s" / "images" / "c").rglob("*") if p.is_file()]
    assert len(shard_files) == 6  # ceil(23 / 4)
    for indices in ([3, 4], [2, 3, 4, 5, 6, 7, 8, 9], [22], [0, 21, 4, 5, 6, 11, 3], range(23)):
        assert_reads(store, images, labels, indices)


def test_zarr_repeated_and_scattered_ids(tmp_path):
    images, labels = cifar_like(40, seed=5)
    get("zarr").store(tmp_path / "s").write(images, labels)
    got, labels_got = read_back("zarr", tmp_path / "s", images, labels, [7, 7, 30, 8, 9, 0])
    np.testing.assert_array_equal(labels_got, labels[[7, 7, 30, 8, 9, 0]])
    np.testing.assert_array_equal(got, images[[7, 7, 30, 8, 9, 0]])


def test_zarr_reads_into_a_list_of_buffers(tmp_path):
    images, labels = cifar_like(12, seed=6)
    get("zarr_batched").store(tmp_path / "s").write(images, labels)
    indices = np.array([3, 4, 5, 9, 1])
    got = [np.zeros((32, 32, 3), np.uint8) for _ in range(6)]
    buffers = list(got)
    labels_got = np.zeros(6, dtype=labels.dtype)
    with get("zarr_batched").store(tmp_path / "s").open() as reader:
        reader.read_into(indices, got, labels_got)
    assert all(a is b for a, b in zip(got, buffers, strict=True)), "buffers must be filled in place"
    for position, index in enumerate(indices.tolist()):
        np.testing.assert_array_equal(got[position], images[index])


def test_zarr_refuses_shards_that_are_not_whole_chunks(tmp_path):
    with pytest.raises(ValueError, match="multiple"):
        variant("zarr", shard=1000, chunk=3).store(tmp_path / "s")


# webdataset


def members(path) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(path) as tar:
        return {member.name: member for member in tar}


def member_bytes(path, name: str) -> bytes:
    with tarfile.open(path) as tar:
        return tar.extractfile(name).read()


def test_webdataset_shards_open_with_tarfile(tmp_path):
    images, labels = cifar_like(25, seed=7)
    variant("webdataset", shard_samples=10).store(tmp_path / "s").write(images, labels)
    shards = sorted(p.name for p in (tmp_path / "s").glob("*.tar"))
    assert shards == ["shard-000000.tar", "shard-000001.tar", "shard-000002.tar"]
    last = tmp_path / "s" / "shard-000002.tar"
    assert sorted(members(last)) == [f"{i:09d}.{ext}" for i in range(20, 25) for ext in ("cls", "png")]
    with Image.open(io.BytesIO(member_bytes(last, "000000023.png"))) as image:
        np.testing.assert_array_equal(np.asarray(image), images[23])
    assert int(member_bytes(last, "000000023.cls")) == labels[23]


def test_webdataset_members_need_no_pax_headers(tmp_path):
    """webdataset's default float mtime adds a PAX header per member; the fixed integer time avoids it."""
    images, labels = cifar_like(5)
    get("webdataset").store(tmp_path / "s").write(images, labels)
    for member in members(tmp_path / "s" / "shard-000000.tar").values():
        assert member.pax_headers == {} and member.mtime == wds_store.MTIME
        assert member.offset_data == member.offset + tarfile.BLOCKSIZE


def test_webdataset_opens_with_webdataset_loader(tmp_path):
    images, labels = cifar_like(14, seed=8)
    variant("webdataset", shard_samples=5).store(tmp_path / "s").write(images, labels)
    urls = [str(p) for p in sorted((tmp_path / "s").glob("*.tar"))]
    dataset = webdataset.WebDataset(urls, shardshuffle=False).decode("rgb8").to_tuple("__key__", "png", "cls")
    seen = [(int(key), image, label) for key, image, label in dataset]
    assert [key for key, _, _ in seen] == list(range(14))
    for key, image, label in seen:
        np.testing.assert_array_equal(image, images[key])
        assert label == labels[key]


def test_webdataset_index_matches_tarfiles_member_list(tmp_path):
    images, labels = cifar_like(23, seed=9)
    variant("webdataset", shard_samples=10).store(tmp_path / "s").write(images, labels)
    index = np.load(tmp_path / "s" / wds_store.INDEX)
    assert len(index) == 23
    for number in range(3):
        for name, member in members(tmp_path / "s" / (wds_store.SHARD % number)).items():
            row = index[int(name.partition(".")[0])]
            field = "label" if name.endswith(".cls") else "image"
            assert row["shard"] == number
            assert (row[f"{field}_offset"], row[f"{field}_size"]) == (member.offset_data, member.size)


@pytest.mark.parametrize("encoding", ["png", "raw"])
def test_webdataset_runs_across_shards(encoding, tmp_path):
    images, labels = cifar_like(23, seed=10)
    store = variant("webdataset", shard_samples=10, encoding=encoding).store(tmp_path / "s")
    store.write(images, labels)
    for indices in ([9, 10], range(5, 22), [22], [0], [19, 3, 4, 5, 12, 12], range(23)):
        assert_reads(store, images, labels, indices)


def test_webdataset_raw_member_with_another_npy_header_still_reads(tmp_path):
    """A member with another header (a Fortran-ordered array) is read by np.load, not taken for pixels."""
    image = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    store = variant("webdataset", encoding="raw").store(None)
    data = io.BytesIO()
    np.save(data, np.asfortranarray(image))
    out = np.zeros_like(image)
    store.decode_into(memoryview(data.getvalue()), out)
    np.testing.assert_array_equal(out, image)


def test_webdataset_truncated_shard_is_an_error(tmp_path):
    images, labels = cifar_like(12, seed=10)
    store = variant("webdataset", shard_samples=10).store(tmp_path / "s")
    store.write(images, labels)
    shard = tmp_path / "s" / (wds_store.SHARD % 0)
    shard.write_bytes(shard.read_bytes()[:9000])
    with store.open() as reader, pytest.raises(OSError, match="truncated"):
        reader.read_into(np.arange(10), np.zeros_like(images[:10]), np.zeros(10, labels.dtype))


def test_webdataset_smaller_than_a_shard_and_single_image(tmp_path):
    images, labels = cifar_like(3, seed=11)
    get("webdataset").store(tmp_path / "three").write(images, labels)
    assert [p.name for p in (tmp_path / "three").glob("*.tar")] == ["shard-000000.tar"]
    assert_reads(get("webdataset").store(tmp_path / "three"), images, labels, [2, 0, 1])
    get("webdataset").store(tmp_path / "one").write(images[1:2], labels[1:2])
    assert_reads(get("webdataset").store(tmp_path / "one"), images[1:2], labels[1:2], [0])


def test_webdataset_raw_encoding_stores_npy_members(tmp_path):
    rng = np.random.default_rng(12)
    images = [rng.integers(0, 65535, shape).astype(np.uint16) for shape in [(5, 7, 3), (9, 4), (2, 2, 1)]]
    labels = np.array([4, 1, 7])
    variant("webdataset", encoding="raw").store(tmp_path / "s").write(images, labels)
    shard = tmp_path / "s" / "shard-000000.tar"
    np.testing.assert_array_equal(np.load(io.BytesIO(member_bytes(shard, "000000001.npy"))), images[1])
    order = [2, 0, 1]
    got = [np.zeros_like(images[index]) for index in order]
    labels_got = np.zeros(3, dtype=labels.dtype)
    with variant("webdataset", encoding="raw").store(tmp_path / "s").open() as reader:
        reader.read_into(np.array(order), got, labels_got)
    np.testing.assert_array_equal(labels_got, labels[order])
    for position, index in enumerate(order):
        np.testing.assert_array_equal(got[position], images[index])


def test_webdataset_jpeg_variant_reads_what_the_jpg_members_decode_to(tmp_path):
    """Exact against Pillow's decoding of each member, so the check does not depend on JPEG's error."""
    images, labels = synthetic_images(0, 6, seed=13)
    store = variant("webdataset", encoding="jpeg", quality=95).store(tmp_path / "s")
    store.write(images, labels)
    assert store.lossy
    shard = tmp_path / "s" / "shard-000000.tar"
    got, labels_got = np.zeros_like(images), np.zeros_like(labels)
    with store.open() as reader:
        reader.read_into(np.arange(6), got, labels_got)
    np.testing.assert_array_equal(labels_got, labels)
    for index in range(6):
        with Image.open(io.BytesIO(member_bytes(shard, f"{index:09d}.jpg"))) as image:
            np.testing.assert_array_equal(got[index], np.asarray(image))
        assert bench.psnr_db(got[index], images[index]) > 25
