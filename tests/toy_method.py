"""A toy storage method, raw image bytes in a ``dbm`` file: adding a method is this one module plus one
registry line (here ``register``, which ``IMAGESTORES_METHODS=toy_method:register`` calls in every process
of a pipeline run; a method of the package is a line in ``registry._ENTRIES`` instead). README, Development.
"""

from __future__ import annotations

import dbm
import json
from pathlib import Path

import numpy as np

from imagestores.stores import Method, Reader, Store, registry
from imagestores.stores.base import Images


class DbmBytes(Store):
    """Each image's raw bytes under its id in a ``dbm`` file, with its shape, dtype and label beside them."""

    def _write(self, images: Images, labels: np.ndarray) -> None:
        with dbm.open(str(self.path / "images"), "n") as db:
            for index, image in enumerate(images):
                db[f"{index}"] = np.ascontiguousarray(image).tobytes()
                db[f"{index}.meta"] = json.dumps([image.shape, image.dtype.str, int(labels[index])])
            db["count"] = str(len(images))

    def _open(self) -> Reader:
        return DbmReader(self.path)


class DbmReader(Reader):
    def __init__(self, path: Path) -> None:
        self.db = dbm.open(str(path / "images"), "r")  # noqa: SIM115 - closed by close()

    def _read_into(self, indices: np.ndarray, images_out: Images, labels_out: np.ndarray) -> None:
        for position, index in enumerate(indices.tolist()):
            shape, dtype, label = json.loads(self.db[f"{index}.meta"])
            images_out[position][...] = np.frombuffer(self.db[f"{index}"], dtype).reshape(shape)
            labels_out[position] = label

    def __len__(self) -> int:
        return int(self.db["count"])

    def close(self) -> None:
        self.db.close()


TOY = Method(
    "dbm_toy", f"{__name__}:DbmBytes", "key-value", "Raw image bytes under their ids in a dbm file: a toy."
)


def register() -> None:
    """The toy's registry line, for ``IMAGESTORES_METHODS`` (``registry.EXTRA_METHODS``)."""
    registry.register(TOY)
