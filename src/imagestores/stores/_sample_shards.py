"""What the training loaders' own formats share: one sample per image, written and read by the library.

LitData (``litdata_chunks``) and MosaicML Streaming (``mds_shards``) each write samples, dicts of named
fields, into binary chunk or shard files with an ``index.json`` beside them, with their own writer, and read
them back with their own ``StreamingDataset`` by global sample index (``dataset[i]``), which is how these
stores read single images, random batches and whole stores alike. A sample here is one image:

- ``image``: its bytes, by the store's codec: raw pixel bytes by default, ``png``, ``jpeg``, or a folder's
  own file (``original``);
- ``label``: its label, an int;
- ``shape`` (``"32,32,3"``) and ``dtype`` (NumPy's ``"|u1"``): its layout, so a sample decodes alone, with
  nothing but the library and NumPy (a string each, as both formats keep strings of any length).

A read checks each sample's layout against the caller's buffer before decoding into it, so a sample that is
not what the store's manifest says is an error, never a misshapen image. Opening checks each data file's
size against the library's index (``check_sizes``): both libraries read a file's offsets from its header,
and LitData waits for a short chunk file as for a download in progress instead of failing.

The libraries are optional (the ``loaders`` extra, ``requirements/mds.txt``): a store module imports them
only to write or read, and ``unavailable`` says why one cannot be imported here (``import_problem``).
"""

from __future__ import annotations

import importlib
import json
import os
import struct
from abc import abstractmethod
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from imagestores.stores.base import Images, Reader, byte_batches
from imagestores.stores.encoded import ShardedStore
from imagestores.stores.errors import DamagedStore

INDEX = "index.json"
"""The index both libraries write beside their data files."""

SHARD_BYTES = 64 * 2**20
"""Most bytes of a chunk or shard: 64 MiB, both libraries' own default."""

Sample = dict[str, Any]


@cache
def import_problem(module: str, package: str, install: str) -> str:
    """Why ``module`` (of pip package ``package``) cannot be imported here, with ``install`` as the fix;
    empty when it imports. Imported once per process."""
    try:
        importlib.import_module(module)
    except ImportError as error:
        if error.name is not None and (module + ".").startswith(error.name + "."):  # it or its package
            return f"{package} is not installed; {install}"
        return f"{package} is installed but cannot be imported ({error}); {install}"
    except Exception as error:  # a library whose own import fails (a dependency built for another torch)
        return f"{package} is installed but cannot be imported ({type(error).__name__}: {error}); {install}"
    return ""


def layout(image: np.ndarray) -> tuple[str, str]:
    """An image's shape and dtype as a sample keeps them: ``("32,32,3", "|u1")``."""
    return ",".join(map(str, image.shape)), image.dtype.str


class SampleShardStore(ShardedStore):
    """A store of one sample per image in a training loader's format, written and read by its library.

    Subclasses name the library (``module``, ``package``, ``install``) and implement ``_write_samples``
    and ``_open`` with its writer and its ``StreamingDataset``.
    """

    module: ClassVar[str]
    """The library's import name."""
    package: ClassVar[str]
    """Its name and version on PyPI, for messages."""
    install: ClassVar[str]
    """How to install it, as the README says."""
    reads_batches: ClassVar[bool] = False
    """True when the library's dataset reads many samples in one call (``__getitems__``), faster than a
    ``dataset[i]`` each (ArrayRecord's data source reads a file's records in one call, files in threads)."""

    default_shard_bytes: ClassVar[int] = SHARD_BYTES

    @classmethod
    def unavailable(cls) -> str:
        return import_problem(cls.module, cls.package, cls.install)

    def samples(self, images: Images, labels: np.ndarray) -> Iterator[Sample]:
        """Every image's sample, in order, encoded in batches bounded in bytes."""
        for part in byte_batches(images):
            block = images[part]
            records = self.encoded(images, part)
            for image, record, label in zip(block, records, labels[part].tolist(), strict=True):
                shape, dtype = layout(image)
                yield {"image": bytes(record), "label": int(label), "shape": shape, "dtype": dtype}

    def _write(self, images: Images, labels: np.ndarray) -> None:
        self._write_samples(self.samples(images, labels))

    @abstractmethod
    def _write_samples(self, samples: Iterator[Sample]) -> None:
        """Write ``samples`` into ``self.path`` with the library's own writer."""


