"""Stage 2, stores: every storage method behind one small interface, and the registry that lists them.

- ``base``: the interface (``Store.write``, ``Store.open``, ``Reader.read_into``) and what stores share
  about checking input and walking ids; ``codecs``: the encodings of stores of bytes; ``errors``.
- ``registry``: the methods, their families and summaries; ``resolve`` turns a config entry into a Method.
- one public module per method, named for what it holds (``png_files``, ``pickled_lmdb``, ...), never
  after the library it wraps;
- private modules ``_files``, ``_lmdb``, ``_hdf5``, ``_tables``, ``_chunk_files``: helpers that several
  methods of one format share, one module per format so that a store imports only its own library;
  ``_sample_shards``: what the training loaders' formats (``litdata_chunks``, ``mds_shards``) share. Their
  libraries are optional (``Store.unavailable``) and imported only when a store is written or read.

Methods defined elsewhere are registered as this package is imported when ``IMAGESTORES_METHODS`` names
them (``registry.EXTRA_METHODS``).

May import numpy, the formats' libraries and the standard library; nothing from ``measure`` or ``report``.
"""

import os

from imagestores.stores import registry
from imagestores.stores.base import (
    DamagedStore,
    IncompleteStore,
    MissingLibrary,
    Reader,
    Store,
    Traits,
    UnsupportedInput,
)
from imagestores.stores.registry import (
    FAMILIES,
    METHODS,
    STUDY_METHODS,
    Method,
    MethodSpec,
    get,
    name_of,
    resolve,
)

__all__ = [
    "FAMILIES",
    "METHODS",
    "STUDY_METHODS",
    "DamagedStore",
    "IncompleteStore",
    "Method",
    "MethodSpec",
    "MissingLibrary",
    "Reader",
    "Store",
    "Traits",
    "UnsupportedInput",
    "get",
    "name_of",
    "resolve",
]

# Last: the modules it names import this package.
registry.register_named(os.environ.get(registry.EXTRA_METHODS, ""))
