"""``chunks_seek``: the chunk files read with positioned reads (``os.pread``/``os.preadv``), no seek state."""

from __future__ import annotations

import os
from pathlib import Path

from imagestores.stores._chunk_files import ChunkReader, ChunkStore
from imagestores.stores._files import check_read, pread_into
from imagestores.stores.base import Images, Reader


class ChunkSeekStore(ChunkStore):
    """Chunks read with positioned reads: one ``os.preadv`` per run, into the output where records are raw."""

    def _open(self) -> Reader:
        return _SeekReader(self.path)


class _SeekReader(ChunkReader):
    """Opens each chunk file on first use and reads it with ``os.pread``/``os.preadv`` (no seek state)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.files: dict[int, int] = {}

    def _descriptor(self, chunk: int) -> int:
        fd = self.files.get(chunk)
        if fd is None:
            fd = self.files[chunk] = os.open(self.chunk_path(chunk), os.O_RDONLY)
        return fd

    def _fetch(self, chunk: int, offset: int, size: int) -> bytes:
        fd = self._descriptor(chunk)
        data = os.pread(fd, size, offset)
        check_read(len(data), size, fd)
        return data

    def _fill(self, chunk: int, offset: int, size: int, targets: Images) -> None:
        pread_into(self._descriptor(chunk), targets, offset)

    def close(self) -> None:
        for fd in self.files.values():
            os.close(fd)
        self.files.clear()
