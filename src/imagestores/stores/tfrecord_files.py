"""The ``tfrecord`` method: TFRecord files of ``tf.train.Example`` protos, written by the ``tfrecord``
package's ``TFRecordWriter``, each with the offset index its ``create_index`` writes.

A TFRecord file is a sequence of length-prefixed records with no random access of its own: readers stream
it from the start. The ``tfrecord`` package's index (``{file}.tfindex``: each record's byte offset and
length) is what its PyTorch datasets use to split files among workers; here it is also what random reads
seek through: a read is one positioned read per run of consecutive ids, from the offset the index gives.
Each record is checked as TensorFlow's reader checks it (its length and the masked CRC-32C of length and
data, the format's own framing), which the package's streaming reader skips, then parsed with the
package's ``example_pb2``. An Example holds one sample (``_sample_shards``): ``image`` (bytes), ``label``
(int64), ``shape`` (int64 list) and ``dtype`` (NumPy's string), as TensorFlow code would parse it.

Files hold at most ``shard_bytes`` of samples; ``index.json`` keeps each one's size and record count,
checked at open.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from imagestores.stores._sample_shards import (
    Sample,
    SampleReader,
    SampleShardStore,
    check_sizes,
    read_index,
    write_index,
)
from imagestores.stores.base import DamagedStore, Reader

FILE = "data-{:05d}.tfrecord"
INDEX_SUFFIX = ".tfindex"
"""The suffix ``tfrecord.tools.tfrecord2idx.create_indices`` gives each file's index."""
INSTALL = 'install the formats extra: .venv/bin/pip install --editable ".[formats]"'
FRAME = struct.Struct("<Q4s")
"""A record's header: the data's length and the masked CRC-32C of those 8 bytes; the data's follows it."""


class TFRecordFiles(SampleShardStore):
    """One Example per image in TFRecord files of at most ``shard_bytes``, each with its ``.tfindex``."""

    module = "tfrecord"
    package = "tfrecord"
    install = INSTALL
    reads_batches = True

    def _write_samples(self, samples: Iterator[Sample]) -> None:
        from tfrecord import TFRecordWriter
        from tfrecord.tools.tfrecord2idx import create_index

        files: list[tuple[str, int]] = []
        writer, size, count = None, 0, 0

        def close() -> None:
            writer.close()
            name = FILE.format(len(files))
            create_index(str(self.path / name), str(self.path / (name + INDEX_SUFFIX)))
            files.append((name, count))

        for sample in samples:
            if writer is not None and size + len(sample["image"]) > self.shard_bytes:
                close()
                writer = None
            if writer is None:
                writer = TFRecordWriter(str(self.path / FILE.format(len(files))))
                size, count = 0, 0
            shape = [int(length) for length in sample["shape"].split(",")]
            writer.write(
                {
                    "image": (sample["image"], "byte"),
                    "label": (sample["label"], "int"),
                    "shape": (shape, "int"),
                    "dtype": (sample["dtype"].encode(), "byte"),
                }
            )
            size, count = size + len(sample["image"]), count + 1
        if writer is not None:
            close()
        write_index(self.path, files)

    def _open(self) -> Reader:
        files = read_index(self.path)["files"]
        check_sizes(self.path, [(entry["filename"], entry["bytes"]) for entry in files])
        records = _Records(self, files)
        return SampleReader(self, records, records.close)


class _Records:
    """Examples by global index: a positioned read of a record at the offset its file's index gives."""

    def __init__(self, store: TFRecordFiles, files: list[dict[str, Any]]) -> None:
        from tfrecord import example_pb2
        from tfrecord.writer import TFRecordWriter

        self.example = example_pb2.Example
        self.masked_crc = TFRecordWriter.masked_crc
        self.names = [str(store.path / entry["filename"]) for entry in files]
        spans = []
        for entry, name in zip(files, self.names, strict=True):
            span = np.loadtxt(name + INDEX_SUFFIX, dtype=np.int64, ndmin=2).reshape(-1, 2)
            if len(span) != entry["records"] or (len(span) and span[-1].sum() != entry["bytes"]):
                raise DamagedStore(
                    f"{name}{INDEX_SUFFIX}: {len(span)} records that do not span the file index.json lists "
                    f"({entry['records']} records, {entry['bytes']} bytes); write the store again"
                )
            spans.append(span)
        self.spans = np.concatenate(spans) if spans else np.zeros((0, 2), np.int64)
        """Offset and length of every record, in image order."""
        self.starts = np.cumsum([0, *(entry["records"] for entry in files)])
        self.fds = [os.open(name, os.O_RDONLY) for name in self.names]

    def __len__(self) -> int:
        return len(self.spans)

    def __getitem__(self, index: int) -> Sample:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: Sequence[int]) -> list[Sample]:
        """The samples of ``indices``: one positioned read per run of consecutive ids within a file."""
        ids = np.asarray(indices, dtype=np.int64)
        numbers = np.searchsorted(self.starts, ids, side="right") - 1
        breaks = np.flatnonzero((np.diff(ids) != 1) | (np.diff(numbers) != 0)) + 1
        samples = []
        for run in np.split(np.arange(len(ids)), breaks):
            number = int(numbers[run[0]])
            start = int(self.spans[ids[run[0]], 0])
            size = int(self.spans[ids[run[-1]]].sum()) - start
            data = memoryview(os.pread(self.fds[number], size, start))
            if len(data) != size:
                raise DamagedStore(
                    f"{self.names[number]}: records at bytes {start}..{start + size} are cut short"
                )
            for index in ids[run].tolist():
                offset, length = (int(value) for value in self.spans[index])
                samples.append(self.parse(number, index, data[offset - start : offset - start + length]))
        return samples

    def parse(self, number: int, index: int, record: memoryview) -> Sample:
        """The sample of record ``index`` of file ``number``, its framing checked as TensorFlow checks it."""
        name = self.names[number]
        if len(record) < FRAME.size + 4:
            raise DamagedStore(f"{name}: record {index} is too short to be one")
        size, crc = FRAME.unpack_from(record)
        data = record[FRAME.size : -4]
        if size != len(data) or crc != self.masked_crc(record[:8]) or record[-4:] != self.masked_crc(data):
            raise DamagedStore(f"{name}: record {index}: checksum mismatch (damaged)")
        features = self.example.FromString(bytes(data)).features.feature
        try:
            return {
                "image": features["image"].bytes_list.value[0],
                "label": features["label"].int64_list.value[0],
                "shape": ",".join(map(str, features["shape"].int64_list.value)),
                "dtype": features["dtype"].bytes_list.value[0].decode(),
            }
        except IndexError:
            raise DamagedStore(f"{name}: record {index} is not an image Example") from None

    def close(self) -> None:
        for fd in self.fds:
            os.close(fd)
        self.fds = []
