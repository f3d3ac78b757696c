"""The one small interface every storage method implements.

A store lives in its own directory. ``Store.write`` creates it from images 0..n-1 and their labels;
``Store.open`` returns a ``Reader`` whose ``read_into`` fills caller-allocated buffers, so a timed read
measures the store and not the allocation of its output. Writing one image is writing a store of one
image (as the study did); reading one image is ``read_into`` with one index.

Images come as a ``Sequence[np.ndarray]``: an (N, H, W, C) array (possibly memory-mapped, so a store
must stream it in batches and never materialise all of it), a list of arrays of differing shapes, or the
data stage's lazy sequence of a folder's images. Stores walk them in ``batches``, bounded in images and in
bytes, so that neither 4 MB images nor a million small ones make a batch large. A folder's images also
carry each file's own bytes (``images.originals``), which the ``original`` encoding stores unchanged, and
its metadata table (``images.metadata``), which table stores keep as columns and the others keep beside
their data as ``metadata.parquet``.

Three contracts hold for every method, here rather than in each store:

- input is checked before anything is written (``Store.check``, ``check_labels``);
- a store is written under a temporary name, gets its completion marker (``MARKER``: the image count)
  last and is then renamed into place, so a killed write never leaves a store that looks whole; ``open``
  refuses a store without the marker, or whose reader finds another count (a truncated index);
- ``Reader.read_into`` accepts only integer ids in [0, len) (repeats, any order and none allowed) and
  raises IndexError naming the first bad one before any store reads anything.

``Reader.read_where`` reads every image a filter (``stores.where.Where``) matches: by default through a
label index written beside the data (``LABEL_INDEX``) and ``read_into``; a store that can filter by itself
(``Store.filters``: Lance, Parquet, SQLite) overrides ``_read_where``.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import typing
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from imagestores.stores.codecs import NUMERIC_DTYPES, Codec, codec, describe_dtypes
from imagestores.stores.errors import DamagedStore, IncompleteStore, MissingLibrary, UnsupportedInput
from imagestores.stores.where import Where

__all__ = [
    "LABEL_INDEX",
    "MARKER",
    "PACKAGE_FILES",
    "SHAPES",
    "SHAPE_DTYPE",
    "Buffers",
    "DamagedStore",
    "EncodedStore",
    "Images",
    "IncompleteStore",
    "MissingLibrary",
    "Reader",
    "Store",
    "Traits",
    "UnsupportedInput",
    "Where",
    "batches",
    "byte_batches",
    "check_ids",
    "check_labels",
    "put_block",
    "read_manifest",
    "runs",
]

Images = Sequence[np.ndarray]
"""An (N, H, W, C) array or a list of N arrays; element i is image i."""

METADATA = "metadata.parquet"
"""Where a store that has no columns of its own keeps the images' metadata table, beside its data."""

WRITE_BATCH = 4096
"""Images a store handles at once while streaming; bounds memory independently of N."""

MARKER = "imagestores-complete.json"
"""Written last into every store: the image count, as JSON. A directory without it is an unfinished write.
Not part of the format: disk usage leaves it out (``measure.jobs.disk_usage``)."""

MARKER_BYTES = 4096
"""The completion marker is read with one ``os.read`` of this many bytes; it must fit."""

SHAPES = "imagestores-shapes.npy"
"""Beside the marker of a store of images of differing shapes: each image's shape and dtype (``SHAPE_DTYPE``),
so a reader of the store can allocate its output without the source. Not part of the format either."""

LABEL_INDEX = "imagestores-labels.npy"
"""Beside the data of a store that cannot filter by itself (``Store.filters``): every image's label, the
index a filtered read looks ids up in (``Reader.read_where``). Not part of the format either."""

PACKAGE_FILES = (MARKER, SHAPES, LABEL_INDEX)
"""This package's own files in a store, which disk usage and damage tests leave out."""

