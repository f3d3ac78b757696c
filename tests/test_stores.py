"""Every registered store reads back exactly what was written, or refuses input it cannot hold.

Parametrised over the registry, so a new method is tested as soon as it is registered.
"""

from __future__ import annotations

import numpy as np
import pytest

from imagestores.measure import timing as bench
from imagestores.stores import METHODS, UnsupportedInput, get, resolve
from imagestores.stores.base import EncodedStore, runs
from imagestores.stores.codecs import NUMERIC_DTYPES

ALL = sorted(METHODS)


def cifar_like(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, count).astype(
        np.uint8
    )


def mixed_shapes(dtype: type, channels: tuple[int, ...]) -> tuple[list[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(1)
    top = np.iinfo(dtype).max
    shapes = [(17, 23), (40, 31), (8, 8), (32, 32), (5, 64)]
    images = [
        rng.integers(
            0, top, (h, w, channels[i % len(channels)]) if channels[i % len(channels)] else (h, w)
        ).astype(dtype)
        for i, (h, w) in enumerate(shapes)
    ]
    return images, np.arange(len(images), dtype=np.int64)


def read_back(name, path, images, labels, indices):
    indices = np.asarray(indices)
    got = bench.allocate(images, indices)
    labels_got = np.full(len(indices), np.iinfo(labels.dtype).max, dtype=labels.dtype)
    with get(name).store(path).open() as reader:
        reader.read_into(indices, got, labels_got)
    return got, labels_got


def assert_round_trip(name, tmp_path, images, labels):
    path = tmp_path / name
    get(name).store(path).write(images, labels)
    count = len(images)
    shuffled = np.random.default_rng(7).permutation(count)
    for indices in (np.arange(count), shuffled, np.array([count - 1]), np.array([0, 1, 3, 2])):
        got, labels_got = read_back(name, path, images, labels, indices)
        np.testing.assert_array_equal(labels_got, labels[indices])
        for position, index in enumerate(indices.tolist()):
            np.testing.assert_array_equal(got[position], images[index])


@pytest.mark.parametrize("name", ALL)
def test_round_trip_fixed_shape(name, tmp_path):
    images, labels = cifar_like(37)
    assert_round_trip(name, tmp_path, images, labels)


@pytest.mark.parametrize("name", ALL)
def test_round_trip_memory_mapped_source_in_batches(name, tmp_path, monkeypatch):
    """The prepared data is memory-mapped and larger than one batch: stores must stream it."""
    monkeypatch.setattr("imagestores.stores.batching.WRITE_BATCH", 8)
    monkeypatch.setattr(bench, "READ_BATCH", 8)
    images, labels = cifar_like(50, seed=3)
    np.save(tmp_path / "images.npy", images)
    mapped = np.load(tmp_path / "images.npy", mmap_mode="r")
    get(name).store(tmp_path / "store").write(mapped, labels)
    bench.read_all(get(name), tmp_path / "store", mapped, labels)  # raises ReadMismatch on any difference


@pytest.mark.parametrize(
    ("dtype", "channels"), [(np.uint8, (3, 1, 4, 0)), (np.uint16, (0,)), (np.uint16, (3,))]
)
@pytest.mark.parametrize("name", ALL)
def test_mixed_shapes_round_trip_or_refused_before_writing(name, dtype, channels, tmp_path):
    images, labels = mixed_shapes(dtype, channels)
    store = get(name).store(tmp_path / name)
    try:
        store.check(images)
    except UnsupportedInput as refusal:
        assert str(refusal)
        with pytest.raises(UnsupportedInput):
            store.write(images, labels)
        assert not store.path.exists(), "a refused write must not leave a store behind"
        return
    assert_round_trip(name, tmp_path, images, labels)


@pytest.mark.parametrize("name", ALL)
def test_uint16_fixed_shape_round_trip_or_refused(name, tmp_path):
    rng = np.random.default_rng(5)
    images = rng.integers(0, 65536, (9, 16, 16), dtype=np.uint16)
    labels = np.arange(9, dtype=np.uint8)
    method = get(name)
    if np.dtype(np.uint16) not in method.traits.dtypes:  # refused only where its traits say so
        with pytest.raises(UnsupportedInput, match="uint16"):
            method.store(tmp_path / "probe").check(images)
        return
    assert_round_trip(name, tmp_path, images, labels)


def test_png_methods_refuse_16_bit_colour_naming_the_reason(tmp_path):
    images = [np.zeros((4, 4, 3), dtype=np.uint16)]
    with pytest.raises(UnsupportedInput, match="uint16 with 3 channels"):
        get("disk").store(tmp_path / "disk").write(images, np.zeros(1))


@pytest.mark.parametrize("name", [name for name in ALL if get(name).store_class().fixed_shape])
def test_fixed_shape_methods_refuse_mixed_shapes(name, tmp_path):
    images = [np.zeros((4, 4, 3), np.uint8), np.zeros((5, 4, 3), np.uint8)]
    with pytest.raises(UnsupportedInput, match="one fixed shape"):
        get(name).store(tmp_path / name).write(images, np.zeros(2))


def test_write_refuses_an_existing_store(tmp_path):
    images, labels = cifar_like(3)
    get("hdf5").store(tmp_path / "s").write(images, labels)
    with pytest.raises(FileExistsError):
        get("hdf5").store(tmp_path / "s").write(images, labels)


def test_unknown_method_lists_the_available_ones():
    with pytest.raises(KeyError, match="available: disk"):
        get("floppy")


def test_every_method_is_documented_in_a_known_family():
    from imagestores.stores import FAMILIES

    for method in METHODS.values():
        assert method.family in FAMILIES
        assert len(method.summary) > 40


def test_runs_split_indices_into_consecutive_stretches():
    assert list(runs(np.array([3, 4, 5, 9, 2, 3]))) == [(0, 3, 3), (3, 9, 1), (4, 2, 2)]
    assert list(runs(np.array([], dtype=int))) == []


def test_lmdb_map_never_fills_for_large_images(tmp_path):
    """The study's map-size rule failed for large sets; ours is derived from the data with headroom."""
    rng = np.random.default_rng(2)
    images = [rng.integers(0, 256, (300, 400, 3), dtype=np.uint8) for _ in range(20)]
    labels = np.arange(20)
    assert_round_trip("lmdb", tmp_path, images, labels)


def test_a_method_knows_what_it_holds_without_a_store_on_disk():
    variant = resolve({"name": "parquet_jpeg", "method": "parquet", "options": {"encoding": "jpeg"}})
    assert variant.lossy and variant.base == "parquet" and variant.traits.encoding == "jpeg90"
    assert not get("parquet").lossy and get("parquet").traits.encoding == "raw"
    assert get("npy").traits.fixed_shape and not get("sqlite").traits.fixed_shape
    assert "any shapes" in get("chunks_seek").traits.holds
    with pytest.raises(ValueError, match="without a directory"):
        get("npy").store_class()().path  # noqa: B018 - the property raises


def test_a_bad_option_is_refused_when_the_traits_are_read():
    with pytest.raises(ValueError, match="unknown encoding"):
        resolve({"name": "x", "method": "sqlite", "options": {"encoding": "gif"}}).traits  # noqa: B018


def raw_methods() -> list[pytest.param]:
    """Every registered method that keeps raw pixels beside their dtype and shape, as configured or with
    ``encoding: raw`` (``disk`` keeps image files, so it has none)."""
    params = []
    for name, method in sorted(METHODS.items()):
        spec = name
        if issubclass(method.store_class(), EncodedStore) and method.traits.encoding != "raw":
            spec = {"name": f"{name}_raw", "method": name, "options": {"encoding": "raw"}}
            try:
                resolve(spec).traits  # noqa: B018 - reading the traits checks the options
            except ValueError:
                continue
        params.append(pytest.param(spec, id=name))
    return params


RAW = raw_methods()
DTYPES = sorted(NUMERIC_DTYPES, key=str)


def every_value_of(dtype: np.dtype, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Pixels of ``dtype`` spanning its range: both extremes, and for floats NaN, infinities and -0."""
    if dtype.kind == "b":
        return rng.integers(0, 2, shape).astype(bool)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        pixels = rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)
        pixels.flat[:2] = info.min, info.max
        return pixels
    info = np.finfo(dtype)
    pixels = (rng.standard_normal(shape) * 1000).astype(dtype)
    pixels.flat[:6] = np.nan, np.inf, -np.inf, -0.0, info.max, info.tiny
    return pixels


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("spec", RAW)
def test_every_numeric_dtype_round_trips_through_every_raw_method(spec, dtype, tmp_path):
    """Float TIFFs, int32 masks, bool masks: raw stores hold them exactly, with any channels; a store of
    one shape holds any one dtype."""
    method = resolve(spec)
    assert method.traits.dtypes == NUMERIC_DTYPES and "any numeric dtype" in method.traits.holds
    rng = np.random.default_rng(11)
    one_array = every_value_of(dtype, (4, 6, 5, 2), rng)  # stores take a fast path for one array
    mixed = [every_value_of(dtype, shape, rng) for shape in [(6, 5), (3, 7, 1), (4, 4, 3), (2, 9, 5)]]
    labels = np.arange(4, dtype=np.int64)
    ids = np.array([3, 0, 2, 1, 3])
    for layout, images in (("array", one_array), ("list", mixed)):
        if layout == "list" and method.traits.fixed_shape:
            images = list(one_array)
        store = method.store(tmp_path / layout)
        store.write(images, labels)
        got = [np.zeros(images[index].shape, dtype) for index in ids.tolist()]
        got_labels = np.full(len(ids), -1, np.int64)
        with store.open() as reader:
            reader.read_into(ids, got, got_labels)
        np.testing.assert_array_equal(got_labels, labels[ids])
        for position, index in enumerate(ids.tolist()):
            assert got[position].dtype == dtype
            assert np.array_equal(got[position], images[index], equal_nan=dtype.kind == "f")
            assert got[position].tobytes() == images[index].tobytes(), "every bit, -0.0 and NaN included"
        bench.read_all(method, store.path, images, labels)  # the measure stage's own check


def test_an_image_file_encoding_refuses_a_float_image_naming_it_and_its_dtype(tmp_path):
    images = [np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.float32)]
    for name in ("disk", "webdataset", "hdf5_blobs"):
        with pytest.raises(UnsupportedInput, match=r"image 1 has dtype float32;.*png encoding.*raw"):
            get(name).store(tmp_path / name).write(images, np.zeros(2, np.int64))
    jpeg = resolve({"name": "j", "method": "sqlite", "options": {"encoding": "jpeg"}})
    with pytest.raises(UnsupportedInput, match=r"image 1 has dtype float32;.*stores only uint8;"):
        jpeg.store(tmp_path / "j").write(images, np.zeros(2, np.int64))


def test_psnr_is_taken_of_integer_pixels_only():
    """A lossy codec holds integers only; float images are compared exactly, NaN and all."""
    with pytest.raises(TypeError, match="integer pixels only"):
        bench.psnr_db(np.zeros(4, np.float32), np.zeros(4, np.float32))
    assert bench.same(np.array([np.nan, 1.0]), np.array([np.nan, 1.0]))
    assert not bench.same(np.array([np.nan, 1.0]), np.array([np.nan, 2.0]))
