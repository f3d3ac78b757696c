"""The pipeline's data: CIFAR-10, seeded synthetic look-alikes, or a folder of your own images, any size.

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
from imagestores.data.folder import FolderOptions, distribution, prepare_folder
from imagestores.data.prepared import DATASET, IMAGES, LABELS, prepared_files
from imagestores.data.synthetic import synthetic_images

log = logging.getLogger(__name__)

SOURCES = ("cifar10", "synthetic", "auto", "folder")

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
    size: int | str,
    out_dir: Path,
    resources: Path,
    url: str = CIFAR10_URL,
    md5: str = CIFAR10_MD5,
    seed: int = 0,
    folder: FolderOptions | None = None,
    threads: int = 1,
    largest_cutoff: int = 0,
) -> dict:
    """Write the prepared files (``prepared.prepared_files``) to ``out_dir``; return dataset.json's content.

    ``source`` is "cifar10", "synthetic", "auto" (CIFAR-10, falling back to synthetic, loudly, only when
    the network is unavailable; a checksum mismatch always fails) or "folder" (the images under
    ``folder.path``, decoded on ``threads`` threads). The base set (the archive's training images, 50,000
    synthetic ones, or every image of the folder) is repeated or truncated to ``size`` images, or taken
    once with ``size="all"``; a ``largest_cutoff`` beyond it is refused. Files are written in a temporary
    directory and moved into place; dataset.json is removed first and moved last, so when it exists the
    files beside it are complete and belong to it.
    """
    if source not in SOURCES:
        raise ValueError(f"dataset.source must be one of {', '.join(SOURCES)}, not {source!r}")
    if size != "all" and (not isinstance(size, int) or size <= 0):
        raise ValueError(f"dataset.size must be a positive number of images or 'all', not {size!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".partial-", dir=out_dir) as tmp:
        if source == "folder":
            if folder is None:
                raise ValueError("dataset.source folder needs dataset.path")
            meta = {"source": "folder", "requested_source": source} | prepare_folder(
                folder, size, Path(tmp), threads
            )
        else:
            meta = _prepare_base_set(source, size, Path(tmp), resources, url, md5, seed)
        if largest_cutoff > meta["size"]:
            raise ValueError(
                f"the cutoffs go up to {largest_cutoff:,} images but the prepared set holds {meta['size']:,} "
                f"(dataset.size: {size}); lower the cutoffs, or set dataset.size to at least "
                f"{largest_cutoff} to repeat the images"
            )
        files = prepared_files(meta["source"])
        meta["files"] = files
        Path(tmp, DATASET).write_text(json.dumps(meta, indent=2) + "\n")
        (out_dir / DATASET).unlink(missing_ok=True)
        for name in files:
            os.replace(Path(tmp, name), out_dir / name)
    log.info(
        "prepared %d %s images (base set of %d) in %s",
        meta["size"],
        meta["source"],
        meta["base_size"],
        out_dir,
    )
    return meta


def _prepare_base_set(
    source: str, size: int | str, directory: Path, resources: Path, url: str, md5: str, seed: int
) -> dict:
    """CIFAR-10 or the synthetic set, repeated to ``size``, into ``directory``; return its record."""
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
        count = CIFAR10_TRAIN_SIZE if size == "all" else min(size, CIFAR10_TRAIN_SIZE)
        base_images, base_labels = synthetic_images(0, count, seed)
    total = len(base_images) if size == "all" else size
    _write_repeated(directory / IMAGES, base_images, total)
    _write_repeated(directory / LABELS, base_labels, total)
    return {
        "source": actual,
        "requested_source": source,
        "size": total,
        "base_size": len(base_images),
        "dtypes": {base_images.dtype.name: len(base_images)},
        "shapes": {"x".join(map(str, base_images.shape[1:])): len(base_images)},
        "pixel_bytes": distribution(np.full(len(base_images), base_images[0].nbytes)),
        "url": url,
        "md5": md5,
        "seed": seed,
        "fallback_reason": fallback_reason,
    }
