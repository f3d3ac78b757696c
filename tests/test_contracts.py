"""The contracts every registered method keeps, whatever its format (issue 13).

- Reads: ids are integers in [0, len); anything else is an IndexError naming the first bad id and the
  store's size, raised before anything is read. Repeats, any order and no ids at all are fine.
- Writes: input a method cannot take is refused, with a message, before anything is on disk; what it
  must take (the table below) is taken, so a store that refuses everything fails.
- Completeness: a store is written under a temporary name and carries a completion marker; without it
  ``open`` refuses the store.

Parametrised over the registry and, for stores of encoded bytes, every encoding.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from imagestores.stores import METHODS, UnsupportedInput, get, resolve
from imagestores.stores.base import MARKER, EncodedStore, IncompleteStore
from imagestores.stores.codecs import ENCODINGS


def takes(spec: dict) -> bool:
    """Whether the method accepts the spec's options (``disk`` keeps image files, so no raw encoding)."""
    try:
        resolve(spec).traits  # noqa: B018 - reading the traits checks the options
    except ValueError:
        return False
    return True


def cases() -> list[pytest.param]:
    """Every registered method, and each encoding of those that take one.

    ``original`` stores a folder's files and so needs them: tests/test_folder.py covers it.
    """
    params = []
    for name, method in sorted(METHODS.items()):
        if issubclass(method.store_class(), EncodedStore):
            for encoding in ENCODINGS:
                spec = {"name": f"{name}_{encoding}", "method": name, "options": {"encoding": encoding}}
                if encoding != "original" and takes(spec):
                    params.append(pytest.param(spec, id=f"{name}-{encoding}"))
        else:
            params.append(pytest.param(name, id=name))
    return params


CASES = cases()
COUNT = 6


def cifar_like(count: int = COUNT) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(13)
    images = rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8)
    return images, rng.integers(0, 10, count).astype(np.int64)


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> dict[str, object]:
    """One written store per case, shared by the read tests (they only read); none of a method whose
    library is not installed, whose tests are skipped (conftest.py)."""
    root = tmp_path_factory.mktemp("stores")
    images, labels = cifar_like()
    written = {}
    for param in CASES:
        method = resolve(param.values[0])
        if method.unavailable:
            continue
        path = root / method.name
        method.store(path).write(images, labels)
        written[method.name] = (method, path)
    return written


def read(method, path, ids, count=None):
    ids = np.asarray(ids)
    got = np.zeros((count if count is not None else len(ids), 32, 32, 3), np.uint8)
    got_labels = np.full(len(got), -1, np.int64)
    with method.store(path).open() as reader:
        reader.read_into(ids, got, got_labels)
    return got, got_labels


def assert_read(method, got, got_labels, ids) -> None:
    images, labels = cifar_like()
    np.testing.assert_array_equal(got_labels[: len(ids)], labels[ids])
    for position, index in enumerate(ids):
        if method.lossy:
            assert np.abs(got[position].astype(int) - images[index]).mean() < 10
        else:
            np.testing.assert_array_equal(got[position], images[index])


BAD_IDS = [
    pytest.param([COUNT], COUNT, id="one-past-the-end"),
    pytest.param([0, 10**6], 10**6, id="far-too-large"),
    pytest.param([-1], -1, id="negative"),
    pytest.param([2, 3, -5, 1], -5, id="negative-in-a-batch"),
    pytest.param([1, COUNT + 3, 2], COUNT + 3, id="too-large-in-a-batch"),
]


@pytest.mark.parametrize(("ids", "first_bad"), BAD_IDS)
@pytest.mark.parametrize("spec", CASES)
def test_ids_outside_the_store_raise_index_error_before_reading(spec, ids, first_bad, stores):
    method, path = stores[resolve(spec).name]
    got = np.full((len(ids), 32, 32, 3), 77, np.uint8)
    labels = np.full(len(ids), -1, np.int64)
    with (
        method.store(path).open() as reader,
        pytest.raises(IndexError, match=rf"image id {first_bad} is outside this store of {COUNT} images"),
    ):
        reader.read_into(np.array(ids), got, labels)
    assert (got == 77).all() and (labels == -1).all(), "nothing may be read before the ids are checked"


@pytest.mark.parametrize("ids", [[3.5], [0.0, 1.0], [True, False]], ids=["fractional", "float", "bool"])
@pytest.mark.parametrize("spec", CASES)
def test_non_integer_ids_raise_index_error(spec, ids, stores):
    method, path = stores[resolve(spec).name]
    with pytest.raises(IndexError, match=f"not an integer.*store of {COUNT} images"):
        read(method, path, ids)


@pytest.mark.parametrize(
    "ids",
    [[4, 4, 4], [5, 0, 3, 1], [2, 3, 2, 3, 0], [COUNT - 1], list(range(COUNT))[::-1]],
    ids=["repeated", "unsorted", "repeated-runs", "last", "reversed"],
)
@pytest.mark.parametrize("spec", CASES)
def test_repeated_and_unsorted_ids_read_in_the_order_asked(spec, ids, stores):
    method, path = stores[resolve(spec).name]
    got, got_labels = read(method, path, ids)
    assert_read(method, got, got_labels, ids)


