"""What every store of encoded image bytes shares: the ``encoding`` and ``quality`` options, their checks,
and each image's record (encoded, the original file's bytes, or a view of raw pixels).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from imagestores.stores.codecs import Codec, codec, describe_dtypes
from imagestores.stores.errors import UnsupportedInput
from imagestores.stores.images import Images
from imagestores.stores.store import Store


class EncodedStore(Store):
    """A store of encoded image bytes, with the ``encoding`` (raw, png, jpeg) and ``quality`` options."""

    def __init__(
        self, path: Path | str | None = None, encoding: str = "raw", quality: int = 90, **options: Any
    ) -> None:
        super().__init__(path, **options)
        self.codec = codec(encoding, quality)
        self.lossy = self.codec.lossy
        self.dtypes = self.codec.dtypes

    def refusal_of_dtypes(self) -> str:
        if self.codec.name == "raw":
            return super().refusal_of_dtypes()
        return (
            f"{type(self).__name__} with the {self.codec.name} encoding stores only "
            f"{describe_dtypes(self.dtypes)}; raw pixels (encoding: raw, or lmdb_raw, sqlite, parquet, "
            "chunks_seek) hold any numeric dtype"
        )

    def check_image(self, index: int, image: np.ndarray) -> None:
        self.codec.check(index, image)

    def check_originals(self, images: Images) -> None:
        if self.codec.needs_originals and getattr(images, "originals", None) is None:
            raise UnsupportedInput(
                "the original encoding stores each source file's own bytes, and this data has no files "
                "(it was generated or unpacked from an archive): use it with `dataset.source: folder`"
            )

    def encoded(self, images: Images, part: slice) -> list[bytes | memoryview]:
        """The records of images ``part``: encoded by the codec, or the original files' bytes."""
        if self.codec.needs_originals:
            return list(images[part].originals)
        block = images[part]
        if self.codec.name == "raw" and isinstance(block, np.ndarray):
            return raw_records(block)
        return [self.codec.encode(image) for image in block]


class ShardedStore(EncodedStore):
    """A store of encoded samples in files of at most ``shard_bytes`` (the option its formats call chunk,
    shard or size limit); ``default_shard_bytes`` is each format's own default."""

    default_shard_bytes: ClassVar[int]

    def __init__(
        self, path: Path | str | None = None, shard_bytes: int | None = None, **options: Any
    ) -> None:
        super().__init__(path, **options)
        shard_bytes = self.default_shard_bytes if shard_bytes is None else shard_bytes
        if shard_bytes < 1:
            raise ValueError(f"shard_bytes must be positive, not {shard_bytes}")
        self.shard_bytes = shard_bytes


def raw_target(codec: Codec, images_out: Images) -> memoryview | None:
    """A byte view of ``images_out`` when raw records can be copied straight into it (raw encoding, one
    C-contiguous array), else None: a codec call per image cost a third of reading raw records."""
    if codec.name == "raw" and isinstance(images_out, np.ndarray) and images_out.flags.c_contiguous:
        return memoryview(images_out.reshape(-1).view(np.uint8))
    return None


def raw_records(block: np.ndarray) -> list[memoryview]:
    """Each image's raw bytes as a view of one contiguous block: a copy per image cost SQLite and LMDB
    writes a third of their time (``benchmarks/careful.py``)."""
    data = memoryview(np.ascontiguousarray(block)).cast("B")
    size = block[0].nbytes if len(block) else 0
    return [data[number * size : (number + 1) * size] for number in range(len(block))]
