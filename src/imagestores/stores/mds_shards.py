"""The ``mds`` method: MosaicML Streaming's MDS shards, written by its ``MDSWriter`` and read by its
``LocalDataset`` from the store's directory.

``MDSWriter(out=..., columns=...)`` writes ``shard.{n:05}.mds`` files of at most ``shard_bytes`` and
``index.json``; the columns are the samples' fields (``_sample_shards``) in MDS's own encodings: ``bytes``
for the image, ``int`` for the label, ``str`` for its shape and dtype.

Reading uses ``LocalDataset``, streaming's map-style dataset over shards that are already local, rather than
its ``StreamingDataset``. Both read a sample with the same shard readers (``dataset[i]``), but each
``StreamingDataset`` also registers shared-memory blocks for coordinating ranks and workers and keeps them,
with their file descriptors, until the process exits (an ``atexit`` handler), and each new one opens those
of every earlier one: five opens of one store took a process from 6 to 187 open files. The pipeline opens a
store for every ``read_one`` call and every epoch, so it would run out of file descriptors; ``LocalDataset``
opens nothing that outlives it, and copies nothing to a cache.

MosaicML Streaming 0.13.0 declares ``numpy<2.2`` but writes and reads these shards with this project's
NumPy (the tests round-trip them), so it is installed without its declared dependencies, beside only what
its import needs (``requirements/mds.txt``; README, "Training loops"). Importing it imports torchvision and
transformers, so it needs a torchvision built for the installed torch.
"""

from __future__ import annotations

from collections.abc import Iterator

from imagestores.stores._sample_shards import Sample, SampleReader, SampleShardStore, check_sizes, read_index
from imagestores.stores.base import Reader

COLUMNS = {"image": "bytes", "label": "int", "shape": "str", "dtype": "str"}
"""MDS's encoding of each field of a sample."""

INSTALL = (
    "install it as README.md, Training loops, says: .venv/bin/pip install --no-deps -r requirements/mds.txt "
    "(it imports torchvision, which must be built for the installed torch)"
)


class MdsShards(SampleShardStore):
    """One MDS sample per image in shards of at most ``shard_bytes``."""

    module = "streaming"
    package = "mosaicml-streaming"
    install = INSTALL

    def _write_samples(self, samples: Iterator[Sample]) -> None:
        from streaming import MDSWriter

        with MDSWriter(out=str(self.path), columns=COLUMNS, size_limit=self.shard_bytes) as writer:
            for sample in samples:
                writer.write(sample)

    def _open(self) -> Reader:
        from streaming import LocalDataset

        shards = read_index(self.path)["shards"]
        data = [(shard["raw_data"]["basename"], shard["raw_data"]["bytes"]) for shard in shards]
        check_sizes(self.path, data)
        return SampleReader(self, LocalDataset(str(self.path)))