@pytest.mark.parametrize("spec", CASES)
def test_no_ids_read_nothing(spec, stores):
    method, path = stores[resolve(spec).name]
    for empty in (np.array([], dtype=np.int64), np.array([]), []):
        got, got_labels = read(method, path, empty, count=2)
        assert (got == 0).all() and (got_labels == -1).all()


# Writes: what every method must take, and what it must refuse before writing anything.

ACCEPTED = {
    "uint8 RGB, one array": lambda: cifar_like(3),
    "uint8 RGB, a list": lambda: ([image for image in cifar_like(3)[0]], cifar_like(3)[1]),
    "uint8 labels": lambda: (cifar_like(3)[0], np.array([1, 2, 3], np.uint8)),
    "one image": lambda: cifar_like(1),
}
"""Every method takes these: the study's data, as an array or a list, with any integer labels."""

REFUSED = {
    "no images": (lambda: (np.zeros((0, 32, 32, 3), np.uint8), np.zeros(0, np.int64)), "no images"),
    "an empty list": (lambda: ([], np.zeros(0, np.int64)), "no images"),
    "4-D images": (lambda: (np.zeros((2, 4, 4, 3, 2), np.uint8), np.zeros(2, np.int64)), "shape"),
    "1-D images": (lambda: (np.zeros((2, 12), np.uint8), np.zeros(2, np.int64)), "shape"),
    "images without pixels": (lambda: (np.zeros((2, 0, 4, 3), np.uint8), np.zeros(2, np.int64)), "no pixels"),
    "images that are lists": (lambda: ([[[1, 2], [3, 4]]], np.zeros(1, np.int64)), "not a NumPy array"),
    "too few labels": (lambda: (cifar_like(3)[0], np.zeros(2, np.int64)), "one per image"),
    "too many labels": (lambda: (cifar_like(3)[0], np.zeros(4, np.int64)), "one per image"),
    "labels of two columns": (lambda: (cifar_like(3)[0], np.zeros((3, 2), np.int64)), "one per image"),
    "float labels": (lambda: (cifar_like(3)[0], np.array([0.5, 1.0, 2.0])), "integers"),
}
"""Every method refuses these with UnsupportedInput whose message says why (the pattern)."""


@pytest.mark.parametrize("case", sorted(ACCEPTED))
@pytest.mark.parametrize("spec", CASES)
def test_every_method_takes_the_studys_data(spec, case, tmp_path):
    method = resolve(spec)
    images, labels = ACCEPTED[case]()
    method.store(tmp_path / "s").write(images, labels)
    ids = np.arange(len(labels))[::-1]
    got, got_labels = read(method, tmp_path / "s", ids)
    np.testing.assert_array_equal(got_labels, np.asarray(labels)[ids])
    if not method.lossy:
        np.testing.assert_array_equal(got, np.asarray(images)[ids])


@pytest.mark.parametrize("case", sorted(REFUSED))
@pytest.mark.parametrize("spec", CASES)
def test_bad_input_is_refused_before_anything_is_written(spec, case, tmp_path):
    make, reason = REFUSED[case]
    images, labels = make()
    store = resolve(spec).store(tmp_path / "parent" / "s")
    with pytest.raises(UnsupportedInput, match=reason):
        store.write(images, labels)
    assert not (tmp_path / "parent").exists(), "a refused write must not create anything"


# Completeness.


IMAGE_FILE_ONLY = {
    "float images": (lambda: (cifar_like(2)[0].astype(np.float32), np.zeros(2, np.int64)), "float32"),
    "float images with NaN": (lambda: (np.full((2, 4, 4, 3), np.nan), np.zeros(2, np.int64)), "float64"),
    "int8 images": (lambda: (cifar_like(2)[0].astype(np.int8), np.zeros(2, np.int64)), "int8"),
    "bool images": (lambda: (np.ones((2, 4, 4, 3), bool), np.zeros(2, np.int64)), "bool"),
}
"""Images only stores of raw pixels hold: an encoding of image files (PNG, JPEG) refuses them, naming the
dtype; tests/test_stores.py round-trips every numeric dtype through the raw ones."""


@pytest.mark.parametrize("case", sorted(IMAGE_FILE_ONLY))
@pytest.mark.parametrize("spec", CASES)
def test_other_dtypes_round_trip_or_are_refused_by_an_image_file_encoding(spec, case, tmp_path):
    make, dtype = IMAGE_FILE_ONLY[case]
    images, labels = make()
    method = resolve(spec)
    store = method.store(tmp_path / "parent" / "s")
    if method.traits.encoding in ("", "raw"):
        store.write(images, labels)
        with store.open() as reader:
            got = np.zeros_like(images)
            reader.read_into(np.arange(len(images)), got, np.zeros(len(images), np.int64))
        np.testing.assert_array_equal(got, images)
        return
    with pytest.raises(UnsupportedInput, match=rf"image 0 has dtype {dtype};.*raw"):
        store.write(images, labels)
    assert not (tmp_path / "parent").exists(), "a refused write must not create anything"


