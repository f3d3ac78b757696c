"""The prepared data every later job memory-maps: what the files are, and how to open them.

CIFAR-10 and the synthetic set are equally shaped, so they are one ``images.npy`` (N, 32, 32, 3). A folder
of images has any shapes and dtypes, so it is prepared as

- ``pixels.bin``: every image's decoded pixels, back to back, in C order;
- ``index.bin``: one ``INDEX_DTYPE`` row per image: where its pixels and its original file lie, its
  shape and dtype (rows of a repeated set point at the same bytes, so repeating costs no space);
- ``originals.bin``: every source file's own bytes, back to back, for the ``original`` encoding;
- ``images.csv``: one row per distinct file (relative path, format, mode, frames, shape, dtype, sizes);
- ``metadata.parquet``: the user's metadata table, one row per distinct file in the same order (written
  whether or not a table was given, with at least the path, so every prepared set has one).

Beside both: ``labels.npy`` (N,) and ``dataset.json``, written last, so that when it exists the files
beside it are complete and belong to it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import overload

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

IMAGES = "images.npy"
LABELS = "labels.npy"
DATASET = "dataset.json"
PIXELS = "pixels.bin"
INDEX = "index.bin"
ORIGINALS = "originals.bin"
FILES = "images.csv"
METADATA = "metadata.parquet"

INDEX_DTYPE = np.dtype(
    [
        ("offset", "<u8"),
        ("nbytes", "<u8"),
        ("file_offset", "<u8"),
        ("file_nbytes", "<u8"),
        ("ndim", "u1"),
        ("shape", "<u4", (3,)),
        ("dtype", "S3"),
    ]
)
"""Row i of ``index.bin``: image i's pixels are ``nbytes`` at ``offset`` of ``pixels.bin``, of shape
``shape[:ndim]`` and NumPy dtype string ``dtype``; its file is ``file_nbytes`` at ``file_offset`` of
``originals.bin``."""


def prepared_files(source: str) -> list[str]:
    """The files the data stage writes for ``source``, ``dataset.json`` last."""
    if source == "folder":
        return [PIXELS, INDEX, ORIGINALS, LABELS, FILES, METADATA, DATASET]
    return [IMAGES, LABELS, DATASET]


def _map(path: Path) -> np.ndarray:
    """The bytes of ``path`` mapped read-only (an empty array for an empty file, which mmap refuses)."""
    if path.stat().st_size == 0:
        return np.zeros(0, dtype=np.uint8)
    return np.memmap(path, dtype=np.uint8, mode="r")


class FolderImages(Sequence[np.ndarray]):
    """The images of a prepared folder, each a read-only view of ``pixels.bin``: nothing is decoded again.

    They carry what stores may keep beside the pixels: ``originals``, each file's own bytes (views of
    ``originals.bin``), and ``metadata``, the metadata table with one row per image. Slicing gives another
    FolderImages with all three sliced alike, so a store that walks them in batches never copies the set.
    """

    def __init__(self, pixels: np.ndarray, files: np.ndarray, rows: np.ndarray, metadata: pa.Table) -> None:
        self.pixels = pixels
        self.files = files
        self.rows = rows
        self.metadata = metadata

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, item: int) -> np.ndarray: ...

    @overload
    def __getitem__(self, item: slice) -> FolderImages: ...

    def __getitem__(self, item: int | slice) -> np.ndarray | FolderImages:
        if isinstance(item, slice):
            start, stop, step = item.indices(len(self))
            if step != 1:
                raise ValueError("folder images are sliced in runs, without a step")
            metadata = self.metadata.slice(start, max(0, stop - start))
            return FolderImages(self.pixels, self.files, self.rows[start:stop], metadata)
        row = self.rows[item]
        start, size = int(row["offset"]), int(row["nbytes"])
        shape = tuple(int(length) for length in row["shape"][: row["ndim"]])
        return np.asarray(self.pixels[start : start + size]).view(row["dtype"].decode()).reshape(shape)

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self[index] for index in range(len(self)))

    @property
    def sizes(self) -> np.ndarray:
        """Pixel bytes of every image (what ``stores.base.image_sizes`` asks for)."""
        return self.rows["nbytes"].astype(np.int64)

    @property
    def originals(self) -> list[memoryview]:
        """Each image's source file, as it was on disk."""
        starts, sizes = self.rows["file_offset"].tolist(), self.rows["file_nbytes"].tolist()
        return [
            memoryview(self.files[start : start + size]) for start, size in zip(starts, sizes, strict=True)
        ]


@dataclass(frozen=True)
class Prepared:
    """The first images of the prepared set, their labels and the data's source."""

    images: Sequence[np.ndarray]
    labels: np.ndarray
    source: str


def load_prepared(data_dir: Path, cutoff: int) -> Prepared:
    """The first ``cutoff`` prepared images, memory-mapped, with their labels and the data's source."""
    data_dir = Path(data_dir)
    record = json.loads((data_dir / DATASET).read_text())
    labels = np.load(data_dir / LABELS, mmap_mode="r")
    if cutoff > len(labels):
        raise ValueError(
            f"cutoff {cutoff} is larger than the prepared dataset ({len(labels)} images); "
            "lower the cutoffs or raise dataset.size"
        )
    labels = np.asarray(labels[:cutoff])
    if record["source"] != "folder":
        images = np.load(data_dir / IMAGES, mmap_mode="r")[:cutoff]
        return Prepared(images, labels, record["source"])
    rows = np.fromfile(data_dir / INDEX, dtype=INDEX_DTYPE, count=cutoff)
    table = pq.read_table(data_dir / METADATA)
    metadata = table.take(np.arange(cutoff) % record["base_size"])  # the set may repeat its images
    folder = FolderImages(_map(data_dir / PIXELS), _map(data_dir / ORIGINALS), rows, metadata)
    return Prepared(folder, labels, record["source"])
