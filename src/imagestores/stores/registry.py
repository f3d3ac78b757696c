"""The registry of storage methods: the one list the Snakefile, the tests and the report read.

Adding a method means one new module in this package and one ``Method`` entry below. Modules are imported
only when a method is used, so reading the registry stays cheap for every Snakemake job.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from imagestores.stores.base import MARKER, DamagedStore, Store, Traits, read_manifest

MethodSpec = str | Mapping[str, Any]
"""How the config names a method: a registered name, or ``{name, method, options}`` for a variant."""

STUDY_METHODS = ("disk", "lmdb", "hdf5")
"""The 2019 study's methods, faithful to it; the ``paper`` timing mode reproduces its way of timing them."""

FAMILIES = ("files", "key-value", "arrays", "tables", "shards")
"""Families group methods in tables and figures, in this order."""


@dataclass(frozen=True)
class Method:
    """A storage method as the pipeline uses it: a Store class, its options, and what it is.

    Registered methods and config variants alike: a variant is its base method under another name with
    other options (``base`` names the registered one), and carries its own traits (a JPEG variant is lossy).
    """

    name: str
    target: str
    """``module:Class`` of the Store subclass."""
    family: str
    summary: str
    """What it is and when to pick it, in one sentence (shown in the README and the report)."""
    options: Mapping[str, Any] = field(default_factory=dict)
    base: str = ""
    """The registered method this is a variant of; empty for a registered method."""

    def store_class(self) -> type[Store]:
        module, _, cls = self.target.partition(":")
        return getattr(importlib.import_module(module), cls)

    def store(self, path: Path | str) -> Store:
        store = self.store_class()(path, **self.options)
        store.method_name = self.name
        return store

    @cached_property
    def traits(self) -> Traits:
        """What this method holds and whether it is lossy, from its options; a bad option raises here."""
        return self.store_class().traits(**self.options)

    @property
    def unavailable(self) -> str:
        """Why this method cannot be used here (an optional library is missing), or an empty string."""
        return self.store_class().unavailable()

    @property
    def lossy(self) -> bool:
        """Whether read-back only approximates the written images (a lossy encoding)."""
        return self.traits.lossy

    def describe(self) -> dict[str, Any]:
        """One row of ``methods.csv``: everything the report needs to know of this method."""
        return {
            "method": self.name,
            "base": self.base or self.name,
            "family": self.family,
            "lossy": self.lossy,
            "holds": self.traits.holds,
            "options": json.dumps(dict(self.options), sort_keys=True),
            "summary": self.summary,
        }


