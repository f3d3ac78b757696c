"""The one small interface every storage method implements.

A store lives in its own directory. ``Store.write`` creates it from images 0..n-1 and their labels;
``Store.open`` returns a ``Reader`` whose ``read_into`` fills caller-allocated buffers, so a timed read
measures the store and not the allocation of its output. Writing one image is writing a store of one
image (as the study did); reading one image is ``read_into`` with one index.

Images come as a ``Sequence[np.ndarray]``: an (N, H, W, C) array (possibly memory-mapped, so a store
must stream it in batches and never materialise all of it) or a list of arrays of differing shapes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self

import numpy as np

from imagestores.stores.codecs import Codec, codec
from imagestores.stores.errors import UnsupportedInput

__all__ = [
    "EncodedStore",
    "Images",
    "Reader",
    "Store",
    "Traits",
    "UnsupportedInput",
    "batches",
    "put_block",
    "runs",
]

Images = Sequence[np.ndarray]
"""An (N, H, W, C) array or a list of N arrays; element i is image i."""

WRITE_BATCH = 4096
"""Images a store handles at once while streaming; bounds memory independently of N."""


@dataclass(frozen=True)
class Traits:
    """What a configured method can hold and how faithfully: known from its options, before any data."""

    lossy: bool
    fixed_shape: bool
    dtypes: frozenset[np.dtype]
    encoding: str = ""
    """The codec of a store of encoded bytes (``raw``, ``png``, ``jpeg90``); empty for the others."""

    @property
    def holds(self) -> str:
        """What it holds, in a few words for tables: shapes, pixel types, encoding."""
        shapes = "one shape and dtype" if self.fixed_shape else "any shapes"
        dtypes = ", ".join(sorted(str(dtype) for dtype in self.dtypes))
        encoding = f", {self.encoding}" if self.encoding else ""
        return f"{shapes}; {dtypes}{encoding}"


class Store(ABC):
    """One storage method, configured by its options, at one directory.

    Subclasses declare what they can hold; ``write`` checks it before touching the disk. A store built
    without a directory still answers what it can hold (``traits``), which is how the registry and the
    config check ask without a store on disk.
    """

    fixed_shape: ClassVar[bool] = False
    """True when every image must share one shape (a single N-d array holds them)."""

    dtypes: ClassVar[frozenset[np.dtype]] = frozenset({np.dtype(np.uint8), np.dtype(np.uint16)})
    """Pixel types the method stores exactly."""

    lossy: bool = False
    """True when read-back only approximates what was written (checked against a tolerance)."""

    def __init__(self, path: Path | str | None = None, **options: Any) -> None:
        self._path = None if path is None else Path(path)
        if options:
            raise TypeError(f"{type(self).__name__} takes no options, got {sorted(options)}")

    @property
    def path(self) -> Path:
        """The store's directory."""
        if self._path is None:
            raise ValueError(
                f"this {type(self).__name__} was built without a directory: it cannot be written or opened"
            )
        return self._path

    @classmethod
    def traits(cls, **options: Any) -> Traits:
        """What a store of this class with ``options`` holds; a bad option raises TypeError or ValueError."""
        configured = cls(**options)
        codec_ = getattr(configured, "codec", None)
        return Traits(
            lossy=configured.lossy,
            fixed_shape=cls.fixed_shape,
            dtypes=cls.dtypes,
            encoding=codec_.label if isinstance(codec_, Codec) else "",
        )

    def check(self, images: Images) -> None:
        """Raise UnsupportedInput naming the problem when this method cannot hold ``images``."""
        if len(images) == 0:
            raise UnsupportedInput("there are no images to store")
        first = images[0]
        for index, image in enumerate(_each_image(images)):
            if image.dtype not in self.dtypes:
                allowed = ", ".join(sorted(str(d) for d in self.dtypes))
                raise UnsupportedInput(
                    f"image {index} has dtype {image.dtype}; {type(self).__name__} stores only {allowed}"
                )
            if image.ndim not in (2, 3):
                raise UnsupportedInput(f"image {index} has shape {image.shape}; expected (H, W) or (H, W, C)")
            if self.fixed_shape and (image.shape != first.shape or image.dtype != first.dtype):
                raise UnsupportedInput(
                    f"image {index} has shape {image.shape} {image.dtype} but image 0 has "
                    f"{first.shape} {first.dtype}; {type(self).__name__} holds one fixed shape and dtype"
                )
            self.check_image(index, image)

    def check_image(self, index: int, image: np.ndarray) -> None:  # noqa: B027 - optional hook
        """Hook for a method's own limits (an encoding's, say); raise UnsupportedInput to refuse."""

    def write(self, images: Images, labels: np.ndarray) -> None:
        """Create the store at ``self.path`` (which must not exist) holding ``images`` and ``labels``."""
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.check(images)
        self.path.mkdir(parents=True, exist_ok=False)
        self._write(images, np.asarray(labels))

    @abstractmethod
    def _write(self, images: Images, labels: np.ndarray) -> None:
        """Write into the freshly created directory ``self.path``; input is already checked."""

    @abstractmethod
    def open(self) -> Reader:
        """Open the store read-only."""


