"""Checks of the configuration that a JSON schema cannot express, run before any job starts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from imagestores.stores import METHODS, name_of, resolve


class ConfigError(ValueError):
    """The configuration is wrong; the message names the key and how to fix it."""


def check(config: Mapping[str, Any]) -> None:
    """Raise ConfigError for unknown methods or cutoffs beyond the dataset (the schema checked types)."""
    specs = config["methods"]
    unknown = [spec if isinstance(spec, str) else spec["method"] for spec in specs]
    unknown = [name for name in unknown if name not in METHODS]
    if unknown:
        raise ConfigError(
            f"config key 'methods': unknown method(s) {', '.join(map(repr, unknown))}; "
            f"choose from {', '.join(METHODS)}"
        )
    names = [name_of(spec) for spec in specs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ConfigError(f"config key 'methods': the name(s) {', '.join(repeated)} appear more than once")
    for spec in specs:
        method = resolve(spec)
        try:
            method.store("unused")
        except (TypeError, ValueError) as problem:
            raise ConfigError(f"config key 'methods', entry {method.name!r}: {problem}") from None
    size = config["dataset"]["size"]
    too_large = [cutoff for cutoff in config["cutoffs"] if cutoff > size]
    if too_large:
        raise ConfigError(
            f"config key 'cutoffs': {', '.join(map(str, too_large))} exceed dataset.size ({size}); "
            "lower the cutoffs or raise dataset.size"
        )
