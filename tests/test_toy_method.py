"""Adding a method is one module and one registry line: a toy method (raw bytes in a ``dbm`` file), defined
here and registered here, goes through the same round-trip and read-contract tests as every method.

This module is the toy's whole implementation; ``registry.register`` stands in for its line in
``_ENTRIES`` (README, Development).
"""

from __future__ import annotations

import dbm
import json
from pathlib import Path

import numpy as np
import pytest
import test_contracts as contracts
from test_stores import assert_round_trip, mixed_shapes

from imagestores.loading import open_store
from imagestores.stores import Method, Reader, Store, registry
from imagestores.stores.base import Images


class DbmBytes(Store):
    """Each image's raw bytes under its id in a ``dbm`` file, with its shape, dtype and label beside them."""

    def _write(self, images: Images, labels: np.ndarray) -> None:
        with dbm.open(str(self.path / "images"), "n") as db:
            for index, image in enumerate(images):
                db[f"{index}"] = np.ascontiguousarray(image).tobytes()
                db[f"{index}.meta"] = json.dumps([image.shape, image.dtype.str, int(labels[index])])
            db["count"] = str(len(images))

    def _open(self) -> Reader:
        return DbmReader(self.path)


class DbmReader(Reader):
    def __init__(self, path: Path) -> None:
        self.db = dbm.open(str(path / "images"), "r")  # noqa: SIM115 - closed by close()

    def _read_into(self, indices: np.ndarray, images_out: Images, labels_out: np.ndarray) -> None:
        for position, index in enumerate(indices.tolist()):
            shape, dtype, label = json.loads(self.db[f"{index}.meta"])
            images_out[position][...] = np.frombuffer(self.db[f"{index}"], dtype).reshape(shape)
            labels_out[position] = label

    def __len__(self) -> int:
        return int(self.db["count"])

    def close(self) -> None:
        self.db.close()


TOY = Method(
    "dbm_toy", f"{__name__}:DbmBytes", "key-value", "Raw image bytes under their ids in a dbm file: a toy."
)


@pytest.fixture(scope="module", autouse=True)
def registered():
    registry.register(TOY)
    yield TOY
    registry.unregister(TOY.name)


@pytest.fixture(scope="module")
def stores(tmp_path_factory, registered):
    path = tmp_path_factory.mktemp("toy") / "store"
    TOY.store(path).write(*contracts.cifar_like())
    return {TOY.name: (TOY, path)}


def test_round_trip(tmp_path):
    assert_round_trip(TOY.name, tmp_path, *contracts.cifar_like(9))
    assert_round_trip(TOY.name, tmp_path / "mixed", *mixed_shapes(np.uint16, (3, 1, 0)))


@pytest.mark.parametrize(("ids", "first_bad"), contracts.BAD_IDS)
def test_ids_outside_the_store(ids, first_bad, stores):
    contracts.test_ids_outside_the_store_raise_index_error_before_reading(TOY.name, ids, first_bad, stores)


@pytest.mark.parametrize("ids", [[4, 4, 4], [5, 0, 3, 1], [], list(range(contracts.COUNT))[::-1]])
def test_ids_in_any_order(ids, stores):
    contracts.test_repeated_and_unsorted_ids_read_in_the_order_asked(TOY.name, ids, stores)
    contracts.test_no_ids_read_nothing(TOY.name, stores)


@pytest.mark.parametrize("case", sorted(contracts.REFUSED))
def test_bad_input_is_refused(case, tmp_path):
    contracts.test_bad_input_is_refused_before_anything_is_written(TOY.name, case, tmp_path)


def test_an_incomplete_store_is_refused_and_a_whole_one_opens_by_its_manifest(tmp_path):
    contracts.test_a_store_without_its_completion_marker_is_refused(TOY.name, tmp_path)
    images, labels = contracts.cifar_like()
    TOY.store(tmp_path / "whole").write(images, labels)
    with open_store(tmp_path / "whole") as dataset:
        image, label = dataset[2]
    np.testing.assert_array_equal(image, images[2])
    assert label == labels[2]
