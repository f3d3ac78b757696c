"""Per-record CRC-32 checksums for the formats that have no checksum of their own.

The ``checksums`` option of ``chunks_*``, ``webdataset``, ``lmdb_raw`` and ``sqlite`` stores a CRC-32
(zlib's, the one ``gzip`` and PNG use) of each record beside it, and their readers check it before
decoding: a damaged record is a DamagedStore naming where it lies, never a wrong image. Formats with a
checksum of their own use it instead (Parquet page checksums, HDF5 fletcher32, Zarr crc32c).
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from imagestores.stores.errors import DamagedStore

CRC = struct.Struct("<I")
"""A CRC-32 as stored after an LMDB value: four little-endian bytes."""


def crc32(data: bytes | memoryview | np.ndarray) -> int:
    """CRC-32 of ``data``'s bytes (an array's in C order)."""
    if isinstance(data, np.ndarray):
        data = np.ascontiguousarray(data).view(np.uint8)
    return zlib.crc32(data)


def check(data: bytes | memoryview | np.ndarray, expected: int, where: str) -> None:
    """Raise DamagedStore naming ``where`` unless ``data`` has the CRC-32 ``expected``."""
    if crc32(data) != int(expected):
        raise DamagedStore(f"{where}: checksum mismatch, the stored bytes are damaged; write the store again")
