"""Tests of imagestores.data on a small CIFAR-format archive served over local HTTP, and its generator."""

from __future__ import annotations

import builtins
import codecs
import collections
import functools
import hashlib
import io
import json
import logging
import os
import pickle
import socket
import subprocess
import tarfile
import threading
import warnings
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image

from imagestores.data import cifar10, prepare, synthetic

PER_BATCH = 4
BASE = 5 * PER_BATCH


def batch_rows(batch: int) -> np.ndarray:
    """Rows as CIFAR stores them: red plane constant per image, green a row-major ramp, blue a third value."""
    rows = np.empty((PER_BATCH, 3, 1024), dtype=np.uint8)
    for j in range(PER_BATCH):
        rows[j, 0] = 10 * batch + j
        rows[j, 1] = (np.arange(1024) + j) % 256
        rows[j, 2] = 200 + 10 * j + batch
    return rows.reshape(PER_BATCH, 3072)


def batch_labels(batch: int) -> list[int]:
    return [(batch + j) % 10 for j in range(PER_BATCH)]


def member(name: str, payload: bytes) -> tuple[tarfile.TarInfo, io.BytesIO]:
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    return info, io.BytesIO(payload)


def write_tar(path: Path, members: list[tuple[tarfile.TarInfo, io.BytesIO | None]]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, payload in members:
            tar.addfile(info, payload)
    return path


def cifar_members(batches: tuple[int, ...] = (5, 3, 1, 4, 2)) -> list[tuple[tarfile.TarInfo, io.BytesIO]]:
    """CIFAR's layout, pickled like the real files (dicts, bytes keys); batches out of order on purpose."""

    def pickled(content: dict) -> bytes:
        return pickle.dumps(content, protocol=2)

    members = []
    for batch in batches:
        content = {
            b"batch_label": f"training batch {batch} of 5".encode(),
            b"labels": batch_labels(batch),
            b"data": batch_rows(batch),
            b"filenames": [f"image_{batch}_{j}.png".encode() for j in range(PER_BATCH)],
        }
        members.append(member(f"cifar-10-batches-py/data_batch_{batch}", pickled(content)))
    test = {b"batch_label": b"testing batch 1 of 1", b"labels": [0], b"data": batch_rows(0)[:1]}
    members.append(member("cifar-10-batches-py/test_batch", pickled(test)))
    meta = {b"label_names": [b"airplane", b"automobile"], b"num_cases_per_batch": PER_BATCH}
    members.append(member("cifar-10-batches-py/batches.meta", pickled(meta)))
    return members


def md5_of(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tar(tmp_path_factory.mktemp("served") / "cifar-10-python.tar.gz", cifar_members())


@pytest.fixture(scope="module")
def server(archive: Path):
    """An HTTP server on 127.0.0.1 serving the archive and a corrupted copy, counting GETs per path."""
    corrupt = bytearray(archive.read_bytes())
    corrupt[len(corrupt) // 2] ^= 0xFF
    (archive.parent / "corrupt.tar.gz").write_bytes(bytes(corrupt))
    gets: collections.Counter[str] = collections.Counter()

    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            gets[self.path] += 1
            super().do_GET()

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(archive.parent)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield {"url": f"{base}/{archive.name}", "corrupt": f"{base}/corrupt.tar.gz", "base": base, "gets": gets}
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens, so connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/cifar-10-python.tar.gz"


def test_error_types_fit_callers_expectations():
    assert issubclass(cifar10.ChecksumError, ValueError)
    assert issubclass(cifar10.NetworkUnavailable, OSError)


def test_fetch_downloads_verifies_and_reuses(archive: Path, server: dict, tmp_path: Path):
    before = server["gets"][f"/{archive.name}"]
    path = cifar10.fetch_archive(server["url"], md5_of(archive), tmp_path / "resources")
    assert path == tmp_path / "resources" / "cifar-10-python.tar.gz"
    assert path.read_bytes() == archive.read_bytes()
    assert server["gets"][f"/{archive.name}"] == before + 1
    again = cifar10.fetch_archive(server["url"], md5_of(archive), tmp_path / "resources")
    assert again == path
    assert server["gets"][f"/{archive.name}"] == before + 1
    assert os.listdir(tmp_path / "resources") == ["cifar-10-python.tar.gz"]


def test_fetch_reuses_a_verified_file_without_network(archive: Path, closed_port_url: str, tmp_path: Path):
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(archive.read_bytes())
    assert cifar10.fetch_archive(closed_port_url, md5_of(archive), tmp_path) == tmp_path / archive.name


def test_fetch_checksum_mismatch_keeps_nothing(archive: Path, server: dict, tmp_path: Path):
    actual = md5_of(archive.parent / "corrupt.tar.gz")
    expected = md5_of(archive)
    with pytest.raises(cifar10.ChecksumError) as raised:
        cifar10.fetch_archive(server["corrupt"], expected, tmp_path)
    message = str(raised.value)
    assert server["corrupt"] in message and expected in message and actual in message
    assert "not kept" in message and "dataset.url" in message
    assert os.listdir(tmp_path) == []


def test_fetch_file_url(archive: Path, tmp_path: Path):
    path = cifar10.fetch_archive(archive.as_uri(), md5_of(archive), tmp_path)
    assert path == tmp_path / "cifar-10-python.tar.gz"
    assert path.read_bytes() == archive.read_bytes()


def test_fetch_file_url_is_verified_too(archive: Path, tmp_path: Path):
    corrupt = tmp_path / "truncated.tar.gz"
    corrupt.write_bytes(archive.read_bytes()[:-1])
    with pytest.raises(cifar10.ChecksumError, match=md5_of(corrupt)):
        cifar10.fetch_archive(corrupt.as_uri(), md5_of(archive), tmp_path / "res")
    assert os.listdir(tmp_path / "res") == []


def test_fetch_missing_local_file_names_it(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match=r"no-such\.tar\.gz"):
        cifar10.fetch_archive((tmp_path / "no-such.tar.gz").as_uri(), cifar10.CIFAR10_MD5, tmp_path / "res")


def test_fetch_unreachable_host_is_network_unavailable(closed_port_url: str, tmp_path: Path):
    with pytest.raises(cifar10.NetworkUnavailable) as raised:
        cifar10.fetch_archive(closed_port_url, cifar10.CIFAR10_MD5, tmp_path)
    message = str(raised.value)
    assert closed_port_url in message
    assert "dataset.url: file:///path/to/cifar-10-python.tar.gz" in message
    assert "dataset.source: synthetic" in message
    assert not (tmp_path / "cifar-10-python.tar.gz").exists()


def test_fetch_http_error_is_not_network_unavailable(server: dict, tmp_path: Path):
    with pytest.raises(requests.exceptions.HTTPError, match="404"):
        cifar10.fetch_archive(f"{server['base']}/missing.tar.gz", cifar10.CIFAR10_MD5, tmp_path)


def test_read_cifar10_order_and_rgb(archive: Path):
    images, labels = cifar10.read_cifar10(archive)
    assert images.shape == (BASE, 32, 32, 3) and images.dtype == np.uint8
    assert labels.dtype == np.uint8
    assert labels.tolist() == [label for batch in range(1, 6) for label in batch_labels(batch)]
    ramp = np.arange(1024).reshape(32, 32)
    for batch in range(1, 6):
        for j in range(PER_BATCH):
            image = images[(batch - 1) * PER_BATCH + j]
            assert (image[:, :, 0] == 10 * batch + j).all()
            assert (image[:, :, 1] == (ramp + j) % 256).all()
            assert (image[:, :, 2] == 200 + 10 * j + batch).all()
    assert not [name for name in os.listdir(archive.parent) if name.startswith(".extract-")]


def test_read_cifar10_missing_batches(tmp_path: Path):
    archive = write_tar(tmp_path / "partial.tar.gz", cifar_members(batches=(1, 2, 4, 5)))
    with pytest.raises(ValueError, match=r"partial\.tar\.gz lacks cifar-10-batches-py/data_batch_3"):
        cifar10.read_cifar10(archive)


@pytest.mark.parametrize("kind", ["parent", "absolute", "symlink"])
def test_read_cifar10_refuses_members_leading_outside(kind: str, tmp_path: Path):
    outside = tmp_path / "outside"
    home = tmp_path / "home"
    home.mkdir()
    if kind == "parent":
        name, bad = "../evil", member("../evil", b"owned")
    elif kind == "absolute":
        name = str(outside / "evil")
        bad = member(name, b"owned")
    else:
        name = "cifar-10-batches-py/link"
        info = tarfile.TarInfo(name)
        info.type, info.linkname = tarfile.SYMTYPE, "../../outside"
        bad = (info, None)
    archive = write_tar(home / "evil.tar.gz", [*cifar_members(), bad])
    with pytest.raises(ValueError, match="refusing to extract member") as raised:
        cifar10.read_cifar10(archive)
    assert str(archive) in str(raised.value) and repr(name) in str(raised.value)
    assert isinstance(raised.value.__cause__, tarfile.FilterError)
    assert sorted(os.listdir(tmp_path)) == ["home"]
    assert os.listdir(home) == ["evil.tar.gz"]


class Reduces:
    """Pickles as a call of ``function(*args)``, as a crafted batch file would."""

    def __init__(self, function: object, *args: object) -> None:
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


@pytest.mark.parametrize(
    ("make", "refused"),
    [
        (lambda marker: Reduces(os.system, f"touch {marker}"), "system"),
        (lambda marker: Reduces(subprocess.call, ["touch", str(marker)]), "call"),
        (lambda marker: Reduces(builtins.eval, f"open({str(marker)!r}, 'w')"), "eval"),
    ],
)
def test_safe_unpickle_refuses_code(make, refused: str, tmp_path: Path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps({b"data": make(marker)}, protocol=2)
    # Protocol 2 writes Python 2 module names (commands, __builtin__); the message names what is written.
    with pytest.raises(pickle.UnpicklingError, match=rf"refusing to load global \w+\.{refused}:"):
        cifar10.safe_unpickle(io.BytesIO(payload))
    assert not marker.exists()
    pickle.loads(payload)  # control: the payload is live, so only the restriction kept it from running
    assert marker.exists()


def test_safe_unpickle_refuses_other_codecs():
    payload = pickle.dumps(Reduces(codecs.encode, "text", "rot13"), protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="rot13"):
        cifar10.safe_unpickle(io.BytesIO(payload))


def test_safe_unpickle_loads_numpy_batches():
    data = np.arange(12, dtype=np.uint8).reshape(2, 6)
    payload = pickle.dumps({b"data": data, b"labels": [3, 4], b"batch_label": b"x"}, protocol=2)
    assert b"numpy._core.multiarray\n_reconstruct" in payload
    old_numpy = payload.replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")
    for raw in (payload, old_numpy):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            loaded = cifar10.safe_unpickle(io.BytesIO(raw))
        assert loaded[b"labels"] == [3, 4] and loaded[b"batch_label"] == b"x"
        np.testing.assert_array_equal(loaded[b"data"], data)
        assert loaded[b"data"].dtype == np.uint8


def read_prepared(out_dir: Path) -> tuple[np.ndarray, np.ndarray, dict]:
    meta = json.loads((out_dir / "dataset.json").read_text())
    return np.load(out_dir / "images.npy"), np.load(out_dir / "labels.npy"), meta


@pytest.mark.parametrize("size", [7, BASE, 3 * BASE + 5])
def test_prepare_cifar10_repeats_base_set(
    size: int, archive: Path, server: dict, tmp_path: Path, monkeypatch
):
    monkeypatch.setattr(prepare, "WRITE_BATCH", 6)
    base_images, base_labels = cifar10.read_cifar10(archive)
    meta = prepare.prepare(
        "cifar10", size, tmp_path / "data", tmp_path / "res", url=server["url"], md5=md5_of(archive)
    )
    images, labels, written = read_prepared(tmp_path / "data")
    assert meta == written
    assert images.shape == (size, 32, 32, 3) and images.dtype == np.uint8
    assert labels.shape == (size,) and labels.dtype == np.uint8
    index = np.arange(size) % BASE
    np.testing.assert_array_equal(images, base_images[index])
    np.testing.assert_array_equal(labels, base_labels[index])
    expected = {
        "source": "cifar10",
        "requested_source": "cifar10",
        "size": size,
        "base_size": BASE,
        "url": server["url"],
        "md5": md5_of(archive),
        "seed": 0,
        "fallback_reason": None,
        "files": ["images.npy", "labels.npy", "dataset.json"],
        "dtypes": {"uint8": BASE},
    }
    assert {key: written[key] for key in expected} == expected
    assert written["pixel_bytes"]["total"] == BASE * 3072
    assert sorted(os.listdir(tmp_path / "data")) == ["dataset.json", "images.npy", "labels.npy"]


def test_prepare_auto_falls_back_to_synthetic_without_network(closed_port_url: str, tmp_path: Path, caplog):
    with caplog.at_level(logging.WARNING, logger="imagestores.data.prepare"):
        meta = prepare.prepare("auto", 10, tmp_path / "data", tmp_path / "res", url=closed_port_url, seed=3)
    images, labels, written = read_prepared(tmp_path / "data")
    assert written == meta
    assert written["source"] == "synthetic" and written["requested_source"] == "auto"
    assert written["base_size"] == 10 and written["seed"] == 3
    assert closed_port_url in written["fallback_reason"]
    expected_images, expected_labels = synthetic.synthetic_images(0, 10, seed=3)
    np.testing.assert_array_equal(images, expected_images)
    np.testing.assert_array_equal(labels, expected_labels)
    warning = "\n".join(record.getMessage() for record in caplog.records if record.levelno == logging.WARNING)
    assert "SYNTHETIC" in warning and "labelled 'synthetic'" in warning
    assert "dataset.url: file:///path/to/cifar-10-python.tar.gz" in warning
    assert warning.count("\n") >= 4


def test_prepare_auto_never_falls_back_on_checksum_mismatch(archive: Path, server: dict, tmp_path: Path):
    with pytest.raises(cifar10.ChecksumError):
        prepare.prepare(
            "auto", 10, tmp_path / "data", tmp_path / "res", url=server["corrupt"], md5=md5_of(archive)
        )
    assert not (tmp_path / "data" / "images.npy").exists()
    assert not (tmp_path / "res" / "cifar-10-python.tar.gz").exists()


def test_prepare_cifar10_never_falls_back(closed_port_url: str, tmp_path: Path):
    with pytest.raises(cifar10.NetworkUnavailable):
        prepare.prepare("cifar10", 10, tmp_path / "data", tmp_path / "res", url=closed_port_url)
    assert not (tmp_path / "data" / "images.npy").exists()


def test_prepare_synthetic_repeats_its_base_set(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(prepare, "CIFAR10_TRAIN_SIZE", 30)
    monkeypatch.setattr(prepare, "WRITE_BATCH", 16)
    meta = prepare.prepare("synthetic", 70, tmp_path / "data", tmp_path / "res", seed=5)
    images, labels, _ = read_prepared(tmp_path / "data")
    assert meta["source"] == "synthetic" and meta["base_size"] == 30 and meta["fallback_reason"] is None
    base_images, base_labels = synthetic.synthetic_images(0, 30, seed=5)
    np.testing.assert_array_equal(images, base_images[np.arange(70) % 30])
    np.testing.assert_array_equal(labels, base_labels[np.arange(70) % 30])
    assert not (tmp_path / "res").exists()


def test_prepare_interrupted_leaves_no_partial_output(tmp_path: Path, monkeypatch):
    prepare.prepare("synthetic", 4, tmp_path / "data", tmp_path / "res")
    old = read_prepared(tmp_path / "data")
    real = prepare._write_repeated

    def dies_on_labels(path: Path, base: np.ndarray, size: int) -> None:
        if path.name == "labels.npy":
            raise KeyboardInterrupt
        real(path, base, size)

    monkeypatch.setattr(prepare, "_write_repeated", dies_on_labels)
    with pytest.raises(KeyboardInterrupt):
        prepare.prepare("synthetic", 9, tmp_path / "data", tmp_path / "res")
    assert sorted(os.listdir(tmp_path / "data")) == ["dataset.json", "images.npy", "labels.npy"]
    images, labels, meta = read_prepared(tmp_path / "data")
    np.testing.assert_array_equal(images, old[0])
    np.testing.assert_array_equal(labels, old[1])
    assert meta == old[2]


@pytest.mark.parametrize(
    ("source", "size", "match"),
    [("imagenet", 10, "dataset.source must be one of"), ("synthetic", 0, "dataset.size must be a positive")],
)
def test_prepare_validates_arguments(source: str, size: int, match: str, tmp_path: Path):
    with pytest.raises(ValueError, match=match):
        prepare.prepare(source, size, tmp_path / "data", tmp_path / "res")
    assert not (tmp_path / "data").exists()


def test_synthetic_shape_and_labels():
    images, labels = synthetic.synthetic_images(0, 300, seed=0)
    assert images.shape == (300, 32, 32, 3) and images.dtype == np.uint8
    assert labels.shape == (300,) and labels.dtype == np.uint8
    assert labels.min() >= 0 and labels.max() <= 9 and len(set(labels.tolist())) == 10
    empty, no_labels = synthetic.synthetic_images(5, 5, seed=0)
    assert empty.shape == (0, 32, 32, 3) and no_labels.shape == (0,)


def test_synthetic_is_deterministic_whatever_the_batching():
    images, labels = synthetic.synthetic_images(0, 600, seed=7)
    again, again_labels = synthetic.synthetic_images(0, 600, seed=7)
    np.testing.assert_array_equal(images, again)
    np.testing.assert_array_equal(labels, again_labels)
    parts = [
        synthetic.synthetic_images(start, stop, seed=7) for start, stop in [(0, 100), (100, 257), (257, 600)]
    ]
    np.testing.assert_array_equal(np.concatenate([part[0] for part in parts]), images)
    np.testing.assert_array_equal(np.concatenate([part[1] for part in parts]), labels)
    middle, middle_labels = synthetic.synthetic_images(250, 520, seed=7)
    np.testing.assert_array_equal(middle, images[250:520])
    np.testing.assert_array_equal(middle_labels, labels[250:520])


def test_synthetic_seeds_differ():
    first = synthetic.synthetic_images(0, 20, seed=0)[0]
    second = synthetic.synthetic_images(0, 20, seed=1)[0]
    assert (first != second).mean() > 0.9
    assert len({image.tobytes() for image in first}) == 20


def test_synthetic_images_compress_like_natural_images():
    images, _ = synthetic.synthetic_images(0, 500, seed=0)
    sizes = []
    for image in images:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, "PNG")
        sizes.append(buffer.tell())
    assert 2000 < np.mean(sizes) < 3500
    noise = np.random.default_rng(0).integers(0, 256, size=(50, 32, 32, 3), dtype=np.uint8)
    noise_sizes = []
    for image in noise:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, "PNG")
        noise_sizes.append(buffer.tell())
    assert np.mean(sizes) < 0.95 * np.mean(noise_sizes)


def test_synthetic_rejects_bad_ranges():
    with pytest.raises(ValueError, match="0 <= start <= stop"):
        synthetic.synthetic_images(10, 5, seed=0)
    with pytest.raises(ValueError, match="0 <= start <= stop"):
        synthetic.synthetic_images(-1, 5, seed=0)
