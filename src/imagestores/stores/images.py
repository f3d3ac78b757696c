"""What a store is given: images (an array, a list, or a folder's lazy sequence) and what comes with them.

Images come as a ``Sequence[np.ndarray]``: an (N, H, W, C) array (possibly memory-mapped, so a store must
stream it in batches and never materialise all of it), a list of arrays of differing shapes, or the data
stage's lazy sequence of a folder's images. A folder's images also carry each file's own bytes
(``images.originals``) and a metadata table (``images.metadata``, a pyarrow Table).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from imagestores.stores.errors import UnsupportedInput

if TYPE_CHECKING:
    import pyarrow as pa

Images = Sequence[np.ndarray]
"""An (N, H, W, C) array or a list of N arrays; element i is image i."""


def check_labels(images: Images, labels: np.ndarray) -> None:
    """Refuse labels that are not one integer per image, before anything is written."""
    if labels.ndim != 1 or len(labels) != len(images):
        raise UnsupportedInput(
            f"labels must be one per image: {len(images)} images but labels of shape {labels.shape}"
        )
    if labels.dtype.kind not in "iu":
        raise UnsupportedInput(f"labels must be integers, not {labels.dtype}")


def each_image(images: Images) -> Iterator[np.ndarray]:
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