SHAPE_DTYPE = np.dtype([("ndim", "u1"), ("shape", "<u4", (3,)), ("dtype", "S3")])
"""One image's layout: its shape is ``shape[:ndim]``, its NumPy dtype string ``dtype``."""

WRITING_SUFFIX = ".writing"
"""A store is written at ``.{name}.writing`` beside its final path and renamed when complete."""


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
        dtypes = describe_dtypes(self.dtypes)
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

    dtypes: frozenset[np.dtype] = NUMERIC_DTYPES
    """Pixel types the method stores exactly: every numeric one for a store of raw pixels with their dtype
    (a fixed-shape store any one of them); a store of encoded bytes takes its codec's (``Codec.dtypes``)."""

    lossy: bool = False
    """True when read-back only approximates what was written (checked against a tolerance)."""

    method_name: str = ""
    """The configured method's name when built through the registry (``Method.store``), for the manifest."""

    def __new__(cls, path: Path | str | None = None, /, **options: Any) -> Self:
        """Keep the options the store was built with, so its manifest can rebuild it (``open_store``)."""
        store = super().__new__(cls)
        store.built_with = dict(options)
        return store

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
    def declared_options(cls) -> dict[str, type]:
        """Each option this store takes and the type it wants, from the ``__init__`` signatures of its
        classes (keyword parameters after ``path``): how the config reads an option typed as a string."""
        declared: dict[str, type] = {}
        for klass in reversed(cls.__mro__):
            init = klass.__dict__.get("__init__")
            if init is None or klass is object:
                continue
            hints = typing.get_type_hints(init)
            for name, parameter in inspect.signature(init).parameters.items():
                if name in ("self", "path") or parameter.kind is not parameter.POSITIONAL_OR_KEYWORD:
                    continue
                declared[name] = hints.get(name, object)
        return declared

    @classmethod
    def traits(cls, **options: Any) -> Traits:
        """What a store of this class with ``options`` holds; a bad option raises TypeError or ValueError."""
        configured = cls(**options)
        codec_ = getattr(configured, "codec", None)
        return Traits(
            lossy=configured.lossy,
            fixed_shape=cls.fixed_shape,
            dtypes=configured.dtypes,
            encoding=codec_.label if isinstance(codec_, Codec) else "",
        )

    fork_safe: ClassVar[bool] = True
    """False when a reader cannot work in a process forked from one that used the format's library:
    DataLoader workers then start from a fork server (``imagestores.loading``)."""

    keeps_metadata: ClassVar[bool] = False
    """True when the store keeps a metadata table in columns of its own (the table stores)."""

    @classmethod
    def unavailable(cls) -> str:
        """Why this method cannot be used here (an optional library it needs is missing), or ``""``."""
        return ""

    def require_library(self) -> None:
        """Raise MissingLibrary, with the reason and the fix, when ``unavailable`` gives one."""
        reason = self.unavailable()
        if reason:
            raise MissingLibrary(f"{type(self).__name__}: {reason}")

    filters: ClassVar[bool] = False
    """True when the store's reader finds the images of a filtered read itself (its ``_read_where``); the
    others get a label index (``LABEL_INDEX``) beside their data, written with the store."""

    def check(self, images: Images) -> None:
        """Raise UnsupportedInput naming the problem when this method cannot hold ``images`` (MissingLibrary,
        a kind of it, when the method's library is not installed here)."""
        self.require_library()
        if len(images) == 0:
            raise UnsupportedInput("there are no images to store: give at least one")
        self.check_originals(images)
        first = images[0]
        for index, image in enumerate(_each_image(images)):
            try:
                self._check_one(index, image, first)
            except UnsupportedInput as refusal:
                path = image_path(images, index)
                raise UnsupportedInput(f"{refusal} (file {path})" if path else str(refusal)) from None

    def _check_one(self, index: int, image: np.ndarray, first: np.ndarray) -> None:
        """``check`` of image ``index``: raise UnsupportedInput naming it and what it is."""
        if not isinstance(image, np.ndarray):
            raise UnsupportedInput(f"image {index} is a {type(image).__name__}, not a NumPy array")
        if image.size == 0:
            raise UnsupportedInput(f"image {index} has shape {image.shape}: no pixels to store")
        if image.dtype not in self.dtypes:
            raise UnsupportedInput(f"image {index} has dtype {image.dtype}; {self.refusal_of_dtypes()}")
        if image.ndim not in (2, 3):
            raise UnsupportedInput(f"image {index} has shape {image.shape}; expected (H, W) or (H, W, C)")
        if self.fixed_shape and (image.shape != first.shape or image.dtype != first.dtype):
            raise UnsupportedInput(
                f"image {index} has shape {image.shape} {image.dtype} but image 0 has "
                f"{first.shape} {first.dtype}; {type(self).__name__} holds one fixed shape and dtype"
            )
        self.check_image(index, image)

    def refusal_of_dtypes(self) -> str:
        """Why an image of another dtype is refused, and what holds it."""
        return f"{type(self).__name__} stores only {describe_dtypes(self.dtypes)}"

    def check_image(self, index: int, image: np.ndarray) -> None:  # noqa: B027 - optional hook
        """Hook for a method's own limits (an encoding's, say); raise UnsupportedInput to refuse."""

    def check_originals(self, images: Images) -> None:  # noqa: B027 - a hook
        """Hook for methods that store the original files: refuse images that have none."""

    def write(self, images: Images, labels: np.ndarray) -> None:
        """Create the store at ``self.path`` (which must not exist) holding ``images`` and ``labels``.

        Input is checked before anything touches the disk. The store is written at a temporary path
        (``writing_path``; a killed write's leftover there is removed first), marked complete and renamed
        into place, so ``self.path`` either does not exist or holds a whole store. A metadata table that
        comes with the images (``images.metadata``) is kept too: in the store's own columns where it has
        them (``keeps_metadata``), else beside its data as ``metadata.parquet``.
        """
        labels = np.asarray(labels)
        self.check(images)
        check_labels(images, labels)
        final = self.path
        if final.exists():
            raise FileExistsError(f"{final} already exists: a store is never written over; remove it first")
        partial = self.writing_path
        if partial.exists():
            shutil.rmtree(partial)
        partial.mkdir(parents=True)
        self._path = partial
        try:
            self._write(images, labels)
            metadata = metadata_of(images)
            if metadata is not None and not self.keeps_metadata:
                pq.write_table(metadata, partial / METADATA)
            if not self.filters:
                np.save(partial / LABEL_INDEX, labels)
            self.write_manifest(images)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        finally:
            self._path = final
        partial.rename(final)

    def write_manifest(self, images: Images) -> None:
        """Write the completion marker: the image count and everything ``open_store`` needs to read it back.

        That is the store class and its options, the configured method's name, and the images' shape and
        dtype when they share one; images of differing shapes have theirs in ``SHAPES`` beside it.
        """
        cls = type(self)
        manifest: dict[str, Any] = {
            "count": len(images),
            "store": cls.__name__,
            "target": f"{cls.__module__}:{cls.__qualname__}",
            "options": self.built_with,
            "method": self.method_name or None,
        }
        layout = shapes_of(images)
        if (layout == layout[0]).all():
            shape, dtype = layout_of(layout[0])
            manifest |= {"shape": list(shape), "dtype": dtype.str}
        else:
            np.save(self.path / SHAPES, layout)
        text = json.dumps(manifest)
        if len(text) > MARKER_BYTES:
            raise UnsupportedInput(
                f"the options of this {cls.__name__} make a completion marker of {len(text)} bytes, more "
                f"than {MARKER_BYTES}: give shorter options"
            )
        (self.path / MARKER).write_text(text)

    @property
    def writing_path(self) -> Path:
        """Where the store is written before it is complete: hidden, beside the final path."""
        return self.path.with_name(f".{self.path.name}{WRITING_SUFFIX}")

    @abstractmethod
    def _write(self, images: Images, labels: np.ndarray) -> None:
        """Write into the freshly created directory ``self.path``; input is already checked."""

    def open(self) -> Reader:
        """Open the store read-only, or raise DamagedStore naming the store and what is wrong with it.

        Cheap checks only (the marker, what the format's own open reads), so opening stays as fast as the
        format allows; a reader checks each file it reads against what its index or header promises.
        """
        path = self.path
        count = written_count(path)
        self.require_library()
        try:
            reader = self._open()
        except DamagedStore:
            raise
        except Exception as error:  # any library's complaint about its file means the same to a caller
            raise DamagedStore(f"{path}: cannot be opened ({type(error).__name__}: {error})") from error
        if len(reader) != count:
            reader.close()
            raise DamagedStore(
                f"{path}: holds {len(reader)} images but {count} were written (a truncated or replaced "
                "index); write the store again"
            )
        reader.location = path
        return reader

    @abstractmethod
    def _open(self) -> Reader:
        """Open the store at ``self.path`` read-only; it carries its completion marker."""


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


