"""The ``webdataset`` method: tar shards of ``{key}.cls`` + ``{key}.png`` samples, as training loaders read.

Shards are written by webdataset's own ``ShardWriter``. After each shard is closed, ``tarfile`` lists its
members and their data offsets go into ``index.npy`` beside the shards, so a reader seeks straight to a
sample's bytes instead of walking tar headers (``tarfile`` took 15-50 us per member here); reading all
shards in order through the index was also faster than streaming them with ``tarfile``.

With ``checksums``, the index also holds a CRC-32 of each sample's label and image member data
(``CHECKSUM_FIELDS``), checked before a sample is decoded.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import webdataset

from imagestores.stores import _checksums
from imagestores.stores.base import EncodedStore, Images, Reader, batches, runs
from imagestores.stores.codecs import suffix_of

SHARD = "shard-%06d.tar"
"""Shard file names, in the %-pattern that ``ShardWriter`` takes."""
INDEX = "index.npy"
EXTENSIONS = {"png": "png", "jpeg": "jpg"}
"""Member extension of the encodings this store encodes itself."""

INDEX_DTYPE = np.dtype(
    [
        ("shard", "<u4"),
        ("label_offset", "<u8"),
        ("label_size", "<u8"),
        ("image_offset", "<u8"),
        ("image_size", "<u8"),
    ]
)
"""One row per sample: its shard number and the data offset and size of its two members in that tar."""

CHECKSUM_FIELDS = [("label_crc32", "<u4"), ("image_crc32", "<u4")]
CHECKSUMMED_DTYPE = np.dtype(INDEX_DTYPE.descr + CHECKSUM_FIELDS)
"""The index row with the ``checksums`` option: CRC-32 of the label's and the image's member data."""

MTIME = 0
"""A fixed integer member time: webdataset stamps the float ``time.time()`` by default, which makes
``tarfile`` add a 1 KiB PAX header to every member (the shards grow by about half); a fixed time also
makes the shards reproducible."""

READ_SPAN = 16 * 2**20
"""Most bytes one read of consecutive samples covers, so a run's buffer stays bounded for large images."""


def key(index: int) -> str:
    """Sample key: zero-padded so members sort in image order; webdataset keys must not contain dots."""
    return f"{index:09d}"


SHARD_BYTES = 256 * 2**20
"""Most bytes of a shard: 10,000 CIFAR samples take about 35 MB, so only large images reach it."""


class WebDatasetShards(EncodedStore):
    """Tar shards of at most ``shard_samples`` samples and ``shard_bytes`` bytes (webdataset's own limits)."""

    def __init__(
        self,
        path: Path | str | None = None,
        encoding: str = "png",
        shard_samples: int = 10_000,
        shard_bytes: int = SHARD_BYTES,
        checksums: bool = False,
        **options: Any,
    ) -> None:
        super().__init__(path, encoding=encoding, **options)
        if shard_samples < 1 or shard_bytes < 1:
            raise ValueError(
                f"shard_samples and shard_bytes must be positive, not {shard_samples}, {shard_bytes}"
            )
        self.shard_samples = shard_samples
        self.shard_bytes = shard_bytes
        self.checksums = checksums

    def _write(self, images: Images, labels: np.ndarray) -> None:
        # Mapped from its file, so the index is written back as it fills and memory does not grow with N.
        index = np.lib.format.open_memmap(
            self.path / INDEX,
            mode="w+",
            dtype=CHECKSUMMED_DTYPE if self.checksums else INDEX_DTYPE,
            shape=(len(images),),
        )
        with webdataset.ShardWriter(
            str(self.path).replace("%", "%%") + "/" + SHARD,
            maxcount=self.shard_samples,
            maxsize=self.shard_bytes,
            verbose=0,
            post=lambda name: index_shard(Path(name), index),
            mtime=MTIME,
        ) as writer:
            for part in batches(len(labels)):
                for number, label in enumerate(labels[part].tolist(), part.start):
                    extension, payload = self.member(images, number)
                    writer.write({"__key__": key(number), extension: payload, "cls": label})
        index.flush()

    def member(self, images: Images, number: int) -> tuple[str, bytes | np.ndarray]:
        """The image member's extension and content: encoded bytes (an original file under its own format's
        extension), or the array for webdataset's own .npy encoder. webdataset's decoders go by extension."""
        if self.codec.name == "raw":
            return "npy", np.asarray(images[number])
        if self.codec.needs_originals:
            data = bytes(images.originals[number])
            return suffix_of(data).lstrip("."), data
        return EXTENSIONS[self.codec.name], self.codec.encode(images[number])

    def decode_into(self, data: memoryview, out: np.ndarray) -> None:
        if self.codec.name != "raw":
            self.codec.decode_into(data, out)
            return
        image = np.load(io.BytesIO(data))
        if image.shape != out.shape or image.dtype != out.dtype:
            raise ValueError(
                f".npy member holds {image.shape} {image.dtype}, expected {out.shape} {out.dtype}"
            )
        out[...] = image

    def _open(self) -> Reader:
        return _ShardReader(self)


