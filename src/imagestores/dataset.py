"""The pipeline's data: CIFAR-10's training images, or seeded synthetic look-alikes, repeated to any size.

The 2019 Real Python study stored CIFAR-10's 50,000 training images doubled to 100,000; ``prepare``
repeats a base set the same way to whatever size is configured, and records in ``dataset.json`` what the
images really are, so no result made from synthetic data can pass for CIFAR-10.
"""

from __future__ import annotations

import codecs
import json
import logging
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
import pooch
import requests
from numpy._core.multiarray import _reconstruct

log = logging.getLogger(__name__)

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_TRAIN_SIZE = 50_000

ARCHIVE_NAME = "cifar-10-python.tar.gz"
"""Fixed file name, so a mirror or ``file://`` copy is cached and reused under the same name."""

TRAIN_BATCHES = tuple(f"data_batch_{number}" for number in range(1, 6))
"""The training batches in the archive's ``cifar-10-batches-py/``, in sorted (and so the official) order."""

SHAPE = (32, 32, 3)
SOURCES = ("cifar10", "synthetic", "auto")

SYNTHETIC_BLOCK = 256
"""Synthetic images are drawn in blocks of this many ids, one random stream per block: fast, and image i
is the same whichever range it is asked for in. Changing it changes every synthetic image."""

WRITE_BATCH = 8192
"""Images mapped at once while writing ``images.npy`` (24 MiB), so memory does not grow with the size."""


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


_FREQUENCY = np.hypot(np.fft.fftfreq(32)[:, None], np.fft.rfftfreq(32)[None, :])
_LOG_FREQUENCY = np.log(np.where(_FREQUENCY > 0, _FREQUENCY, 1.0)).astype(np.float32)


