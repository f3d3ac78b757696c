"""What this package keeps in every store beside the format's own files: the completion marker (the
manifest: image count, store class and options, shape), the shapes of images of differing shapes, and the
label index of filtered reads. Disk usage and damage tests leave these files out (``PACKAGE_FILES``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from imagestores.stores.errors import DamagedStore, IncompleteStore
from imagestores.stores.images import Images

METADATA = "metadata.parquet"
"""Where a store that has no columns of its own keeps the images' metadata table, beside its data."""

MARKER = "imagestores-complete.json"
"""Written last into every store: the image count, as JSON. A directory without it is an unfinished write.
Not part of the format: disk usage leaves it out (``measure.disk.disk_usage``)."""

MARKER_BYTES = 4096
"""The completion marker is read with one ``os.read`` of this many bytes; it must fit."""

SHAPES = "imagestores-shapes.npy"
"""Beside the marker of a store of images of differing shapes: each image's shape and dtype (``SHAPE_DTYPE``),
so a reader of the store can allocate its output without the source. Not part of the format either."""

LABEL_INDEX = "imagestores-labels.npy"
"""Beside the data of a store that cannot filter by itself (``Store.filters``): every image's label, the
index a filtered read looks ids up in (``Reader.read_where``). Not part of the format either."""

PACKAGE_FILES = (MARKER, SHAPES, LABEL_INDEX)
"""This package's own files in a store, which disk usage and damage tests leave out."""

SHAPE_DTYPE = np.dtype([("ndim", "u1"), ("shape", "<u4", (3,)), ("dtype", "S3")])
"""One image's layout: its shape is ``shape[:ndim]``, its NumPy dtype string ``dtype``."""

WRITING_SUFFIX = ".writing"
"""A store is written at ``.{name}.writing`` beside its final path and renamed when complete."""


def written_count(path: Path) -> int:
    """The image count in the completion marker of the store at ``path``, or the error saying why not.

    Read with one ``os.read``: a few microseconds, as every open (and every timed ``read_one``) pays it.
    """
    try:
        return int(read_manifest(path)["count"])
    except (ValueError, KeyError, TypeError) as error:
        raise DamagedStore(f"{path / MARKER}: the completion marker is unreadable ({error})") from error


def read_manifest(path: Path) -> dict[str, Any]:
    """The completion marker of the store at ``path`` (see ``Store.write_manifest``), or why there is none."""
    try:
        fd = os.open(path / MARKER, os.O_RDONLY)
    except FileNotFoundError:
        if not path.is_dir():
            raise FileNotFoundError(f"there is no store at {path}") from None
        raise IncompleteStore(
            f"{path} has no completion marker {MARKER}: its write did not finish (killed, or out of space) "
            "or it was not written by imagestores; delete it and write it again"
        ) from None
    try:
        data = os.read(fd, MARKER_BYTES)
    finally:
        os.close(fd)
    try:
        manifest = json.loads(data)
    except ValueError as error:
        raise DamagedStore(f"{path / MARKER}: the completion marker is unreadable ({error})") from error
    if not isinstance(manifest, dict):
        raise DamagedStore(f"{path / MARKER}: the completion marker is not a JSON object")
    return manifest


def shapes_of(images: Images) -> np.ndarray:
    """Every image's layout (``SHAPE_DTYPE``); one row for all of an (N, H, W, C) array, which share it."""
    if isinstance(images, np.ndarray):
        return _layout([images[0]])
    return _layout(images)


def _layout(images: Iterable[np.ndarray]) -> np.ndarray:
    rows = [(image.ndim, (*image.shape, 0, 0)[:3], image.dtype.str) for image in images]
    return np.array(rows, dtype=SHAPE_DTYPE)


def layout_of(row: np.void) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype one ``SHAPE_DTYPE`` row describes."""
    return tuple(int(length) for length in row["shape"][: row["ndim"]]), np.dtype(row["dtype"].decode())
