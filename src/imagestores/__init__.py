"""Measure how to store lots of images: every storage method, on your data and your hardware.

``open_store(path)`` reads any store the pipeline built as a map-style dataset (``imagestores.loading``),
imported on first use so that the Snakefile's imports of the small modules stay cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from imagestores.loading import StoreDataset, open_store

__all__ = ["StoreDataset", "open_store"]


def __getattr__(name: str) -> Any:
    """``open_store`` and ``StoreDataset``, from ``imagestores.loading`` when first asked for."""
    if name in __all__:
        from imagestores import loading

        return getattr(loading, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