def _synthetic_block(seed: int, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Images ``block * SYNTHETIC_BLOCK`` onwards, drawn from one random stream keyed by seed and block.

    Natural images have amplitude spectra falling roughly as 1/f^alpha and strongly correlated colour
    channels; both set how well they compress, which is what the stores' sizes and speeds depend on.
    Each image gets its own alpha, a luminance field shared by all channels plus weaker per-channel
    fields, and its own brightness, colour cast and contrast. The constants put the mean PNG size near
    CIFAR-10's (about 2.7 KB; white noise of this shape takes about 3.2 KB).
    """
    rng = np.random.default_rng([seed, block])
    n = SYNTHETIC_BLOCK
    alpha = rng.uniform(1.0, 1.8, size=(n, 1, 1, 1)).astype(np.float32)
    amplitude = np.exp(-alpha * _LOG_FREQUENCY)
    amplitude[..., 0, 0] = 0  # no mean: brightness is set below
    # Complex Gaussian coefficients: random phases, Rayleigh-distributed amplitudes around the 1/f^alpha law.
    spectrum = rng.standard_normal((n, 4, 32, 17, 2), dtype=np.float32).view(np.complex64)[..., 0]
    spectrum *= amplitude
    fields = np.fft.irfft2(spectrum, s=(32, 32))
    fields /= fields.std(axis=(-2, -1), keepdims=True)
    channels = fields[:, :1] + 0.35 * fields[:, 1:]
    channels *= rng.uniform(35, 70, size=(n, 1, 1, 1)).astype(np.float32)
    channels += rng.uniform(70, 180, size=(n, 1, 1, 1)).astype(np.float32)
    channels += rng.normal(0, 15, size=(n, 3, 1, 1)).astype(np.float32)
    images = np.clip(np.rint(channels), 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    return images, labels


def synthetic_images(start: int, stop: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic images ``start``..``stop - 1`` as (n, 32, 32, 3) uint8 RGB, with uint8 labels in 0..9.

    Image i depends only on ``seed`` and i, so any batching of the ids gives the same images.
    """
    if not 0 <= start <= stop:
        raise ValueError(
            f"synthetic image ids must satisfy 0 <= start <= stop, got start={start}, stop={stop}"
        )
    images = np.empty((stop - start, *SHAPE), dtype=np.uint8)
    labels = np.empty(stop - start, dtype=np.uint8)
    for block in range(start // SYNTHETIC_BLOCK, -(-stop // SYNTHETIC_BLOCK)):
        block_images, block_labels = _synthetic_block(seed, block)
        first = block * SYNTHETIC_BLOCK
        low, high = max(start, first), min(stop, first + SYNTHETIC_BLOCK)
        images[low - start : high - start] = block_images[low - first : high - first]
        labels[low - start : high - start] = block_labels[low - first : high - first]
    return images, labels


def _write_repeated(path: Path, base: np.ndarray, size: int) -> None:
    """Write ``base`` repeated cyclically to ``size`` rows as a .npy file (row i = base[i % len(base)]).

    The file is created by ``open_memmap`` and then filled through one short-lived map per batch, so the
    memory used stays one batch whatever the size.
    """
    row_shape = base.shape[1:]
    created = np.lib.format.open_memmap(path, mode="w+", dtype=base.dtype, shape=(size, *row_shape))
    header = created.offset
    del created
    row_bytes = base[0].nbytes
    for start in range(0, size, WRITE_BATCH):
        stop = min(start + WRITE_BATCH, size)
        offset = header + start * row_bytes
        window = np.memmap(path, dtype=base.dtype, mode="r+", offset=offset, shape=(stop - start, *row_shape))
        np.take(base, np.arange(start, stop) % len(base), axis=0, out=window)
        window.flush()
        del window


def _fallback_warning(reason: NetworkUnavailable) -> str:
    """A banner that cannot be missed in the log: synthetic results must never be mistaken for CIFAR-10."""
    rule = "=" * 78
    return (
        f"\n{rule}\nCIFAR-10 COULD NOT BE FETCHED: THIS RUN USES SYNTHETIC IMAGES.\n{reason}\n"
        "Every table and figure will be labelled 'synthetic'; they are not CIFAR-10 results.\n"
        f"For the real data, rerun with network access, or download {ARCHIVE_NAME} elsewhere and set\n"
        f"  dataset.url: file:///path/to/{ARCHIVE_NAME}\n"
        "Set 'dataset.source: cifar10' to fail instead of falling back.\n"
        f"{rule}"
    )


def prepare(
    source: str,
    size: int,
    out_dir: Path,
    resources: Path,
    url: str = CIFAR10_URL,
    md5: str = CIFAR10_MD5,
    seed: int = 0,
) -> dict:
    """Write ``images.npy``, ``labels.npy`` and ``dataset.json`` to ``out_dir``; return the latter's content.

    ``source`` is "cifar10", "synthetic", or "auto": CIFAR-10, falling back to synthetic (loudly) only
    when the network is unavailable; a checksum mismatch always fails. The base set (the archive's
    training images, or min(size, 50,000) synthetic ones) is repeated to ``size`` images. Files are
    written in a temporary directory and moved into place; dataset.json is removed first and moved last,
    so when it exists the arrays beside it are complete and belong to it.
    """
    if source not in SOURCES:
        raise ValueError(f"dataset.source must be one of {', '.join(SOURCES)}, not {source!r}")
    if size <= 0:
        raise ValueError(f"dataset.size must be a positive number of images, not {size}")
    fallback_reason = None
    actual = "synthetic" if source == "synthetic" else "cifar10"
    if actual == "cifar10":
        try:
            base_images, base_labels = read_cifar10(fetch_archive(url, md5, Path(resources)))
        except NetworkUnavailable as reason:
            if source != "auto":
                raise
            log.warning(_fallback_warning(reason))
            actual, fallback_reason = "synthetic", str(reason)
    if actual == "synthetic":
        base_images, base_labels = synthetic_images(0, min(size, CIFAR10_TRAIN_SIZE), seed)
    meta = {
        "source": actual,
        "requested_source": source,
        "size": size,
        "base_size": len(base_images),
        "url": url,
        "md5": md5,
        "seed": seed,
        "fallback_reason": fallback_reason,
    }
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".partial-", dir=out_dir) as tmp:
        _write_repeated(Path(tmp, "images.npy"), base_images, size)
        _write_repeated(Path(tmp, "labels.npy"), base_labels, size)
        Path(tmp, "dataset.json").write_text(json.dumps(meta, indent=2) + "\n")
        (out_dir / "dataset.json").unlink(missing_ok=True)
        for name in ("images.npy", "labels.npy", "dataset.json"):
            os.replace(Path(tmp, name), out_dir / name)
    log.info("prepared %d %s images (base set of %d) in %s", size, actual, len(base_images), out_dir)
    return meta
