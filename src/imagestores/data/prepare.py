"""The pipeline's data: CIFAR-10's training images, or seeded synthetic look-alikes, repeated to any size.

The 2019 Real Python study stored CIFAR-10's 50,000 training images doubled to 100,000; ``prepare``
repeats a base set the same way to whatever size is configured, and records in ``dataset.json`` what the
images really are, so no result made from synthetic data can pass for CIFAR-10.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from imagestores.data.cifar10 import (
    ARCHIVE_NAME,
    CIFAR10_MD5,
    CIFAR10_TRAIN_SIZE,
    CIFAR10_URL,
    NetworkUnavailable,
    fetch_archive,
    read_cifar10,
)
from imagestores.data.synthetic import synthetic_images

log = logging.getLogger(__name__)

SOURCES = ("cifar10", "synthetic", "auto")

WRITE_BATCH = 8192
"""Images mapped at once while writing ``images.npy`` (24 MiB), so memory does not grow with the size."""


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
