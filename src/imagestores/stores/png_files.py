"""The study's ``disk`` method: one PNG file per image and one CSV of labels.

With ``encoding: original`` the files are the source's own files, copied unchanged under their format's
suffix (``{id}.jpg``, ``{id}.tif``): the status quo of a user with a folder of images, measured like every
other method. ``labels.csv`` then names each image's file beside its label.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from imagestores.stores.base import EncodedStore, Images, Reader, batches
from imagestores.stores.codecs import decode_into, save_png, suffix_of

LABELS = "labels.csv"
ENCODINGS = ("png", "jpeg", "original")


class PngFiles(EncodedStore):
    """Images as ``{id}.png`` (Pillow, default compression) beside ``labels.csv`` with one label per row.

    Option ``encoding``: ``png`` (the study's), ``jpeg`` (with ``quality``) or ``original``.
    """

    def __init__(self, path: Path | str | None = None, encoding: str = "png", **options: Any) -> None:
        if encoding not in ENCODINGS:
            raise ValueError(f"disk keeps image files: encoding must be one of {', '.join(ENCODINGS)}")
        super().__init__(path, encoding=encoding, **options)

    def _write(self, images: Images, labels: np.ndarray) -> None:
        names = []
        for part in batches(len(images)):
            for index, record in zip(range(part.start, part.stop), self._records(images, part), strict=True):
                name = f"{index}{suffix_of(record) if self.codec.name != 'png' else '.png'}"
                if isinstance(record, np.ndarray):
                    save_png(record, str(self.path / name))
                else:
                    (self.path / name).write_bytes(record)
                names.append(name)
        with open(self.path / LABELS, "w", newline="") as file:
            writer = csv.writer(file)
            for part in batches(len(labels)):
                rows = labels[part].tolist()
                if self.codec.name == "png":
                    writer.writerows([label] for label in rows)
                else:
                    writer.writerows(zip(rows, names[part], strict=True))

    def _records(self, images: Images, part: slice) -> Images | list[bytes | memoryview]:
        """PNG images are written by Pillow straight from the pixels; other encodings are bytes."""
        return images[part] if self.codec.name == "png" else self.encoded(images, part)

    def _open(self) -> Reader:
        return _FilesReader(self.path)


class _FilesReader(Reader):
    def __init__(self, path: Path) -> None:
        self.path = path
        with open(path / LABELS, newline="") as file:
            rows = list(csv.reader(file))
        self.labels = np.fromiter((int(row[0]) for row in rows), dtype=np.int64, count=len(rows))
        self.names = [row[1] for row in rows] if rows and len(rows[0]) > 1 else None

    def __len__(self) -> int:
        return len(self.labels)

    def _read_into(self, indices: np.ndarray, images_out: Images, labels_out: np.ndarray) -> None:
        for position, index in enumerate(indices.tolist()):
            name = self.names[index] if self.names else f"{index}.png"
            decode_into(str(self.path / name), images_out[position])
        labels_out[: len(indices)] = self.labels[indices]
