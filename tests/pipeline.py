"""What the tests that run the whole pipeline share: the repository, a tiny configuration, the cases."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from imagestores import operations
from imagestores.measure import epoch
from imagestores.measure.sampling import LEFT_RACE, STOP_REASONS

REPO = Path(__file__).resolve().parents[1]
TEST_CONFIGS = REPO / ".test" / "config"

CASES = list(operations.CASES)
"""Every (operation, cache) a store is timed in with the default caches, the epoch aside."""
EPOCH_CASES = [
    (operation, cache)
    for workers in (0, 2)
    for operation in (operations.with_workers(op.name, workers) for op in operations.TABLE if op.per_worker)
    for cache in ("warm", "cold")
]
"""The epoch's (operation, cache) cases with the default workers; timed only with the loaders extra."""
TIMED_CASES = CASES + ([] if epoch.unavailable() else EPOCH_CASES)
"""Every (operation, cache) a store is timed in here, at a cutoff that times epochs."""
SCHEMA = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())


def timed_cases(config: dict[str, Any], cutoff: int) -> list[tuple[str, str]]:
    """The (operation, cache) cases of ``cutoff`` in a run of ``config``: epochs only at the cutoffs that
    time them (``loader.min_images``, schema default unless the config sets it)."""
    default = SCHEMA["properties"]["loader"]["properties"]["min_images"]["default"]
    min_images = config.get("loader", {}).get("min_images", default)
    return TIMED_CASES if cutoff in epoch.timed_cutoffs(config["cutoffs"], min_images) else CASES


def sampling_bounds(config: dict[str, Any], deciding: bool = False) -> tuple[int, int]:
    """The fewest and most samples of a case in a run of ``config`` (schema defaults where it is silent);
    ``deciding``: in the head-to-head job, whose bound is ``verdicts.max_samples``."""
    group = "verdicts" if deciding else "timing"
    timing = config.get("timing", {})
    fewest = timing.get("min_samples", SCHEMA["properties"]["timing"]["properties"]["min_samples"]["default"])
    most = config.get(group, {}).get(
        "max_samples", SCHEMA["properties"][group]["properties"]["max_samples"]["default"]
    )
    return fewest, most


def assert_sampled_as_configured(timings: pd.DataFrame, config: dict[str, Any]) -> None:
    """Every case says why it stopped; it took at most its most samples, and at least its fewest unless it
    left its race (at least one then: its samples stand)."""
    fewest, most = sampling_bounds(config)
    keys = ["method", "cutoff", "operation", "cache"]
    cases = timings.groupby(keys).agg(samples=("seconds", "size"), stopped=("stopped", "first"))
    assert cases["stopped"].isin(STOP_REASONS).all(), set(cases["stopped"])
    largest = (cases.index.get_level_values("cutoff") == max(config["cutoffs"])).astype(bool)
    bound = pd.Series(most, index=cases.index).where(~largest, sampling_bounds(config, deciding=True)[1])
    assert (cases["samples"] <= bound).all()
    left = cases["stopped"] == LEFT_RACE
    assert (cases.loc[~left, "samples"] >= fewest).all() and (cases.loc[left, "samples"] >= 1).all()
    assert not (left & ~largest).any(), "only the head-to-head job races methods"


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