def index_shard(path: Path, index: np.ndarray) -> None:
    """Record the data offset and size of every member of the closed shard ``path`` in ``index``."""
    number = int(path.stem.removeprefix("shard-"))
    checksums = "image_crc32" in index.dtype.names
    with tarfile.open(path) as tar:
        for member in tar:
            stem, _, extension = member.name.partition(".")
            row = index[int(stem)]
            row["shard"] = number
            field = "label" if extension == "cls" else "image"
            row[f"{field}_offset"] = member.offset_data
            row[f"{field}_size"] = member.size
            if checksums:
                row[f"{field}_crc32"] = _checksums.crc32(tar.extractfile(member).read())


def member_starts(rows: np.ndarray) -> np.ndarray:
    """Where each sample's first member's data begins in its shard."""
    return np.minimum(rows["label_offset"], rows["image_offset"])


def member_ends(rows: np.ndarray) -> np.ndarray:
    """Where each sample's last member's data ends in its shard."""
    return np.maximum(rows["label_offset"] + rows["label_size"], rows["image_offset"] + rows["image_size"])


def pieces(rows: np.ndarray) -> list[tuple[int, int]]:
    """Split consecutive samples ``rows`` into (start, stop) pieces, each in one shard and one read.

    Samples are in key order within a shard, so their bytes ascend until the shard number changes; a piece
    covers at most READ_SPAN bytes unless a single sample is larger.
    """
    starts, ends, shards = member_starts(rows), member_ends(rows), rows["shard"]
    result = []
    start = 0
    while start < len(rows):
        shard_stop = start + int(np.searchsorted(shards[start:], shards[start], "right"))
        span_stop = start + int(np.searchsorted(ends[start:shard_stop], starts[start] + READ_SPAN, "right"))
        stop = max(start + 1, min(shard_stop, span_stop))
        result.append((start, stop))
        start = stop
    return result


class _ShardReader(Reader):
    """Reads each run of consecutive samples within a shard with one seek and one read, via the index.

    Labels come from the ``.cls`` members read alongside the images, so the shards stay the only copy of
    the data; the index is memory-mapped, so opening the store reads none of it.
    """

    def __init__(self, store: WebDatasetShards) -> None:
        self.store = store
        self.index = np.load(store.path / INDEX, mmap_mode="r")
        self.files: dict[int, io.RawIOBase] = {}

    def __len__(self) -> int:
        return len(self.index)

    def shard(self, number: int) -> io.RawIOBase:
        if number not in self.files:
            self.files[number] = open(self.store.path / (SHARD % number), "rb", buffering=0)  # noqa: SIM115
        return self.files[number]

    def _read_into(self, indices: np.ndarray, images_out: Images, labels_out: np.ndarray) -> None:
        for position, first, length in runs(indices):
            rows = np.asarray(self.index[first : first + length])
            for start, stop in pieces(rows):
                self.read_piece(rows[start:stop], position + start, images_out, labels_out)

    def read_piece(self, rows: np.ndarray, position: int, images_out: Images, labels_out: np.ndarray) -> None:
        """Read consecutive samples ``rows`` of one shard with one read; decode them from ``position`` on."""
        start, end = int(member_starts(rows)[0]), int(member_ends(rows)[-1])
        file = self.shard(int(rows["shard"][0]))
        file.seek(start)
        data = memoryview(file.read(end - start))
        if len(data) != end - start:
            raise OSError(f"{file.name}: expected {end - start} bytes at {start}, the shard is truncated")
        columns = zip(
            (rows["label_offset"] - start).tolist(),
            rows["label_size"].tolist(),
            (rows["image_offset"] - start).tolist(),
            rows["image_size"].tolist(),
            strict=True,
        )
        checksums = "image_crc32" in rows.dtype.names
        for offset, (label_at, label_size, image_at, image_size) in enumerate(columns):
            if checksums:
                where = f"{file.name}, the sample at {start + image_at}"
                _checksums.check(data[label_at : label_at + label_size], rows["label_crc32"][offset], where)
                _checksums.check(data[image_at : image_at + image_size], rows["image_crc32"][offset], where)
            labels_out[position + offset] = int(bytes(data[label_at : label_at + label_size]))
            self.store.decode_into(data[image_at : image_at + image_size], images_out[position + offset])

    def close(self) -> None:
        for file in self.files.values():
            file.close()
        self.files.clear()