Buffers = Callable[[np.ndarray], Images]
"""Output for the images of the given ids, as ``read_into`` takes it: the caller's to allocate or reuse."""


class Reader(ABC):
    """An open store. Use as a context manager so files are always closed."""

    location: Path | None = None
    """The store's directory (set by ``Store.open``), where a filtered read finds the label index."""

    def read_into(self, indices: np.ndarray, images_out: Images, labels_out: np.ndarray) -> None:
        """Read images ``indices`` into ``images_out[j]`` and their labels into ``labels_out[j]``.

        ``images_out`` is an (M, H, W, C) array or a list of M preallocated arrays, M >= len(indices):
        a reused buffer may be longer than the last batch, and only its first len(indices) entries are
        filled. Ids are integers in [0, len(self)), in any order, repeats allowed; anything else raises
        IndexError before anything is read (``check_ids``). No ids read nothing.
        """
        ids = check_ids(indices, len(self))
        if len(ids):
            self._read_into(ids, images_out, labels_out)

    @abstractmethod
    def _read_into(self, indices: np.ndarray, images_out: Images, labels_out: np.ndarray) -> None:
        """``read_into`` for ids already checked: a non-empty 1-D integer array, each in [0, len)."""

    def read_where(
        self, where: Where, buffers: Buffers, labels_out: np.ndarray
    ) -> Iterator[tuple[np.ndarray, Images]]:
        """Read every image ``where`` matches, in increasing id order, at most ``len(labels_out)`` at a time.

        For each batch the reader asks ``buffers(ids)`` for the output of those ids, fills it and
        ``labels_out[:len(ids)]``, and yields ``(ids, images)``; the next batch may reuse both. A store
        that can filter by itself (``Store.filters``) overrides ``_read_where``; the others look the ids
        up here, in the label index or the metadata table beside their data, and read them in batches with
        their own ``read_into``.
        """
        if not len(labels_out):
            raise ValueError("labels_out must hold at least one label: it bounds each batch")
        yield from self._read_where(where, buffers, labels_out)

    def _read_where(
        self, where: Where, buffers: Buffers, labels_out: np.ndarray
    ) -> Iterator[tuple[np.ndarray, Images]]:
        """The default filtered read: ids from the index beside the data, then batched ``read_into``."""
        ids = self.matching(where)
        for part in batches(len(ids), len(labels_out)):
            chosen = ids[part]
            images_out = buffers(chosen)
            self.read_into(chosen, images_out, labels_out)
            yield chosen, images_out

    def matching(self, where: Where) -> np.ndarray:
        """Ids of the images ``where`` matches, increasing, from the label index or the metadata table."""
        if self.location is None:
            raise ValueError("this reader was not opened by Store.open: it does not know its store's files")
        if where.on_label:
            try:
                labels = np.load(self.location / LABEL_INDEX, mmap_mode="r")
            except FileNotFoundError:
                raise IncompleteStore(
                    f"{self.location} has no label index {LABEL_INDEX}: it was written before filtered "
                    "reads were supported; write it again"
                ) from None
            except ValueError as error:
                raise DamagedStore(f"{self.location / LABEL_INDEX}: unreadable ({error})") from error
            if len(labels) != len(self):
                raise DamagedStore(
                    f"{self.location / LABEL_INDEX}: {len(labels)} labels for {len(self)} images; write the "
                    "store again"
                )
            return where.matches(labels)
        metadata = self.location / METADATA
        table = pq.read_table(metadata, columns=[where.column]) if metadata.exists() else None
        if table is not None and where.column in table.column_names and table.num_rows != len(self):
            raise DamagedStore(f"{metadata}: {table.num_rows} rows for {len(self)} images")
        return where.select(np.empty(0), table)

    @abstractmethod
    def __len__(self) -> int:
        """Images in the store, as its format records them (checked against the marker at open)."""

    def close(self) -> None:  # noqa: B027 - most readers hold something to close; the rest need nothing
        """Release files and handles."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def check_ids(indices: np.ndarray | Sequence[int], count: int) -> np.ndarray:
    """``indices`` as a 1-D integer array, or IndexError naming the first id outside 0..count-1.

    Checked once for every store: a computed offset, a key or a slice would otherwise misread a negative,
    too large or fractional id (read image 3 for 3.5, the last image for -1, or nothing at all).
    """
    ids = np.asarray(indices)
    if ids.ndim != 1:
        raise IndexError(f"image ids must be a 1-D sequence, not an array of shape {ids.shape}")
    if not len(ids):
        return ids.astype(np.intp)
    if ids.dtype.kind not in "iu":
        raise IndexError(
            f"image id {ids[0]!r} is not an integer ({ids.dtype} ids); ids are integers in 0..{count - 1} "
            f"for this store of {count} images"
        )
    if ids.min() >= 0 and ids.max() < count:
        return ids.astype(np.intp, copy=False)  # unsigned ids would wrap in the stores' differences
    first = ids[(ids < 0) | (ids >= count)][0]
    raise IndexError(f"image id {first} is outside this store of {count} images (ids 0..{count - 1})")


def check_labels(images: Images, labels: np.ndarray) -> None:
    """Refuse labels that are not one integer per image, before anything is written."""
    if labels.ndim != 1 or len(labels) != len(images):
        raise UnsupportedInput(
            f"labels must be one per image: {len(images)} images but labels of shape {labels.shape}"
        )
    if labels.dtype.kind not in "iu":
        raise UnsupportedInput(f"labels must be integers, not {labels.dtype}")


def written_count(path: Path) -> int:
    """The image count in the completion marker of the store at ``path``, or the error saying why not.

    Read with one ``os.read``: a few microseconds, as every open (and every timed ``read_one``) pays it.
    """
    try:
        return int(read_manifest(path)["count"])
    except (ValueError, KeyError, TypeError) as error:
        raise DamagedStore(f"{path / MARKER}: the completion marker is unreadable ({error})") from error


def read_manifest(path: Path) -> dict[str, Any]:
    """The completion marker of the store at ``path`` (see ``Store.write_manifest``), or why there is none."""
    try:
        fd = os.open(path / MARKER, os.O_RDONLY)
    except FileNotFoundError:
        if not path.is_dir():
            raise FileNotFoundError(f"there is no store at {path}") from None
        raise IncompleteStore(
            f"{path} has no completion marker {MARKER}: its write did not finish (killed, or out of space) "
            "or it was not written by imagestores; delete it and write it again"
        ) from None
    try:
        data = os.read(fd, MARKER_BYTES)
    finally:
        os.close(fd)
    try:
        manifest = json.loads(data)
    except ValueError as error:
        raise DamagedStore(f"{path / MARKER}: the completion marker is unreadable ({error})") from error
    if not isinstance(manifest, dict):
        raise DamagedStore(f"{path / MARKER}: the completion marker is not a JSON object")
    return manifest


def shapes_of(images: Images) -> np.ndarray:
    """Every image's layout (``SHAPE_DTYPE``); one row for all of an (N, H, W, C) array, which share it."""
    if isinstance(images, np.ndarray):
        return _layout([images[0]])
    return _layout(images)


