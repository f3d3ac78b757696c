"""``open_store`` reads every store back as a map-style dataset, alone and through torch's DataLoader.

Parametrised over the registry, so a new method is covered as soon as it is registered. Only the DataLoader
tests need torch (the ``loaders`` extra).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_stores import cifar_like, mixed_shapes

import imagestores
from imagestores.loading import collate_arrays, epoch_order
from imagestores.stores import METHODS, DamagedStore, IncompleteStore, get, resolve
from imagestores.stores.base import MARKER, SHAPES

ALL = sorted(METHODS)
ANY_SHAPE = sorted(name for name, method in METHODS.items() if not method.traits.fixed_shape)


def assert_samples(dataset, ids, images, labels):
    for (image, label), index in zip(dataset.__getitems__(ids), ids, strict=True):
        np.testing.assert_array_equal(image, images[index])
        assert label == labels[index]


@pytest.mark.parametrize("name", ALL)
def test_every_store_opens_as_a_dataset_from_its_path_alone(name, tmp_path):
    images, labels = cifar_like(23)
    get(name).store(tmp_path / name).write(images, labels)
    with imagestores.open_store(tmp_path / name) as dataset:
        assert len(dataset) == 23
        assert dataset.method == name
        image, label = dataset[5]
        np.testing.assert_array_equal(image, images[5])
        assert label == labels[5] and isinstance(label, int)
        assert_samples(dataset, [22, 0, 7, 7, 3], images, labels)
        assert dataset.__getitems__([]) == []
        with pytest.raises(IndexError, match="outside this store of 23 images"):
            dataset[23]
        assert sum(1 for _ in dataset) == 23  # the sequence protocol ends at IndexError


@pytest.mark.parametrize("name", ANY_SHAPE)
def test_images_of_differing_shapes_come_back_as_they_were(name, tmp_path):
    images, labels = mixed_shapes(np.uint8, (3, 0, 1))
    get(name).store(tmp_path / name).write(images, labels)
    assert (tmp_path / name / SHAPES).exists()
    with imagestores.open_store(tmp_path / name) as dataset:
        assert_samples(dataset, [4, 1, 0, 3, 2], images, labels)
        batch, batch_labels = collate_arrays(dataset.__getitems__([1, 2]))
        assert isinstance(batch, list) and [image.shape for image in batch] == [(40, 31), (8, 8, 1)]
        np.testing.assert_array_equal(batch_labels, labels[[1, 2]])


def test_the_manifest_records_a_variant_and_its_options(tmp_path):
    spec = {"name": "parquet_png", "method": "parquet", "options": {"encoding": "png"}}
    images, labels = cifar_like(4)
    resolve(spec).store(tmp_path / "s").write(images, labels)
    manifest = json.loads((tmp_path / "s" / MARKER).read_text())
    assert manifest["method"] == "parquet_png"
    assert manifest["options"] == {"encoding": "png"}
    assert manifest["target"] == "imagestores.stores.parquet_table:ParquetTable"
    assert manifest["shape"] == [32, 32, 3] and manifest["dtype"] == "|u1"
    assert not (tmp_path / "s" / SHAPES).exists()
    dataset = imagestores.open_store(tmp_path / "s")
    assert dataset.store.codec.label == resolve(spec).traits.encoding
    assert_samples(dataset, [3, 0], images, labels)


def test_a_marker_that_names_no_store_class_is_refused_with_the_fix(tmp_path):
    images, labels = cifar_like(3)
    get("npy").store(tmp_path / "s").write(images, labels)
    marker = tmp_path / "s" / MARKER
    marker.write_text(json.dumps({"count": 3, "store": "NpyArray"}))
    with pytest.raises(DamagedStore, match=r"older imagestores.*write it again"):
        imagestores.open_store(tmp_path / "s")
    marker.write_text(json.dumps({"count": 3, "target": "os:system", "options": {}}))
    with pytest.raises(DamagedStore, match="not an imagestores store"):
        imagestores.open_store(tmp_path / "s")


def test_a_missing_or_unfinished_store_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="there is no store"):
        imagestores.open_store(tmp_path / "nothing")
    (tmp_path / "half").mkdir()
    with pytest.raises(IncompleteStore):
        imagestores.open_store(tmp_path / "half")


def test_epoch_order_is_a_permutation_fixed_by_its_seed():
    order = epoch_order(100, seed=3)
    assert sorted(order.tolist()) == list(range(100))
    np.testing.assert_array_equal(order, epoch_order(100, seed=3))
    assert not np.array_equal(order, epoch_order(100, seed=4))


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize("name", ALL)
def test_every_store_feeds_a_dataloader_each_image_once_in_the_seeded_order(name, workers, tmp_path):
    data = pytest.importorskip("torch.utils.data")
    images, labels = cifar_like(37)
    get(name).store(tmp_path / name).write(images, labels)
    dataset = imagestores.open_store(tmp_path / name)
    dataset[0]  # a reader open in the parent must not leak into the forked workers
    order = epoch_order(len(dataset), seed=11)
    loader = data.DataLoader(
        dataset,
        batch_size=8,
        sampler=order.tolist(),
        num_workers=workers,
        collate_fn=collate_arrays,
        multiprocessing_context=dataset.worker_context if workers else None,
    )
    got, got_labels = zip(*loader, strict=True)
    np.testing.assert_array_equal(np.concatenate(got), images[order])
    np.testing.assert_array_equal(np.concatenate(got_labels), labels[order])
    assert [len(batch) for batch in got] == [8, 8, 8, 8, 5]
    dataset.close()


def test_torch_default_collate_makes_tensors_of_a_batch(tmp_path):
    torch = pytest.importorskip("torch")
    images, labels = cifar_like(10)
    get("chunks_seek").store(tmp_path / "s").write(images, labels)
    loader = torch.utils.data.DataLoader(imagestores.open_store(tmp_path / "s"), batch_size=4)
    batch, batch_labels = next(iter(loader))
    assert batch.shape == (4, 32, 32, 3) and batch.dtype == torch.uint8
    np.testing.assert_array_equal(batch.numpy(), images[:4])
    np.testing.assert_array_equal(batch_labels.numpy(), labels[:4])


def test_only_lance_needs_workers_started_from_a_fork_server(tmp_path):
    """Lance's runtime does not survive a fork: its forked DataLoader workers died with SIGSEGV."""
    images, labels = cifar_like(3)
    usable = [name for name in ALL if not get(name).unavailable]  # the others' tests are skipped
    contexts = {}
    for name in usable:
        get(name).store(tmp_path / name).write(images, labels)
        contexts[name] = imagestores.open_store(tmp_path / name).worker_context
    assert contexts == {name: "forkserver" if name == "lance" else None for name in usable}
