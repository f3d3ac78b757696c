"""Checks the libraries' own formats share (test_stores_loaders, test_stores_formats): every image reads
back exactly through the store and through ``open_store``, and a data file cut short or gone is refused as
a damaged store naming the file, never read on into a wrong image."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from imagestores import open_store
from imagestores.stores import DamagedStore, get, resolve


def assert_a_cut_or_missing_file_is_refused(
    name: str, path: Path, files: Callable[[Path], list[str]]
) -> None:
    """Write six images into small shards of method ``name`` at ``path``; ``files`` lists its data files.
    Cut the second short, then remove it: each is a DamagedStore naming the file."""
    images = np.random.default_rng(8).integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    spec = {"name": name, "method": name, "options": {"shard_bytes": 8192}}
    resolve(spec).store(path).write(images, np.arange(6))
    names = files(path)
    assert len(names) > 1, "small shards: more than one file"
    with open(path / names[1], "r+b") as data:
        data.truncate(100)
    with pytest.raises(DamagedStore, match=f"{names[1]}: 100 bytes"):
        open_store(path).read([0])
    (path / names[1]).unlink()
    with pytest.raises(DamagedStore, match=f"{names[1]}: missing"):
        get(name).store(path).open()


def assert_round_trip(name: str, path: Path, images: list[np.ndarray], labels: np.ndarray) -> None:
    """``images`` written at ``path`` read back exactly, in a shuffled order with a repeat, through the
    store's reader and through ``open_store``."""
    order = np.array([len(images) - 1, 0, 2, 2, 1])
    got = [np.zeros_like(images[i]) for i in order]
    got_labels = np.zeros(len(order), dtype=np.int64)
    with get(name).store(path).open() as reader:
        assert len(reader) == len(images)
        reader.read_into(order, got, got_labels)
    np.testing.assert_array_equal(got_labels, labels[order])
    for image, index in zip(got, order.tolist(), strict=True):
        np.testing.assert_array_equal(image, images[index])
    with open_store(path) as dataset:
        assert dataset.method == name and len(dataset) == len(images)
        for index in range(len(images)):
            image, label = dataset[index]
            assert image.dtype == images[index].dtype and label == labels[index]
            np.testing.assert_array_equal(image, images[index])
