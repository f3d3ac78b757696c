"""What the tests that run the whole pipeline share: the repository, a tiny configuration, the cases."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

CASES = [("store_many", "none"), ("store_one", "none")]
CASES += [(read, cache) for read in ("read_many", "read_one", "read_random") for cache in ("warm", "cold")]
"""Every (operation, cache) a store is timed in with the default caches."""


def tiny_config(**changes: Any) -> dict[str, Any]:
    """A configuration that runs in seconds: 60 synthetic images, two cutoffs, the study's three methods."""
    config = {
        "dataset": {"source": "synthetic", "size": 60, "seed": 1},
        "cutoffs": [10, 40],
        "methods": ["disk", "lmdb", "hdf5"],
        "repeats": 2,
        "random_reads": 20,
    }
    return config | changes


def snakemake_command(config_file: Path | str, *args: str) -> list[str]:
    """Snakemake on the repository's workflow with ``config_file``, as a user runs it."""
    snakefile = str(REPO / "Snakefile")
    return [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        snakefile,
        "--configfile",
        str(config_file),
        *args,
    ]