@pytest.mark.parametrize("spec", CASES)
def test_a_store_without_its_completion_marker_is_refused(spec, tmp_path):
    method = resolve(spec)
    images, labels = cifar_like()
    method.store(tmp_path / "s").write(images, labels)
    assert not list(tmp_path.glob(".s*")), "the temporary name is gone once the store is complete"
    (tmp_path / "s" / MARKER).unlink()
    with pytest.raises(IncompleteStore, match=f"no completion marker {MARKER}.*write it again"):
        method.store(tmp_path / "s").open()


def test_a_missing_store_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"no store at {tmp_path / 'nothing'}"):
        get("npy").store(tmp_path / "nothing").open()


def test_a_failed_write_leaves_nothing_behind(tmp_path, monkeypatch):
    def fail(*_):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(get("npy").store_class(), "_write", fail)
    images, labels = cifar_like()
    with pytest.raises(RuntimeError, match="disk on fire"):
        get("npy").store(tmp_path / "s").write(images, labels)
    assert list(tmp_path.iterdir()) == []


def test_a_killed_writes_leftover_is_replaced(tmp_path):
    store = get("npy").store(tmp_path / "s")
    store.writing_path.mkdir()
    (store.writing_path / "images.npy").write_bytes(b"half")
    images, labels = cifar_like()
    store.write(images, labels)
    assert not store.writing_path.exists()
    got, got_labels = read(get("npy"), tmp_path / "s", np.arange(COUNT))
    assert_read(get("npy"), got, got_labels, list(range(COUNT)))


KILL_CHILD = """
import os, signal, sys
import numpy as np
from imagestores.stores import resolve

name, path, kill_at = sys.argv[1], sys.argv[2], sys.argv[3]
kill_at_call = int(kill_at) if kill_at.isdigit() else 0
rng = np.random.default_rng(13)
images = rng.integers(0, 256, (40, 32, 32, 3), dtype=np.uint8)
labels = rng.integers(0, 10, 40)
store = resolve(name).store(path)
calls = renamed_at = 0

def count(frame, event, arg):
    global calls, renamed_at
    calls += 1
    if arg is os.rename and event == "c_call" and not renamed_at:
        renamed_at = calls
        if kill_at == "before-rename":
            os.kill(os.getpid(), signal.SIGKILL)
    if arg is os.rename and event == "c_return" and kill_at == "after-rename":
        os.kill(os.getpid(), signal.SIGKILL)
    if calls == kill_at_call:
        os.kill(os.getpid(), signal.SIGKILL)

sys.setprofile(count)
store.write(images, labels)
sys.setprofile(None)
print(renamed_at)
"""
"""Writes 40 images with ``name`` to ``path`` and SIGKILLs itself at the ``kill_at``-th profiler event, or
just before or just after the finished store is renamed into place (``before-rename``, ``after-rename``:
found by the event itself, since writers with threads of their own, LitData's and MDS's, count other
events from run to run); prints the event of the rename."""


def write_in_child(name, path, kill_at="never"):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-c", KILL_CHILD, name, str(path), kill_at], capture_output=True, text=True
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(METHODS))
def test_a_write_killed_at_any_point_leaves_no_store_and_a_rerun_is_whole(name, tmp_path):
    """SIGKILL at the start, middle and end of a write (counted in profiler events, so each point is
    reproducible) and just before the finished store is renamed into place: the path never holds a store,
    and writing again gives the images an uninterrupted write gives. Killed just after the rename, the
    store at the path is whole."""
    import signal

    dry = write_in_child(name, tmp_path / "dry")
    assert dry.returncode == 0, dry.stderr
    renamed_at = int(dry.stdout.split()[-1])  # the event that renames the finished store into place
    assert renamed_at
    with resolve(name).store(tmp_path / "dry").open() as reader:
        expected = np.zeros((40, 32, 32, 3), np.uint8), np.zeros(40, np.int64)
        reader.read_into(np.arange(40), *expected)
    points = [str(max(1, int(renamed_at * fraction))) for fraction in (0.02, 0.5, 0.98)]
    for kill_at in [*points, "before-rename"]:
        path = tmp_path / f"at-{kill_at}"
        killed = write_in_child(name, path, kill_at)
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        assert not path.exists(), "a killed write must not leave a store at its final path"
        with pytest.raises(FileNotFoundError, match="no store at"):
            resolve(name).store(path).open()
        rerun = write_in_child(name, path)
        assert rerun.returncode == 0, rerun.stderr
        assert not resolve(name).store(path).writing_path.exists()
        assert_reads_back(name, path, expected)
    renamed = write_in_child(name, tmp_path / "renamed", "after-rename")
    assert renamed.returncode == -signal.SIGKILL, renamed.stderr
    assert_reads_back(name, tmp_path / "renamed", expected)


def assert_reads_back(name: str, path: Path, expected: tuple[np.ndarray, np.ndarray]) -> None:
    """The store of ``name`` at ``path`` holds exactly ``expected`` (images, labels)."""
    got = np.zeros((40, 32, 32, 3), np.uint8), np.zeros(40, np.int64)
    with resolve(name).store(path).open() as reader:
        reader.read_into(np.arange(40), *got)
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])
