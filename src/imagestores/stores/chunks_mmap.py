"""``chunks_mmap``: the chunk files read through memory maps instead of read calls."""

from __future__ import annotations

import mmap
from pathlib import Path

import numpy as np

from imagestores.stores._chunk_files import ChunkReader, ChunkStore
from imagestores.stores._files import map_file
from imagestores.stores.base import Images, Reader


class ChunkMmapStore(ChunkStore):
    """Chunks read through memory maps: a run is sliced out of its chunk's map and copied to the output."""

    def _open(self) -> Reader:
        return _MmapReader(self.path)


class _MmapReader(ChunkReader):
    """Maps each chunk on first use and copies slices of the map out."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.maps: dict[int, mmap.mmap] = {}

    def _map(self, chunk: int) -> mmap.mmap:
        mapped = self.maps.get(chunk)
        if mapped is None:
            mapped = self.maps[chunk] = map_file(self.chunk_path(chunk))
        return mapped

    def _fetch(self, chunk: int, offset: int, size: int) -> memoryview:
        return memoryview(self._map(chunk))[offset : offset + size]

    def _fill(self, chunk: int, offset: int, size: int, targets: Images) -> None:
        if isinstance(targets, np.ndarray):
            source = np.frombuffer(self._map(chunk), targets.dtype, targets.size, offset)
            targets[...] = source.reshape(targets.shape)
        else:
            with self._fetch(chunk, offset, size) as data:
                self._decode(data, [out.nbytes for out in targets], targets)

    def close(self) -> None:
        for mapped in self.maps.values():
            mapped.close()
        self.maps.clear()
