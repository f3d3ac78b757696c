"""What every storage method shares, gathered under one name so ``from imagestores.stores.base import X``
keeps working. Each part lives in a small module named for what it holds:

- ``store``: the ``Store`` interface and its ``Traits``; ``reader``: ``Reader``, ids and filtered reads;
- ``encoded``: ``EncodedStore``, the stores of encoded bytes; ``codecs`` and ``dtypes``: encodings;
- ``manifest``: this package's files in a store (completion marker, shapes, label index);
- ``images``: what a store is given; ``batching``: byte-bounded batches and runs of ids.

Importing this module imports no image or format library (no Pillow, pyarrow, tifffile) except through
``encoded``, which only store modules need; ``where`` (the filter) imports pyarrow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from imagestores.stores.batching import (
    BATCH_BYTES,
    WRITE_BATCH,
    batches,
    byte_batches,
    image_sizes,
    put_block,
    runs,
)
from imagestores.stores.errors import DamagedStore, IncompleteStore, MissingLibrary, UnsupportedInput
from imagestores.stores.images import Images, check_labels, image_path, metadata_names, metadata_of
from imagestores.stores.manifest import (
    LABEL_INDEX,
    MARKER,
    MARKER_BYTES,
    METADATA,
    PACKAGE_FILES,
    SHAPE_DTYPE,
    SHAPES,
    WRITING_SUFFIX,
    layout_of,
    read_manifest,
    shapes_of,
    written_count,
)
from imagestores.stores.reader import Buffers, Reader, check_ids
from imagestores.stores.store import Store, Traits

if TYPE_CHECKING:
    from imagestores.stores.encoded import EncodedStore, raw_records, raw_target
    from imagestores.stores.where import Where

__all__ = [
    "BATCH_BYTES",
    "LABEL_INDEX",
    "MARKER",
    "MARKER_BYTES",
    "METADATA",
    "PACKAGE_FILES",
    "SHAPES",
    "SHAPE_DTYPE",
    "WRITE_BATCH",
    "WRITING_SUFFIX",
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
    "image_path",
    "image_sizes",
    "layout_of",
    "metadata_names",
    "metadata_of",
    "put_block",
    "raw_records",
    "raw_target",
    "read_manifest",
    "runs",
    "shapes_of",
    "written_count",
]

_LAZY = {
    "EncodedStore": "imagestores.stores.encoded",
    "raw_records": "imagestores.stores.encoded",
    "raw_target": "imagestores.stores.encoded",
    "Where": "imagestores.stores.where",
}
"""Names whose modules import Pillow, tifffile or pyarrow: imported when first asked for."""


def __getattr__(name: str) -> Any:
    """``EncodedStore`` and ``Where``, imported on first use so reading the registry stays cheap."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
