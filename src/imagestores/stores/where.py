"""Which images a filtered read wants: one column equal to one value (``Where``).

The column is ``label`` (every store keeps one) or a column of the images' metadata table (a folder's,
kept as columns by the table stores and as ``metadata.parquet`` beside the others). One predicate, so
that every store can answer it with what it offers: Lance and SQLite evaluate it themselves, Parquet
skips row groups by their statistics, and the others look the ids up in an index beside their data
(``Reader.read_where``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

LABEL = "label"
"""The column every store has: the image's integer label."""


@dataclass(frozen=True)
class Where:
    """Images whose ``column`` equals ``value``: ``Where("label", 3)``, ``Where("category", "shoes")``."""

    column: str = LABEL
    value: int | float | str | bool = 0

    def __post_init__(self) -> None:
        if not isinstance(self.column, str) or not self.column:
            raise ValueError(f"a filter's column must be a column name, not {self.column!r}")
        if not isinstance(self.value, int | float | str | bool):
            raise ValueError(
                f"a filter's value must be a number, a string or a boolean, not {type(self.value).__name__}"
            )
        if self.on_label and (isinstance(self.value, bool) or not isinstance(self.value, int)):
            raise ValueError(f"labels are integers: filter on label {self.value!r} matches nothing; give one")

    @property
    def on_label(self) -> bool:
        return self.column == LABEL

    def check_type(self, kind: pa.DataType) -> None:
        """Raise ValueError unless the value compares with a column of Arrow type ``kind``."""
        numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind)
        text = pa.types.is_string(kind) or pa.types.is_large_string(kind)
        fits = (
            (numeric and isinstance(self.value, int | float) and not isinstance(self.value, bool))
            or (text and isinstance(self.value, str))
            or (pa.types.is_boolean(kind) and isinstance(self.value, bool))
        )
        if not fits:
            raise ValueError(
                f"filter {self}: {self.value!r} cannot be compared with column {self.column!r} of type "
                f"{kind}; give a value of that type"
            )

    def matches(self, values: np.ndarray | pa.Array | pa.ChunkedArray) -> np.ndarray:
        """Ids (positions) of ``values`` equal to ``value``, increasing; nulls never match."""
        if isinstance(values, np.ndarray):
            return np.flatnonzero(values == self.value)
        self.check_type(values.type)
        equal = pc.equal(values, pa.scalar(self.value))
        return np.flatnonzero(pc.fill_null(equal, False).to_numpy(zero_copy_only=False))

    def select(self, labels: np.ndarray, metadata: pa.Table | None) -> np.ndarray:
        """The ids matching among images with ``labels`` and ``metadata`` (one row per image)."""
        if self.on_label:
            return self.matches(np.asarray(labels))
        return self.matches(metadata_column(metadata, self.column))

    def __str__(self) -> str:
        return f"{self.column} == {self.value!r}"


def metadata_column(metadata: pa.Table | None, column: str) -> pa.ChunkedArray:
    """Column ``column`` of the images' metadata table, or why there is none."""
    if metadata is None:
        raise ValueError(
            f"cannot filter on {column!r}: these images have no metadata table (only a folder source with "
            "`dataset.metadata` has one); filter on `label`"
        )
    if column not in metadata.column_names:
        raise no_column(column, metadata.column_names)
    return metadata.column(column)


def no_column(column: str, metadata_columns: Sequence[str]) -> ValueError:
    """The error for a filter on a column the store's metadata does not have, naming those it has."""
    return ValueError(
        f"cannot filter on {column!r}: the metadata has no such column; "
        + (f"it has {', '.join(metadata_columns)}" if metadata_columns else "there is none: filter on label")
    )
