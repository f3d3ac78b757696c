"""The ``array_record`` method: ArrayRecord files (Grain's and TFDS's random-access format), written by its
``ArrayRecordWriter`` and read by its ``ArrayRecordDataSource``.

Each record is one sample (``_sample_shards``) packed into bytes (``pack_sample``: label, layout, image).
Files hold at most ``shard_bytes`` of samples. They are written with ``group_size:1``, a chunk per record,
the option TFDS and Grain write with and ArrayRecord's documentation recommends for random access (a read
decodes only its record's chunk). Riegeli's own compression is off by default (``compression``), as every
store here keeps pixels and encoded images uncompressed; its chunk hashes are checked on every read, so
flipped bytes are an error, never a wrong image.

``ArrayRecordDataSource.__getitems__`` reads a batch in one call, each file's records in one ``read`` and
files in parallel threads: the fastest read it offers, and how Grain reads it. The library's reader takes a
file's record count from the file's footer; ``index.json`` beside the files keeps each one's size, checked
at open (``check_sizes``), so a truncated file is refused before the C++ reader sees it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from imagestores.stores._sample_shards import (
    Sample,
    SampleReader,
    SampleShardStore,
    check_sizes,
    pack_sample,
    read_index,
    unpack_sample,
    write_index,
)
from imagestores.stores.base import Reader

FILE = "data-{:05d}.array_record"
INSTALL = 'install the formats extra: .venv/bin/pip install --editable ".[formats]"'
COMPRESSIONS = ("uncompressed", "zstd", "brotli", "snappy")


class ArrayRecordFiles(SampleShardStore):
    """One packed sample per record, ``group_size:1``, in files of at most ``shard_bytes``.

    Options: ``encoding``, ``quality``, ``shard_bytes`` and ``compression`` (one of COMPRESSIONS, Riegeli's
    default level for each).
    """

    module = "array_record.python.array_record_module"
    package = "array-record"
    install = INSTALL
    reads_batches = True

    def __init__(
        self, path: Path | str | None = None, compression: str = "uncompressed", **options: Any
    ) -> None:
        super().__init__(path, **options)
        if compression not in COMPRESSIONS:
            raise ValueError(f"compression must be one of {', '.join(COMPRESSIONS)}, not {compression!r}")
        self.compression = compression

    def _write_samples(self, samples: Iterator[Sample]) -> None:
        from array_record.python.array_record_module import ArrayRecordWriter

        files: list[tuple[str, int]] = []
        writer, size, count = None, 0, 0
        for sample in samples:
            record = pack_sample(sample)
            if writer is not None and size + len(record) > self.shard_bytes:
                writer.close()
                files.append((FILE.format(len(files)), count))
                writer = None
            if writer is None:
                options = f"group_size:1,{self.compression}"
                writer = ArrayRecordWriter(str(self.path / FILE.format(len(files))), options)
                size, count = 0, 0
            writer.write(record)
            size, count = size + len(record), count + 1
        if writer is not None:
            writer.close()
            files.append((FILE.format(len(files)), count))
        write_index(self.path, files)

    def _open(self) -> Reader:
        from array_record.python.array_record_data_source import ArrayRecordDataSource

        files = read_index(self.path)["files"]
        check_sizes(self.path, [(entry["filename"], entry["bytes"]) for entry in files])
        source = ArrayRecordDataSource([str(self.path / entry["filename"]) for entry in files])
        return SampleReader(self, _Samples(source))


class _Samples:
    """The data source's records as samples: what ``SampleReader`` reads."""

    def __init__(self, source: Any) -> None:
        self.source = source

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> Sample:
        return unpack_sample(self.source[index])

    def __getitems__(self, indices: Sequence[int]) -> list[Sample]:
        return [unpack_sample(record) for record in self.source.__getitems__(indices)]
