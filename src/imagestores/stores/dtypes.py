"""Pixel types a store holds, and how tables and refusals name a set of them. Imports only NumPy."""

from __future__ import annotations

import numpy as np

NUMERIC_DTYPES: frozenset[np.dtype] = frozenset(
    np.dtype(name)
    for name in (
        "bool",
        *(f"{sign}int{bits}" for sign in ("", "u") for bits in (8, 16, 32, 64)),
        "float16",
        "float32",
        "float64",
    )
)
"""Every fixed-size numeric dtype NumPy has: what a store of raw bytes beside their dtype and shape holds
exactly (float TIFFs, int32 masks and 16-bit scans are ordinary images)."""


def describe_dtypes(dtypes: frozenset[np.dtype]) -> str:
    """A set of dtypes in a few words, for tables and refusals: the full numeric set is not listed."""
    if dtypes == NUMERIC_DTYPES:
        return "any numeric dtype"
    return ", ".join(sorted(str(dtype) for dtype in dtypes))
