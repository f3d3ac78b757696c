"""Measure how to store lots of images: every storage method, on your data and your hardware.

``open_store(path)`` reads any store the pipeline built as a map-style dataset (``imagestores.loading``).
"""

from imagestores.loading import StoreDataset, open_store

__all__ = ["StoreDataset", "open_store"]
