"""The ``litdata`` method: LitData's optimized chunk files, written by its ``BinaryWriter`` and read by its
``StreamingDataset`` from the store's directory.

``litdata.optimize`` runs a user function over inputs in worker processes and hands each result to a
``BinaryWriter``; the images are already in memory here, so the store hands its samples (``_sample_shards``)
to the ``BinaryWriter`` itself, which writes ``chunk-0-{n}.bin`` files of at most ``shard_bytes`` and, on
``merge``, ``index.json``. ``StreamingDataset(input_dir=...)`` reads a local directory in place: it copies
nothing to a cache directory (it does for remote URLs and Lightning's own mounts), so no cache is made
outside the store.
"""

from __future__ import annotations

from collections.abc import Iterator

from imagestores.stores._sample_shards import Sample, SampleReader, SampleShardStore, check_sizes, read_index
from imagestores.stores.base import Reader

INSTALL = 'install the loaders extra: .venv/bin/pip install --editable ".[loaders]"'


class LitDataChunks(SampleShardStore):
    """One LitData sample per image in chunk files of at most ``shard_bytes``."""

    module = "litdata"
    package = "litdata"
    install = INSTALL

    def _write_samples(self, samples: Iterator[Sample]) -> None:
        from litdata.streaming.writer import BinaryWriter

        writer = BinaryWriter(str(self.path), chunk_bytes=self.shard_bytes)
        for number, sample in enumerate(samples):
            writer.add_item(number, sample)
        writer.done()
        writer.merge()

    def _open(self) -> Reader:
        from litdata import StreamingDataset

        chunks = read_index(self.path)["chunks"]
        check_sizes(self.path, [(chunk["filename"], chunk["chunk_bytes"]) for chunk in chunks])
        return SampleReader(self, StreamingDataset(input_dir=str(self.path)))
