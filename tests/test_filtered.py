"""The filtered read (issue 11): every store returns exactly the images a filter matches, in id order, and
the stores that claim to filter by themselves do not read the rest.

Exactness is checked through the harness's own ``timing.read_filtered`` (which fails on any other id,
image or label) and again here, over the registry and every encoding, as the contract tests are.
"""

from __future__ import annotations

import sqlite3

import lance
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from PIL import Image
from test_contracts import CASES

from imagestores.config import ConfigError, check_filter
from imagestores.data.folder import FolderOptions
from imagestores.data.prepare import prepare
from imagestores.data.prepared import load_prepared
from imagestores.measure import timing
from imagestores.stores import METHODS, IncompleteStore, get, resolve
from imagestores.stores.base import LABEL_INDEX
from imagestores.stores.npy_array import NpyArray
from imagestores.stores.where import Where

COUNT = 300
BATCH = 8


def cifar_like(count: int = COUNT) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(29)
    images = rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8)
    return images, rng.integers(0, 10, count).astype(np.int64)


def read_where(method, path, where: Where, batch: int = BATCH) -> tuple[np.ndarray, np.ndarray, list]:
    """Every (id, label, image) the store's filtered read yields, batch by batch, copied out."""
    buffer = np.zeros((batch, 32, 32, 3), np.uint8)
    labels_out = np.full(batch, -1, np.int64)
    ids, labels, images = [], [], []
    with method.store(path).open() as reader:
        for chosen, got in reader.read_where(where, lambda chosen: buffer, labels_out):
            assert len(chosen) <= batch, "a batch never exceeds the labels it may fill"
            ids.append(chosen.copy())
            labels.append(labels_out[: len(chosen)].copy())
            images += [image.copy() for image in got[: len(chosen)]]
    return np.concatenate(ids or [[]]).astype(int), np.concatenate(labels or [[]]).astype(int), images


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> dict[str, tuple]:
    root = tmp_path_factory.mktemp("filtered")
    images, labels = cifar_like()
    written = {}
    for param in CASES:
        method = resolve(param.values[0])
        if method.unavailable:  # its tests are skipped (conftest.py)
            continue
        method.store(root / method.name).write(images, labels)
        written[method.name] = (method, root / method.name)
    return written


def raw(stores: dict[str, tuple], name: str) -> tuple:
    """The written store of registered method ``name`` (its raw encoding, for stores of bytes)."""
    return stores.get(name) or stores[f"{name}_raw"]


@pytest.mark.parametrize("spec", CASES)
def test_every_store_reads_exactly_the_matching_images_in_id_order(spec, stores):
    method, path = stores[resolve(spec).name]
    images, labels = cifar_like()
    where = Where("label", 3)
    expected = np.flatnonzero(labels == 3)
    assert len(expected) > 2 * BATCH, "several batches"
    ids, got_labels, got = read_where(method, path, where)
    np.testing.assert_array_equal(ids, expected)
    np.testing.assert_array_equal(got_labels, labels[expected])
    if not method.lossy:
        np.testing.assert_array_equal(np.stack(got), images[expected])
    assert timing.read_filtered(method, path, images, labels, where) > 0  # the harness's own check


@pytest.mark.parametrize("name", ["npy", "lance", "parquet", "sqlite"])
def test_a_value_no_image_has_reads_nothing(name, stores):
    method, path = raw(stores, name)
    ids, _, _ = read_where(method, path, Where("label", 42))
    assert len(ids) == 0
    images, labels = cifar_like()
    timing.read_filtered(method, path, images, labels, Where("label", 42))


def test_a_reader_that_finds_other_images_fails_the_measurement(tmp_path, monkeypatch):
    images, labels = cifar_like()
    method = get("npy")
    method.store(tmp_path / "npy").write(images, labels)
    wrong = labels.copy()
    wrong[np.flatnonzero(labels == 3)[0]] = 4  # the index beside the data forgets one match
    np.save(tmp_path / "npy" / LABEL_INDEX, wrong)
    with pytest.raises(timing.ReadMismatch, match="found other images"):
        timing.read_filtered(method, tmp_path / "npy", images, labels, Where("label", 3))


def spy_lance_scans(monkeypatch) -> list:
    """Every Lance scan's statistics (bytes read, rows scanned), as Lance reports them."""
    statistics: list = []
    scanner = lance.LanceDataset.scanner

    def recording(self, *args, **kwargs):
        return scanner(self, *args, **kwargs, scan_stats_callback=statistics.append)

    monkeypatch.setattr(lance.LanceDataset, "scanner", recording)
    return statistics


def test_lance_pushes_the_filter_down_and_reads_only_the_matching_images(tmp_path, monkeypatch):
    """Lance reads the label column and the matching images: far less than every image's bytes."""
    images, labels = cifar_like(2000)
    method = get("lance")
    method.store(tmp_path / "lance").write(images, labels)
    statistics = spy_lance_scans(monkeypatch)
    timing.read_filtered(method, tmp_path / "lance", images, labels, Where("label", 3))
    matching = int((labels == 3).sum())
    (scan,) = statistics
    assert scan.bytes_read < 2 * matching * images[0].nbytes + labels.nbytes
    assert scan.bytes_read < images.nbytes / 3


