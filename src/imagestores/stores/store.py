"""The interface every storage method implements: ``Store`` (check, write, open) and its ``Traits``.

A store lives in its own directory. ``Store.write`` creates it from images 0..n-1 and their labels;
``Store.open`` returns a ``Reader`` (``stores.reader``) whose ``read_into`` fills caller-allocated
buffers. Input is checked before anything is written; a store is written under a temporary name, gets its
completion marker (``stores.manifest``) last and is then renamed into place, so a killed write never
leaves a store that looks whole. Imports no format library: the registry reads it at parse time.
"""

from __future__ import annotations

import inspect
import json
import shutil
import typing
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np

from imagestores.stores.dtypes import NUMERIC_DTYPES, describe_dtypes
from imagestores.stores.errors import DamagedStore, MissingLibrary, UnsupportedInput
from imagestores.stores.images import Images, check_labels, each_image, image_path, metadata_of
from imagestores.stores.manifest import (
    LABEL_INDEX,
    MARKER,
    MARKER_BYTES,
    METADATA,
    SHAPES,
    WRITING_SUFFIX,
    layout_of,
    shapes_of,
    written_count,
)

if TYPE_CHECKING:
    from imagestores.stores.reader import Reader


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
        return Traits(
            lossy=configured.lossy,
            fixed_shape=cls.fixed_shape,
            dtypes=configured.dtypes,
            encoding=getattr(getattr(configured, "codec", None), "label", ""),
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
        for index, image in enumerate(each_image(images)):
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
                import pyarrow.parquet as pq  # a folder's metadata is a pyarrow Table already

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
