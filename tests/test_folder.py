"""The folder source: a user's own files of any format, mode, dtype and size, with a metadata table.

Each bad case gets its documented outcome, what is prepared is exactly what the files hold, and every
store that can hold mixed shapes and uint16 round-trips the prepared folder exactly, the rest refuse.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tifffile
from PIL import Image

from imagestores.data.folder import FolderError, FolderOptions, find_files
from imagestores.data.prepare import prepare
from imagestores.data.prepared import load_prepared
from imagestores.measure import timing
from imagestores.stores import METHODS, UnsupportedInput, get, resolve
from imagestores.stores.codecs import decode_image

RNG = np.random.default_rng(7)


def pixels(height: int, width: int, *channels: int, dtype: type = np.uint8) -> np.ndarray:
    top = np.iinfo(dtype).max
    return RNG.integers(0, top, (height, width, *channels), dtype=dtype)


def good_files(root: Path) -> dict[str, np.ndarray]:
    """Write one file of every supported format and mode; return the pixels each must decode to."""
    expected: dict[str, np.ndarray] = {}

    def save(relative: str, array: np.ndarray, mode: str | None = None, **options) -> None:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(array, mode).save(path, **options)
        expected[relative] = array

    save("cats/rgb.png", pixels(20, 30, 3))
    save("cats/rgba.png", pixels(9, 14, 4))
    save("cats/gray.png", pixels(11, 5))
    save("cats/deep/gray16.png", pixels(13, 17, dtype=np.uint16))
    save("cats/lossless.webp", pixels(8, 8, 3), lossless=True)
    save("dogs/rgb.bmp", pixels(7, 12, 3))
    save("dogs/rgb8.tif", pixels(6, 10, 3))
    save("dogs/gray16.tif", pixels(1024 // 16, 1344 // 16, dtype=np.uint16))
    save("dogs/naïve-é.png", pixels(5, 5, 3))
    palette = Image.fromarray(pixels(16, 16, 3)).quantize(8)
    palette.save(root / "dogs/palette.png")
    expected["dogs/palette.png"] = np.asarray(palette.convert("RGB"))
    transparent = palette.copy()
    transparent.info["transparency"] = 0
    transparent.save(root / "dogs/palette_alpha.png", transparency=0)
    expected["dogs/palette_alpha.png"] = np.asarray(
        Image.open(root / "dogs/palette_alpha.png").convert("RGBA")
    )
    jpeg = pixels(32, 48, 3)
    Image.fromarray(jpeg).save(root / "dogs/photo.jpg", quality=90)
    expected["dogs/photo.jpg"] = np.asarray(Image.open(root / "dogs/photo.jpg"))
    frames = [Image.fromarray(pixels(10, 10, 3)).quantize(16) for _ in range(3)]
    frames[0].save(root / "dogs/anim.gif", save_all=True, append_images=frames[1:])
    expected["dogs/anim.gif"] = np.asarray(Image.open(root / "dogs/anim.gif").convert("RGB"))
    rgb16 = pixels(6, 9, 3, dtype=np.uint16)  # Pillow cannot decode 16-bit colour TIFFs: tifffile does
    tifffile.imwrite(root / "dogs/rgb16.tif", rgb16, photometric="rgb")
    expected["dogs/rgb16.tif"] = rgb16
    pages = np.stack([pixels(8, 8, dtype=np.uint16) for _ in range(3)])
    tifffile.imwrite(root / "dogs/stack.tif", pages, photometric="minisblack")
    expected["dogs/stack.tif"] = pages[0]
    (root / "dogs" / "notes.txt").write_text("not an image")
    return expected


def bad_files(root: Path) -> list[str]:
    """A corrupt JPEG, a truncated PNG and an empty PNG; return their relative paths."""
    (root / "cats").mkdir(parents=True, exist_ok=True)
    (root / "cats/corrupt.jpg").write_bytes(
        b"\xff\xd8\xff\xe0" + bytes(RNG.integers(0, 256, 500, dtype=np.uint8))
    )
    whole = (root / "cats/rgb.png").read_bytes()
    (root / "cats/truncated.png").write_bytes(whole[: len(whole) // 2])
    (root / "cats/empty.png").write_bytes(b"")
    return ["cats/corrupt.jpg", "cats/empty.png", "cats/truncated.png"]


def prepared(tmp_path: Path, root: Path, **options) -> tuple[dict, Path]:
    out = tmp_path / "data"
    size = options.pop("size", "all")
    meta = prepare("folder", size, out, tmp_path / "res", folder=FolderOptions(root, **options), threads=2)
    return meta, out


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> tuple[Path, dict[str, np.ndarray]]:
    root = tmp_path_factory.mktemp("folder") / "images"
    return root, good_files(root)


def test_every_format_and_mode_is_prepared_as_its_file_decodes(folder, tmp_path):
    root, expected = folder
    meta, out = prepared(tmp_path, root)
    data = load_prepared(out, meta["size"])
    files = pd.read_csv(out / "images.csv")
    assert list(files["path"]) == sorted(expected), "sorted path order, non-images left out"
    for image, relative in zip(data.images, files["path"], strict=True):
        np.testing.assert_array_equal(image, expected[relative], err_msg=relative)
        assert image.dtype == expected[relative].dtype
    assert meta["not_images"] == {"count": 1, "examples": ["dogs/notes.txt"]}
    assert meta["dtypes"] == {"uint8": 11, "uint16": 4}
    assert set(meta["formats"]) == {"PNG", "WEBP", "BMP", "TIFF", "JPEG", "GIF"}
    frames = files.set_index("path")["frames"]
    assert frames["dogs/stack.tif"] == 3 and frames["dogs/anim.gif"] == 3 and frames["cats/rgb.png"] == 1
    assert files.set_index("path").loc["dogs/rgb16.tif", "mode"] == "tifffile"
    assert meta["pixel_bytes"]["total"] == sum(array.nbytes for array in expected.values())


def test_original_files_are_kept_byte_for_byte(folder, tmp_path):
    root, expected = folder
    meta, out = prepared(tmp_path, root)
    data = load_prepared(out, meta["size"])
    for original, relative in zip(data.images.originals, sorted(expected), strict=True):
        assert bytes(original) == (root / relative).read_bytes()
    assert [bytes(original) for original in data.images[2:4].originals] == [
        (root / relative).read_bytes() for relative in sorted(expected)[2:4]
    ]


def test_damaged_images_stop_the_run_naming_each_file(folder, tmp_path):
    root = tmp_path / "images"
    good_files(root)
    bad = bad_files(root)
    with pytest.raises(FolderError) as refused:
        prepared(tmp_path, root)
    message = str(refused.value)
    assert all(path in message for path in bad) and "on_bad_file: skip" in message
    assert not (tmp_path / "data" / "dataset.json").exists(), "nothing a later job could trust"


def test_skipping_damaged_images_lists_each_in_dataset_json(tmp_path):
    root = tmp_path / "images"
    expected = good_files(root)
    bad = bad_files(root)
    meta, out = prepared(tmp_path, root, on_bad_file="skip")
    assert meta["base_size"] == len(expected)
    assert [entry["path"] for entry in meta["skipped_bad_files"]] == bad
    assert json.loads((out / "dataset.json").read_text())["skipped_bad_files"] == meta["skipped_bad_files"]


@pytest.mark.parametrize(
    ("make", "phrase"),
    [
        (lambda root: None, "does not exist"),
        (lambda root: root.mkdir(), "no image found"),
        (lambda root: (root.mkdir(), (root / "a.txt").write_text("x")), "no image found"),
    ],
)
def test_a_folder_without_images_is_refused(tmp_path, make, phrase):
    root = tmp_path / "images"
    make(root)
    with pytest.raises(FolderError, match=phrase):
        prepared(tmp_path, root)


def test_a_symlink_loop_is_refused(tmp_path):
    root = tmp_path / "images"
    (root / "a").mkdir(parents=True)
    Image.fromarray(pixels(4, 4, 3)).save(root / "a" / "x.png")
    os.symlink(root, root / "a" / "back")
    with pytest.raises(FolderError, match="symbolic link"):
        find_files(root)


def metadata_folder(tmp_path: Path) -> Path:
    root = tmp_path / "images"
    for relative in ("red/1.png", "red/2.png", "blue/3.png"):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels(4, 6, 3)).save(root / relative)
    return root


def test_metadata_rows_follow_their_images_and_give_labels(tmp_path):
    root = metadata_folder(tmp_path)
    table = pd.DataFrame({"id": ["3", "1", "2"], "plate": [9, 7, 8], "kind": ["c", "a", "b"]})
    table.to_csv(tmp_path / "meta.csv", index=False)
    meta, out = prepared(tmp_path, root, metadata=tmp_path / "meta.csv", key="id", labels="kind")
    stored = pd.read_parquet(out / "metadata.parquet")
    assert list(stored["path"]) == ["blue/3.png", "red/1.png", "red/2.png"]
    assert list(stored["plate"]) == [9, 7, 8]
    assert list(np.load(out / "labels.npy")) == [2, 0, 1] and meta["classes"] == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("table", "options", "phrase"),
    [
        ({"name": ["1", "2", "3"]}, {"key": "id"}, "has no column 'id'"),
        ({"id": ["1", "2", "3", "4"]}, {"key": "id"}, "name no file"),
        ({"id": ["1", "2"]}, {"key": "id"}, "have no row"),
        ({"id": ["1", "1", "2", "3"]}, {"key": "id"}, "repeats 1"),
        ({"id": ["1", "2", "3"]}, {"key": "id", "labels": "kind"}, "neither 'folder', 'none' nor a column"),
    ],
)
def test_a_metadata_table_that_does_not_fit_is_refused(tmp_path, table, options, phrase):
    root = metadata_folder(tmp_path)
    pd.DataFrame(table).to_csv(tmp_path / "meta.csv", index=False)
    with pytest.raises(FolderError, match=phrase):
        prepared(tmp_path, root, metadata=tmp_path / "meta.csv", **options)


def test_labels_from_folders_none_and_loose_files(tmp_path):
    root = metadata_folder(tmp_path)
    meta, out = prepared(tmp_path, root)
    assert list(np.load(out / "labels.npy")) == [0, 1, 1] and meta["classes"] == ["blue", "red"]
    meta, out = prepared(tmp_path, root, labels="none")
    assert list(np.load(out / "labels.npy")) == [0, 0, 0]
    Image.fromarray(pixels(4, 4, 3)).save(root / "loose.png")
    with pytest.raises(FolderError, match=r"lie directly in dataset\.path: loose\.png"):
        prepared(tmp_path, root)


def test_size_repeats_or_truncates_without_copying_pixels(tmp_path):
    root = metadata_folder(tmp_path)
    meta, out = prepared(tmp_path, root, size=7)
    data = load_prepared(out, 7)
    assert meta["size"] == 7 and meta["base_size"] == 3
    np.testing.assert_array_equal(data.images[6], data.images[0])
    assert (out / "pixels.bin").stat().st_size < 3 * 4 * 6 * 3 + 3 * 64
    meta, out = prepared(tmp_path, root, size=2)
    assert len(load_prepared(out, 2).images) == 2


def test_cutoffs_beyond_the_folder_are_refused_before_any_store(tmp_path):
    root = metadata_folder(tmp_path)
    with pytest.raises(ValueError, match="cutoffs go up to 10 images but the prepared set holds 3"):
        prepare(
            "folder", "all", tmp_path / "d", tmp_path / "r", folder=FolderOptions(root), largest_cutoff=10
        )


ORIGINAL_VARIANTS = [
    {"name": f"{name}_original", "method": name, "options": {"encoding": "original"}}
    for name in ("disk", "lmdb_raw", "sqlite", "hdf5_blobs", "hdf5_vlen", "parquet", "lance", "chunks_seek")
] + [{"name": "webdataset_original", "method": "webdataset", "options": {"encoding": "original"}}]


@pytest.mark.parametrize("spec", [*sorted(METHODS), *ORIGINAL_VARIANTS], ids=lambda spec: str(spec)[:40])
def test_every_store_round_trips_the_folder_exactly_or_refuses_it(folder, tmp_path, spec):
    root, _ = folder
    meta, out = prepared(tmp_path, root)
    data = load_prepared(out, meta["size"])
    method = resolve(spec)
    store = method.store(tmp_path / "store")
    try:
        store.write(data.images, data.labels)
    except UnsupportedInput as reason:
        assert method.traits.fixed_shape or "PNG" in str(reason) or "JPEG" in str(reason), reason
        assert not (tmp_path / "store").exists(), "refused before writing anything"
        return
    assert not method.traits.fixed_shape
    timing.read_all(method, tmp_path / "store", data.images, data.labels)  # raises on any difference
    shuffled = timing.random_indices(len(data.images), len(data.images))
    timing.read_some(method, tmp_path / "store", data.images, data.labels, shuffled)


def test_mixed_capable_stores_hold_uint16_and_mixed_shapes():
    refusing = {name for name, method in METHODS.items() if method.traits.fixed_shape}
    assert refusing == {"hdf5", "hdf5_direct", "npy", "zarr", "zarr_batched"}


def test_the_original_encoding_needs_files(tmp_path):
    images = pixels(4, 4, 3)[None].repeat(2, axis=0)
    store = get("sqlite").store_class()(tmp_path / "s", encoding="original")
    with pytest.raises(UnsupportedInput, match=r"dataset\.source: folder"):
        store.write(images, np.arange(2))


def test_decoding_ignores_exif_rotation(tmp_path):
    array = pixels(6, 10, 3)
    image = Image.fromarray(array)
    exif = image.getexif()
    exif[0x0112] = 6  # "rotate 90 degrees" for viewers; the stored pixels stay as they are
    image.save(tmp_path / "rotated.png", exif=exif)
    np.testing.assert_array_equal(decode_image(tmp_path / "rotated.png").pixels, array)


def test_table_stores_keep_the_metadata_as_columns_and_the_others_beside_their_data(tmp_path):
    root = metadata_folder(tmp_path)
    pd.DataFrame(
        {"path": ["red/1.png", "red/2.png", "blue/3.png"], "label": ["x", "y", "z"], "plate": [1, 2, 3]}
    ).to_csv(tmp_path / "meta.csv", index=False)
    _, out = prepared(tmp_path, root, metadata=tmp_path / "meta.csv", size=5)
    data = load_prepared(out, 5)
    for name in ("parquet", "lance", "sqlite", "chunks_seek"):
        path = tmp_path / name
        get(name).store(path).write(data.images, data.labels)
        if name == "parquet":
            table = pd.read_parquet(path / "images.parquet")
        elif name == "lance":
            import lance

            table = lance.dataset(path).to_table().to_pandas()
        elif name == "sqlite":
            import sqlite3

            with sqlite3.connect(path / "images.sqlite") as connection:
                table = pd.read_sql("SELECT * FROM images WHERE plate = 3", connection)
            assert list(table["id"]) == [0, 3], "SQL filters on a metadata column (the set repeats)"
            continue
        else:
            table = pd.read_parquet(path / "metadata.parquet")
        assert list(table["path"]) == ["blue/3.png", "red/1.png", "red/2.png", "blue/3.png", "red/1.png"]
        assert list(table["plate"]) == [3, 1, 2, 3, 1]
        assert "meta_label" in table.columns or name == "chunks_seek", "a clashing name is kept, renamed"
