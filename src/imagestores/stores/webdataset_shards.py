"""The ``webdataset`` method: tar shards of ``{key}.cls`` + ``{key}.png`` samples, as training loaders read.

Shards are written by webdataset's own ``ShardWriter``. After each shard is closed, ``tarfile`` lists its
members and their data offsets go into ``index.npy`` beside the shards, so a reader copies a sample's bytes
straight out of a memory map of its shard instead of walking tar headers (``tarfile`` took 15-50 us per
member here); reading all shards in order through the index was also faster than streaming them with
``tarfile``.

With ``checksums``, the index also holds a CRC-32 of each sample's label and image member data
(``CHECKSUM_FIELDS``), checked before a sample is decoded.
"""

from __future__ import annotations

import functools
import io
import mmap
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import webdataset

from imagestores.stores import _checksums
from imagestores.stores._files import map_file
from imagestores.stores.base import EncodedStore, Images, Reader, batches, raw_target
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
        header = npy_header(out.shape, out.dtype)
        if len(data) == len(header) + out.nbytes and data[: len(header)] == header:
            # The header np.save writes for exactly this shape and dtype: the rest is the pixels, in order.
            # np.load parses a header with ast.literal_eval, most of the time of reading a small image.
            out[...] = np.frombuffer(data, out.dtype, offset=len(header)).reshape(out.shape)
            return
        image = np.load(io.BytesIO(data))
        if image.shape != out.shape or image.dtype != out.dtype:
            raise ValueError(
                f".npy member holds {image.shape} {image.dtype}, expected {out.shape} {out.dtype}"
            )
        out[...] = image

    def _open(self) -> Reader:
        return _ShardReader(self)


@functools.cache
def npy_header(shape: tuple[int, ...], dtype: np.dtype) -> bytes:
    """The bytes ``np.save`` writes before the data of a C-ordered array of ``shape`` and ``dtype``."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape}
    )
    return buffer.getvalue()


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


class _ShardReader(Reader):
    """Copies each sample's members out of a memory map of its shard, located by the index.

    Measured at 100,000 CIFAR samples, copying out of maps read everything about as fast as a careful
    loop over ``mmap`` slices, and 1,000 random samples without a read call or array temporaries per
    sample (see ``benchmarks/careful.py``). Labels come from the ``.cls`` members, so the shards stay the
    only copy of the data; the index is memory-mapped, so opening the store reads none of it.
    """

    def __init__(self, store: WebDatasetShards) -> None:
        self.store = store
        self.index = np.load(store.path / INDEX, mmap_mode="r")
        self.maps: dict[int, tuple[mmap.mmap, memoryview]] = {}

    def __len__(self) -> int:
        return len(self.index)

    def shard(self, number: int) -> memoryview:
        """A view of the whole shard ``number``, mapped on first use."""
        if number not in self.maps:
            mapped = map_file(self.store.path / (SHARD % number))
            self.maps[number] = (mapped, memoryview(mapped))
        return self.maps[number][1]

    def _read_into(self, indices: np.ndarray, images_out: Images, labels_out: np.ndarray) -> None:
        rows = self.index[indices]
        checksums = "image_crc32" in rows.dtype.names
        columns = zip(
            rows["shard"].tolist(),
            rows["label_offset"].tolist(),
            (rows["label_offset"] + rows["label_size"]).tolist(),
            rows["image_offset"].tolist(),
            (rows["image_offset"] + rows["image_size"]).tolist(),
            strict=True,
        )
        decode = self.store.decode_into
        # Raw pixels bound for one contiguous array are copied straight into a byte view of it when the
        # member's header is the one np.save writes for the output: a call and two array views per sample
        # cost a third of reading everything (benchmarks/careful.py).
        flat = raw_target(self.store.codec, images_out)
        header = npy_header(images_out.shape[1:], images_out.dtype) if flat is not None else b""
        size = images_out[0].nbytes if flat is not None and len(images_out) else 0
        for position, (shard, label_at, label_end, image_at, image_end) in enumerate(columns):
            data = self.shard(shard)
            if max(label_end, image_end) > len(data):
                raise OSError(
                    f"{self.store.path / (SHARD % shard)}: {len(data)} bytes, but the index puts a sample "
                    f"up to byte {max(label_end, image_end)}: the shard is truncated"
                )
            if checksums:
                where = f"{self.store.path / (SHARD % shard)}, the sample at {image_at}"
                _checksums.check(data[label_at:label_end], rows["label_crc32"][position], where)
                _checksums.check(data[image_at:image_end], rows["image_crc32"][position], where)
            labels_out[position] = int(data[label_at:label_end])
            pixels_at = image_at + len(header)
            if flat is not None and image_end - pixels_at == size and data[image_at:pixels_at] == header:
                flat[position * size : (position + 1) * size] = data[pixels_at:image_end]
            else:
                decode(data[image_at:image_end], images_out[position])

    def close(self) -> None:
        for mapped, view in self.maps.values():
            try:
                view.release()
                mapped.close()
            except BufferError:  # slices still held by an exception's traceback: unmapped when collected
                pass
        self.maps.clear()