def _layout(images: Iterable[np.ndarray]) -> np.ndarray:
    rows = [(image.ndim, (*image.shape, 0, 0)[:3], image.dtype.str) for image in images]
    return np.array(rows, dtype=SHAPE_DTYPE)


def layout_of(row: np.void) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype one ``SHAPE_DTYPE`` row describes."""
    return tuple(int(length) for length in row["shape"][: row["ndim"]]), np.dtype(row["dtype"].decode())


def _each_image(images: Images) -> Iterator[np.ndarray]:
    """Yield images; for one fixed-shape array the first stands for all (they share shape and dtype)."""
    if isinstance(images, np.ndarray):
        yield images[0]
    else:
        yield from images


def image_path(images: Images, index: int) -> str:
    """The file image ``index`` of a folder came from (its metadata's ``path``), or ``""`` for others."""
    metadata = metadata_of(images)
    if metadata is None or "path" not in metadata.column_names or index >= metadata.num_rows:
        return ""
    return str(metadata.column("path")[index].as_py())


def metadata_of(images: Images) -> pa.Table | None:
    """The metadata table that came with ``images`` (a folder's), one row per image; None for arrays."""
    return getattr(images, "metadata", None)


def metadata_names(metadata: pa.Table, taken: Iterable[str]) -> list[str]:
    """The metadata's column names beside a store's own columns ``taken``: ``meta_`` before a clashing one."""
    taken = set(taken)
    return [f"meta_{name}" if name in taken else name for name in metadata.column_names]


def batches(count: int, size: int | None = None) -> Iterator[slice]:
    """Consecutive slices covering range(count), each at most ``size`` (default WRITE_BATCH) long."""
    size = size or WRITE_BATCH
    for start in range(0, count, size):
        yield slice(start, min(start + size, count))


BATCH_BYTES = 64 * 2**20
"""Pixel bytes a store handles at once while streaming: 4,096 CIFAR images are 12 MiB, 16 microscopy
TIFFs of 1344 x 1024 x 16 bit 42 MiB, so memory stays bounded whatever the images' size."""


def image_sizes(images: Images) -> np.ndarray:
    """Pixel bytes of every image, without reading any pixels."""
    if isinstance(images, np.ndarray):
        return np.full(len(images), images[0].nbytes if len(images) else 0, dtype=np.int64)
    sizes = getattr(images, "sizes", None)
    if sizes is not None:
        return np.asarray(sizes, dtype=np.int64)
    return np.array([image.nbytes for image in images], dtype=np.int64)


def byte_batches(images: Images, budget: int | None = None, most: int | None = None) -> Iterator[slice]:
    """Consecutive slices covering ``images``, each at most ``budget`` pixel bytes (default BATCH_BYTES)
    and ``most`` images (default WRITE_BATCH), but never empty: an image larger than the budget comes alone.

    Equally shaped images of one array take no memory per image to split; others need their sizes.
    """
    budget, most = budget or BATCH_BYTES, most or WRITE_BATCH
    if isinstance(images, np.ndarray):
        per_image = max(1, images[0].nbytes) if len(images) else 1
        yield from batches(len(images), max(1, min(most, budget // per_image)))
        return
    ends = np.cumsum(image_sizes(images))
    start = 0
    while start < len(ends):
        before = ends[start - 1] if start else 0
        stop = int(np.searchsorted(ends, before + budget, side="right"))
        stop = min(max(stop, start + 1), start + most)
        yield slice(start, stop)
        start = stop


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