class EncodedStore(Store):
    """A store of encoded image bytes, with the ``encoding`` (raw, png, jpeg) and ``quality`` options."""

    def __init__(
        self, path: Path | str | None = None, encoding: str = "raw", quality: int = 90, **options: Any
    ) -> None:
        super().__init__(path, **options)
        self.codec = codec(encoding, quality)
        self.lossy = self.codec.lossy

    def check_image(self, index: int, image: np.ndarray) -> None:
        self.codec.check(index, image)


class Reader(ABC):
    """An open store. Use as a context manager so files are always closed."""

    @abstractmethod
    def read_into(self, indices: np.ndarray, images_out: Images, labels_out: np.ndarray) -> None:
        """Read images ``indices`` into ``images_out[j]`` and their labels into ``labels_out[j]``.

        ``images_out`` is an (M, H, W, C) array or a list of M preallocated arrays, M >= len(indices):
        a reused buffer may be longer than the last batch, and only its first len(indices) entries are
        filled.
        """

    def close(self) -> None:  # noqa: B027 - most readers hold something to close; the rest need nothing
        """Release files and handles."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _each_image(images: Images) -> Iterator[np.ndarray]:
    """Yield images; for one fixed-shape array the first stands for all (they share shape and dtype)."""
    if isinstance(images, np.ndarray):
        yield images[0]
    else:
        yield from images


def batches(count: int, size: int | None = None) -> Iterator[slice]:
    """Consecutive slices covering range(count), each at most ``size`` (default WRITE_BATCH) long."""
    size = size or WRITE_BATCH
    for start in range(0, count, size):
        yield slice(start, min(start + size, count))


def runs(indices: np.ndarray) -> Iterator[tuple[int, int, int]]:
    """Split ``indices`` into runs of consecutive ids: yields (position in indices, first id, length).

    Stores read a run with one call instead of one call per image.
    """
    if len(indices) <= 1:
        yield from ((0, int(indices[0]), 1),) if len(indices) else ()
        return
    breaks = np.flatnonzero(np.diff(indices) != 1) + 1
    starts = np.concatenate(([0], breaks))
    ends = np.concatenate((breaks, [len(indices)]))
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        yield start, int(indices[start]), end - start


def put_block(images_out: Images, position: int, block: np.ndarray) -> None:
    """Copy consecutive images ``block`` into ``images_out`` from ``position`` on, array or list alike.

    Slice assignment would replace the elements of a list instead of filling the caller's buffers.
    """
    if isinstance(images_out, np.ndarray):
        images_out[position : position + len(block)] = block
    else:
        for offset, image in enumerate(block):
            images_out[position + offset][...] = image
