"""The study's ``disk`` method: one PNG file per image and one CSV of labels."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from imagestores.stores.base import Images, Reader, Store, batches
from imagestores.stores.codecs import check_png, decode_into, save_png

LABELS = "labels.csv"


class PngFiles(Store):
    """Images as ``{id}.png`` (Pillow, default compression) beside ``labels.csv`` with one label per row."""

    def check_image(self, index: int, image: np.ndarray) -> None:
        check_png(index, image)

    def _write(self, images: Images, labels: np.ndarray) -> None:
        for index in range(len(images)):
            save_png(images[index], str(self.path / f"{index}.png"))
        with open(self.path / LABELS, "w", newline="") as file:
            writer = csv.writer(file)
            for part in batches(len(labels)):
                writer.writerows([label] for label in labels[part].tolist())

    def _open(self) -> Reader:
        return _PngReader(self.path)


class _PngReader(Reader):
    def __init__(self, path: Path) -> None:
        self.path = path
        with open(path / LABELS, newline="") as file:
            self.labels = np.fromiter((int(row[0]) for row in csv.reader(file)), dtype=np.int64)

    def __len__(self) -> int:
        return len(self.labels)

    def _read_into(self, indices: np.ndarray, images_out: Images, labels_out: np.ndarray) -> None:
        for position, index in enumerate(indices.tolist()):
            decode_into(str(self.path / f"{index}.png"), images_out[position])
        labels_out[: len(indices)] = self.labels[indices]
