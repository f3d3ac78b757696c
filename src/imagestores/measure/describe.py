"""The ``describe_methods`` job: ``methods.csv``, every configured method as the report needs to know it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from imagestores.stores import MethodSpec, resolve

DESCRIPTION_COLUMNS = ["method", "base", "family", "lossy", "holds", "options", "summary"]


def describe_methods(specs: Sequence[MethodSpec], out: Path) -> None:
    """``methods.csv``: every configured method, variants included, as the report needs to know it."""
    rows = [resolve(spec).describe() for spec in specs]
    pd.DataFrame(rows, columns=DESCRIPTION_COLUMNS).to_csv(out, index=False)