def test_parquet_skips_the_row_groups_whose_statistics_exclude_the_value(tmp_path, monkeypatch):
    """Labels sorted, 50 rows a group: only the groups holding label 3 have their images read."""
    images, labels = cifar_like(1000)
    labels = np.sort(labels)
    method = resolve({"name": "parquet_small", "method": "parquet", "options": {"row_group_rows": 50}})
    method.store(tmp_path / "pq").write(images, labels)
    read = []
    original = pq.ParquetFile.read_row_groups

    def recording(self, groups, columns=None, **kwargs):
        read.append((list(groups), list(columns or [])))
        return original(self, groups, columns=columns, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "read_row_groups", recording)
    timing.read_filtered(method, tmp_path / "pq", images, labels, Where("label", 3))
    ids = np.flatnonzero(labels == 3)
    holding = set(range(ids[0] // 50, ids[-1] // 50 + 1))
    image_groups = {group for groups, columns in read if "image" in columns for group in groups}
    label_groups = {group for groups, columns in read if columns == ["label"] for group in groups}
    assert image_groups == holding
    assert label_groups == holding, "the statistics ruled out every other group before reading labels"


def test_sqlite_finds_a_label_through_its_index(tmp_path, monkeypatch):
    """The query the reader runs searches the label index: it visits no other row."""
    images, labels = cifar_like()
    method = get("sqlite")
    method.store(tmp_path / "sqlite").write(images, labels)
    queries: list[str] = []
    connect = sqlite3.connect

    def tracing(*args, **kwargs):
        connection = connect(*args, **kwargs)
        connection.set_trace_callback(queries.append)
        return connection

    monkeypatch.setattr(sqlite3, "connect", tracing)
    timing.read_filtered(method, tmp_path / "sqlite", images, labels, Where("label", 3))
    (query,) = [query for query in queries if '"label" = 3' in query]
    with connect(tmp_path / "sqlite" / "images.sqlite") as connection:
        plan = " ".join(row[-1] for row in connection.execute(f"EXPLAIN QUERY PLAN {query}"))
    assert "USING INDEX images_label" in plan and "SCAN" not in plan, plan


def test_stores_without_a_filter_of_their_own_read_only_the_matching_ids(tmp_path, monkeypatch):
    images, labels = cifar_like()
    method = get("npy")
    method.store(tmp_path / "npy").write(images, labels)
    asked = []
    read_into = NpyArray.open

    def spying(self):
        reader = read_into(self)
        original = reader.read_into
        reader.read_into = lambda ids, *rest: (asked.append(np.array(ids)), original(ids, *rest))[1]
        return reader

    monkeypatch.setattr(NpyArray, "open", spying)
    timing.read_filtered(method, tmp_path / "npy", images, labels, Where("label", 3))
    np.testing.assert_array_equal(np.concatenate(asked), np.flatnonzero(labels == 3))


def test_a_store_written_before_filtered_reads_says_to_write_it_again(tmp_path):
    images, labels = cifar_like()
    get("npy").store(tmp_path / "npy").write(images, labels)
    (tmp_path / "npy" / LABEL_INDEX).unlink()
    with pytest.raises(IncompleteStore, match="write it again"):
        read_where(get("npy"), tmp_path / "npy", Where("label", 3))


@pytest.fixture(scope="module")
def folder_data(tmp_path_factory):
    """A prepared folder of 12 images of differing shapes with a metadata table (plate, kind, label)."""
    root = tmp_path_factory.mktemp("folder")
    rng = np.random.default_rng(3)
    rows = []
    for number in range(12):
        relative = f"{'ab'[number % 2]}/{number:02d}.png"
        (root / "images" / relative).parent.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, (4 + number, 5 + number % 3, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / "images" / relative)
        rows.append({"path": relative, "plate": number % 3, "kind": "xyz"[number % 3], "label": "clash"})
    pd.DataFrame(rows).to_csv(root / "meta.csv", index=False)
    options = FolderOptions(root / "images", metadata=root / "meta.csv")
    prepare("folder", "all", root / "data", root / "res", folder=options, threads=1)
    return root, load_prepared(root / "data", 12)


ANY_SHAPE = [name for name in sorted(METHODS) if not get(name).traits.fixed_shape]


@pytest.mark.parametrize("name", ANY_SHAPE)
@pytest.mark.parametrize("where", [Where("plate", 1), Where("kind", "z"), Where("label", 1)], ids=str)
def test_a_metadata_column_filters_every_store_of_a_folder(name, where, folder_data, tmp_path):
    """Images of differing shapes, their output allocated as the reader asks, filtered on metadata."""
    _, data = folder_data
    method = get(name)
    method.store(tmp_path / name).write(data.images, data.labels)
    expected = where.select(data.labels, data.images.metadata)
    assert 0 < len(expected) < len(data.images)
    timing.read_filtered(method, tmp_path / name, data.images, data.labels, where)


@pytest.mark.parametrize("name", ["npy", "parquet", "lance", "sqlite"])
def test_a_column_the_store_does_not_have_is_an_error_naming_the_columns(name, stores):
    method, path = raw(stores, name)
    with pytest.raises(ValueError, match="cannot filter on 'plate'"):
        read_where(method, path, Where("plate", 1))


@pytest.mark.parametrize("name", ["parquet", "lance", "sqlite", "chunks_seek"])
def test_a_value_of_the_wrong_type_is_an_error_naming_the_column_type(name, folder_data, tmp_path):
    _, data = folder_data
    method = get(name)
    method.store(tmp_path / name).write(data.images, data.labels)
    with pytest.raises(ValueError, match="cannot be compared with column 'kind'"):
        timing.read_filtered(method, tmp_path / name, data.images, data.labels, Where("kind", 3))


@pytest.mark.parametrize(
    ("configured", "source", "phrase"),
    [
        ({"column": "label", "value": "cats"}, "synthetic", "labels are integers"),
        ({"column": "kind", "value": "z"}, "cifar10", "only 'column: label'"),
        ({"column": "", "value": 1}, "folder", "must be a column name"),
    ],
)
def test_a_filter_no_store_can_answer_stops_the_config_check(configured, source, phrase):
    with pytest.raises(ConfigError, match=phrase):
        check_filter(configured, source)
    check_filter({"column": "label", "value": 3}, source)