def check_sizes(path: Path, files: list[tuple[str, int]]) -> None:
    """Raise DamagedStore naming the first of ``files`` (name, size in bytes) missing or of another size."""
    for name, size in files:
        try:
            actual = os.stat(path / name).st_size
        except FileNotFoundError:
            raise DamagedStore(
                f"{path / name}: missing, but {INDEX} lists it; write the store again"
            ) from None
        if actual != size:
            raise DamagedStore(
                f"{path / name}: {actual} bytes, but {INDEX} says {size} (truncated or replaced); write the "
                "store again"
            )


def write_index(path: Path, files: list[tuple[str, int]]) -> None:
    """Write ``index.json`` beside data files the library keeps no sizes of: each file (name, records) and
    its size in bytes, for ``check_sizes`` at open (a format whose reader aborts on a short file)."""
    listed = [
        {"filename": name, "records": records, "bytes": (path / name).stat().st_size}
        for name, records in files
    ]
    (path / INDEX).write_text(json.dumps({"files": listed}))


def read_index(path: Path) -> dict[str, Any]:
    """The library's ``index.json`` of the store at ``path``."""
    return json.loads((path / INDEX).read_text())


RECORD_HEADER = struct.Struct("<qH")
"""A packed sample's header: its label (int64), then the length of its layout (``"32,32,3 |u1"``)."""


def pack_sample(sample: Sample) -> bytes:
    """A sample as one record of a format that stores bytes alone (ArrayRecord): header, layout, image.

    Decodable with ``struct`` and NumPy alone: ``unpack_sample``.
    """
    layout_text = f"{sample['shape']} {sample['dtype']}".encode()
    return RECORD_HEADER.pack(sample["label"], len(layout_text)) + layout_text + sample["image"]


def unpack_sample(record: bytes) -> Sample:
    """The sample ``pack_sample`` made; DamagedStore for a record too short to be one."""
    if len(record) < RECORD_HEADER.size:
        raise DamagedStore(f"a record of {len(record)} bytes is too short to hold a sample")
    label, length = RECORD_HEADER.unpack_from(record)
    start = RECORD_HEADER.size + length
    shape, _, dtype = bytes(record[RECORD_HEADER.size : start]).decode("ascii", "replace").partition(" ")
    return {"image": memoryview(record)[start:], "label": label, "shape": shape, "dtype": dtype}


class SampleReader(Reader):
    """Reads images by global sample index from a library's ``StreamingDataset`` (``dataset[i]``)."""

    def __init__(
        self, store: SampleShardStore, dataset: Any, release: Callable[[], None] | None = None
    ) -> None:
        self.store = store
        self.dataset = dataset
        self.release = release
        """What closes the dataset's files, for a dataset that holds them open (TFRecord's descriptors)."""

    def __len__(self) -> int:
        return len(self.dataset)

    def fetch(self, indices: list[int]) -> list[Sample]:
        """The samples of ``indices``: in one call where the library reads batches, else one by one."""
        if self.store.reads_batches:
            return list(self.dataset.__getitems__(indices))
        return [self.dataset[index] for index in indices]

    def _read_into(self, indices: np.ndarray, images_out: Images, labels_out: np.ndarray) -> None:
        ids = indices.tolist()
        for position, (index, sample) in enumerate(zip(ids, self.fetch(ids), strict=True)):
            out = images_out[position]
            if (sample["shape"], sample["dtype"]) != layout(out):
                raise DamagedStore(
                    f"{self.store.path}: sample {index} holds an image of shape ({sample['shape']}) and "
                    f"dtype {sample['dtype']}, not the {out.shape} {out.dtype} the store was written with"
                )
            labels_out[position] = sample["label"]
            self.store.codec.decode_into(memoryview(sample["image"]), out)

    def close(self) -> None:
        if self.release is not None:
            self.release()
        self.dataset = None
