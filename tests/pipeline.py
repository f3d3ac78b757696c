"""What the tests that run the whole pipeline share: the repository, a tiny configuration, the cases."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
TEST_CONFIGS = REPO / ".test" / "config"

CASES = [("store_many", "none"), ("store_one", "none")]
CASES += [(read, cache) for read in ("read_many", "read_one", "read_random") for cache in ("warm", "cold")]
"""Every (operation, cache) a store is timed in with the default caches."""


def versioned_config(name: str = "config", **changes: Any) -> dict[str, Any]:
    """The versioned test configuration ``.test/config/{name}.yaml`` with top-level keys replaced."""
    return yaml.safe_load((TEST_CONFIGS / f"{name}.yaml").read_text()) | changes


def tiny_config(**changes: Any) -> dict[str, Any]:
    """A configuration that runs in seconds: 60 synthetic images, two cutoffs, the study's three methods."""
    return versioned_config("study", **changes)


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