_ENTRIES = (
    Method(
        "disk",
        "imagestores.stores.png_files:PngFiles",
        "files",
        "One PNG file per image plus a CSV of labels, as in the 2019 study: readable by any tool, "
        "but one file per image costs a file-system entry and a system call each.",
    ),
    Method(
        "lmdb",
        "imagestores.stores.pickled_lmdb:PickledLmdb",
        "key-value",
        "LMDB with one pickled image object per key in one write transaction, as in the 2019 study: "
        "a memory-mapped B-tree that reads keys fast, at the price of pickle.",
    ),
    Method(
        "hdf5",
        "imagestores.stores.hdf5_arrays:Hdf5Arrays",
        "arrays",
        "HDF5 with one uint8 dataset of all images and one of labels, as in the 2019 study: "
        "fast bulk reads of equally shaped images, one file, no per-image overhead.",
    ),
    Method(
        "chunks_seek",
        "imagestores.stores.chunks_seek:ChunkSeekStore",
        "shards",
        "Raw image records appended to 5 MB chunk files with an index of where each lies, read with one "
        "positioned read per run straight into the output: few files, any shape, fast random access.",
    ),
    Method(
        "chunks_mmap",
        "imagestores.stores.chunks_mmap:ChunkMmapStore",
        "shards",
        "The chunks_seek format read through memory maps of the chunk files instead of positioned reads: "
        "pick it to compare mapping against read calls on the same bytes.",
    ),
    Method(
        "npy",
        "imagestores.stores.npy_array:NpyArray",
        "arrays",
        "One raw .npy array of all images plus one of labels, read with positioned reads: the fastest "
        "baseline for equally shaped images, opened by any NumPy, but no compression and no mixed shapes.",
    ),
    Method(
        "lmdb_raw",
        "imagestores.stores.raw_lmdb:RawLmdb",
        "key-value",
        "LMDB with raw pixel bytes behind a small fixed header instead of pickle, written in batched "
        "transactions: a key-value store for images of any shape that reads single keys fast.",
    ),
    Method(
        "parquet",
        "imagestores.stores.parquet_table:ParquetTable",
        "tables",
        "One Parquet file with a row per image (bytes, label, shape, dtype) in ~3 MiB row groups: "
        "pick it to hand images to any data-frame or query tool; reading one image reads its row group.",
    ),
    Method(
        "lance",
        "imagestores.stores.lance_table:LanceTable",
        "tables",
        "A Lance dataset with a row per image (bytes, label, shape, dtype): a columnar table that, "
        "unlike Parquet, reads single rows, so pick it for random access from a queryable table.",
    ),
    Method(
        "zarr",
        "imagestores.stores.zarr_arrays:ZarrArrays",
        "arrays",
        "A Zarr v3 array, one uncompressed image per chunk in shard files of 1,000 images: cloud-ready "
        "chunked arrays that read any single image cheaply, but pay zarr's per-chunk cost on bulk reads.",
    ),
    Method(
        "zarr_batched",
        "imagestores.stores.zarr_arrays:ZarrArrays",
        "arrays",
        "The zarr array with 100 images per chunk: far faster bulk reads, while one image still reads "
        "and decodes its whole chunk; pick it when data is mostly read in order.",
        {"chunk": 100},
    ),
    Method(
        "webdataset",
        "imagestores.stores.webdataset_shards:WebDatasetShards",
        "shards",
        "WebDataset tar shards of 10,000 PNG + label samples with an offset index beside them: the "
        "format streaming training loaders read, and the index makes random reads a seek each.",
    ),
    Method(
        "hdf5_blobs",
        "imagestores.stores.hdf5_blobs:Hdf5Blobs",
        "arrays",
        "HDF5 with each image's encoded bytes (PNG) as its own small dataset in groups of 1,000, the "
        "Kaggle notebooks' layout: any shapes, browsable per image, but each image costs a dataset header.",
    ),
    Method(
        "hdf5_vlen",
        "imagestores.stores.hdf5_vlen:Hdf5Vlen",
        "arrays",
        "HDF5 with one variable-length dataset of all encoded images (PNG) beside label and shape "
        "datasets: any shapes in one file, without hdf5_blobs' per-image dataset headers and lookups.",
    ),
    Method(
        "hdf5_direct",
        "imagestores.stores.hdf5_direct:Hdf5Direct",
        "arrays",
        "The study's HDF5 file (one uint8 array of all images) read straight into the caller's buffer, "
        "one H5Dread per run of ids: pick it for equally shaped images when the data must be HDF5.",
    ),
    Method(
        "litdata",
        "imagestores.stores.litdata_chunks:LitDataChunks",
        "shards",
        "LitData's optimized chunk files of one sample (raw bytes, label, shape) per image, written by its "
        "BinaryWriter and read by its StreamingDataset, as Lightning users train from (loaders extra).",
    ),
    Method(
        "mds",
        "imagestores.stores.mds_shards:MdsShards",
        "shards",
        "MosaicML Streaming's MDS shards of one sample per image, written by its MDSWriter and read by its "
        "LocalDataset, as Composer users train from (requirements/mds.txt, and a working torchvision).",
    ),
    Method(
        "hf_datasets",
        "imagestores.stores.hf_datasets:HfDataset",
        "tables",
        "A Hugging Face datasets Arrow dataset (save_to_disk), a row per image, its bytes in an "
        "Image(decode=False) column, memory-mapped by load_from_disk, read by Arrow gathers (formats extra).",
    ),
    Method(
        "tfrecord",
        "imagestores.stores.tfrecord_files:TFRecordFiles",
        "shards",
        "TFRecord files of one tf.train.Example per image with the tfrecord package's offset index: TFRecord "
        "has no random access of its own, so random reads seek through that index (formats extra).",
    ),
    Method(
        "array_record",
        "imagestores.stores.array_record_files:ArrayRecordFiles",
        "shards",
        "ArrayRecord files of one packed sample per record, a chunk per record (group_size:1) as TFDS and "
        "Grain write them, read in batches by its ArrayRecordDataSource: random access by id (formats extra)",
    ),
    Method(
        "sqlite",
        "imagestores.stores.sqlite_blobs:SqliteBlobs",
        "key-value",
        "SQLite with one table of raw image BLOBs, label and shape columns, 16 KiB pages: one portable "
        "file any language can query, read in batches by id ranges and IN lists; fast random reads.",
    ),
)

