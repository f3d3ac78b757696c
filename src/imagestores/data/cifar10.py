"""CIFAR-10's training images: fetched with pooch and checked by md5, extracted and unpickled safely.

A crafted archive can neither write outside its extraction directory (tarfile's ``data`` filter, absolute
names refused) nor run code (an unpickler that builds numpy arrays and nothing else).
"""

from __future__ import annotations

import codecs
import os
import pickle
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlparse
from urllib.request import url2pathname

import numpy as np
from numpy._core.multiarray import _reconstruct

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_TRAIN_SIZE = 50_000

ARCHIVE_NAME = "cifar-10-python.tar.gz"
"""Fixed file name, so a mirror or ``file://`` copy is cached and reused under the same name."""

TRAIN_BATCHES = tuple(f"data_batch_{number}" for number in range(1, 6))
"""The training batches in the archive's ``cifar-10-batches-py/``, in sorted (and so the official) order."""


class ChecksumError(ValueError):
    """The fetched archive is not the one expected: a wrong URL, a bad mirror or a corrupt transfer."""


class NetworkUnavailable(OSError):
    """The archive's host could not be reached; the only failure ``source: auto`` falls back on."""


def _copy_local(url: str, output_file: str, _pooch: object) -> None:
    """Downloader for ``file://`` URLs, which pooch lacks; copying lets pooch verify the hash as usual."""
    source = Path(url2pathname(urlparse(url).path))
    try:
        shutil.copyfile(source, output_file)
    except FileNotFoundError as err:
        raise FileNotFoundError(f"dataset.url {url}: there is no file {source}") from err


Downloader = Callable[[str, str, object], None]


def _checked(downloader: Downloader, url: str, md5: str) -> Downloader:
    """Wrap ``downloader`` to raise ChecksumError with the actual md5, which pooch's own error lacks.

    Raising inside the download keeps pooch's guarantee: the file is still a temporary one, and pooch
    deletes it, so a corrupt archive never appears under the final name.
    """

    def download(url_: str, output_file: str, pooch_: object) -> None:
        downloader(url_, output_file, pooch_)
        import pooch  # the download's libraries: imported when a download is checked or made

        actual = pooch.file_hash(output_file, alg="md5")
        if actual != md5.lower():
            raise ChecksumError(
                f"{url} gave a file with md5 {actual}, expected {md5}; the corrupt download was not kept. "
                "Check dataset.url (a mirror may serve another file or an error page) and dataset.md5."
            )

    return download


def fetch_archive(url: str, md5: str, directory: Path) -> Path:
    """The md5-verified archive at ``directory``/cifar-10-python.tar.gz, downloaded only when not there yet.

    Raises ChecksumError when the download has another md5, and NetworkUnavailable when the host cannot
    be reached; other failures (an HTTP 404, an unknown scheme) raise as they are.
    """
    import pooch  # the download's libraries (with requests): imported only when an archive is fetched
    import requests

    downloader = _copy_local if urlparse(url).scheme == "file" else pooch.downloaders.choose_downloader(url)
    try:
        path = pooch.retrieve(
            url,
            known_hash=f"md5:{md5}",
            fname=ARCHIVE_NAME,
            path=directory,
            downloader=_checked(downloader, url, md5),
        )
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as err:
        raise NetworkUnavailable(
            f"cannot reach {url} ({type(err).__name__}: {err}). Without network, download "
            f"{ARCHIVE_NAME} elsewhere and set 'dataset.url: file:///path/to/{ARCHIVE_NAME}', "
            "or set 'dataset.source: synthetic'."
        ) from err
    return Path(path)


def _latin1_encode(text: str, encoding: str) -> bytes:
    """``_codecs.encode`` as Python 3 pickles use it for bytes; other codecs are refused before any lookup."""
    if encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"refusing _codecs.encode with codec {encoding!r}; pickles use latin-1")
    return codecs.encode(text, "latin-1")


_ALLOWED_GLOBALS = {
    # Python 2's numpy and numpy < 2 wrote numpy.core; numpy 2 writes numpy._core, and importing
    # numpy.core warns, so both names resolve to numpy._core's function.
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _latin1_encode,
}


class _CifarUnpickler(pickle.Unpickler):
    """Unpickler that can build numpy arrays and nothing else, so a crafted archive cannot run code."""

    def find_class(self, module: str, name: str) -> object:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load global {module}.{name}: a CIFAR-10 batch holds only numpy arrays, "
                "lists and strings, so this file is not a genuine batch"
            ) from None


def safe_unpickle(file: BinaryIO) -> object:
    """Load a CIFAR-10 batch file without letting it call anything but numpy's array reconstruction.

    The batches were pickled by Python 2, so strings load as bytes (keys b"data", b"labels", ...).
    """
    return _CifarUnpickler(file, encoding="bytes").load()


def _refuse_absolute(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo | None:
    """The "data" filter, except that absolute names are refused instead of silently made relative."""
    if member.name.startswith(("/", os.sep)):
        raise tarfile.AbsolutePathError(member)
    return tarfile.data_filter(member, dest)


def _read_batch(path: Path, archive: Path) -> tuple[np.ndarray, np.ndarray]:
    """One batch's images as (n, 32, 32, 3) RGB: each row holds the red, green, then blue 32x32 plane."""
    with open(path, "rb") as file:
        batch = safe_unpickle(file)
    where = f"{archive}: cifar-10-batches-py/{path.name}"
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise ValueError(f"{where} is not a CIFAR-10 batch (no b'data' and b'labels')")
    data, labels = batch[b"data"], np.asarray(batch[b"labels"])
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise ValueError(f"{where}: b'data' is not a uint8 array of 3072-byte rows")
    if labels.shape != (len(data),) or (labels.size and not 0 <= labels.min() <= labels.max() <= 9):
        raise ValueError(f"{where}: b'labels' must hold one label in 0..9 per image")
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return images, labels.astype(np.uint8)


def read_cifar10(archive: Path) -> tuple[np.ndarray, np.ndarray]:
    """The archive's training images as (N, 32, 32, 3) uint8 RGB and their uint8 labels, in official order.

    Extraction goes through tarfile's "data" filter into a temporary directory beside the archive, so a
    crafted member (``../``, an absolute path, a link leading out) is refused rather than written outside.
    """
    archive = Path(archive)
    with tempfile.TemporaryDirectory(prefix=".extract-", dir=archive.parent) as tmp:
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(tmp, filter=_refuse_absolute)
        except tarfile.FilterError as err:
            raise ValueError(
                f"{archive}: refusing to extract member {err.tarinfo.name!r} ({err}); "
                "a genuine CIFAR-10 archive has no such member"
            ) from err
        batches = Path(tmp) / "cifar-10-batches-py"
        missing = [name for name in TRAIN_BATCHES if not (batches / name).is_file()]
        if missing:
            raise ValueError(
                f"{archive} lacks cifar-10-batches-py/{', '.join(missing)}; "
                "is it CIFAR-10's python version (cifar-10-python.tar.gz)?"
            )
        parts = [_read_batch(batches / name, archive) for name in TRAIN_BATCHES]
    images = np.concatenate([images for images, _ in parts])
    if not len(images):
        raise ValueError(f"{archive}: the training batches hold no images")
    return images, np.concatenate([labels for _, labels in parts])