METHODS: dict[str, Method] = {method.name: method for method in _ENTRIES}


def register(method: Method) -> Method:
    """Add ``method`` to the registry (a method defined outside ``_ENTRIES``: a test's toy, a plugin).

    The registry's own methods are its ``_ENTRIES``; this is for code that cannot edit them.
    """
    if method.name in METHODS:
        raise ValueError(f"a method named {method.name!r} is already registered")
    METHODS[method.name] = method
    return method


EXTRA_METHODS = "IMAGESTORES_METHODS"
"""An environment variable naming methods defined outside this package, so that every process of a run
(Snakemake's, each job's, each loader worker's) registers them as it imports ``imagestores.stores``:
comma-separated entries, each a ``module`` whose import registers its methods or ``module:function``,
called with no arguments (``register_named``)."""


def register_named(entries: str) -> None:
    """Import each ``module`` or call each ``module:function`` of ``entries`` (``EXTRA_METHODS``'s form)."""
    for entry in filter(None, (part.strip() for part in entries.split(","))):
        module, _, function = entry.partition(":")
        loaded = importlib.import_module(module)
        if function:
            getattr(loaded, function)()


def unregister(name: str) -> None:
    """Remove a method ``register`` added; the registry's own entries stay."""
    if any(entry.name == name for entry in _ENTRIES):
        raise ValueError(f"{name!r} is one of the registry's own methods")
    METHODS.pop(name, None)


def get(name: str) -> Method:
    """The method called ``name``, or a KeyError that lists the available ones."""
    try:
        return METHODS[name]
    except KeyError:
        raise KeyError(f"unknown storage method {name!r}; available: {', '.join(METHODS)}") from None


def resolve(spec: MethodSpec) -> Method:
    """The method a config entry names: a registered one, or a variant of one with other options.

    A variant ``{"name": "parquet_jpeg", "method": "parquet", "options": {"encoding": "jpeg"}}`` is
    the registered method under a new name, its options updated; the store checks the options when built.
    """
    if isinstance(spec, str):
        return get(spec)
    base = get(spec["method"])
    options = {**base.options, **spec.get("options", {})}
    return replace(base, name=spec["name"], options=options, base=base.name)


def stored(path: Path | str) -> Store:
    """The Store at ``path``, rebuilt from its manifest (class and options): no config needed to read it.

    Only this package's store classes and registered methods' are rebuilt, so a marker cannot make this
    import other code.
    """
    path = Path(path)
    manifest = read_manifest(path)
    target = manifest.get("target")
    if not isinstance(target, str):
        raise DamagedStore(
            f"{path / MARKER} names no store class: the store was written by an older imagestores, before "
            "stores recorded how to read them; write it again"
        )
    module, _, name = target.partition(":")
    registered = {method.target for method in METHODS.values()}
    if not module.startswith(f"{__package__}.") and target not in registered:
        raise DamagedStore(f"{path / MARKER} names {target!r}, which is not an imagestores store")
    cls = getattr(importlib.import_module(module), name, None)
    if not (isinstance(cls, type) and issubclass(cls, Store)):
        raise DamagedStore(f"{path / MARKER} names {target!r}, which is not an imagestores store")
    store = cls(path, **manifest.get("options", {}))
    store.method_name = manifest.get("method") or ""
    return store


def name_of(spec: MethodSpec) -> str:
    return spec if isinstance(spec, str) else spec["name"]
