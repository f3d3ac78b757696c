"""The configuration, checked before any job starts: against the schema, then what a schema cannot say.

``validate`` is what the Snakefile runs and what the tests call in-process: values typed on the command
line are first read as the schema's types (``--config 'cutoffs=[10,100]'`` hands Snakemake the strings
``'10'`` and ``'100'``), then the schema fills defaults and checks types, then ``check`` looks at methods
and cutoffs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any

import yaml

from imagestores.data.cifar10 import CIFAR10_TRAIN_SIZE
from imagestores.stores import METHODS, MethodSpec, name_of, resolve
from imagestores.stores.where import Where

TWIN_SUFFIX = "_twin"
"""An A/A twin is its method under this suffix: same code and options, another name, its own jobs."""


class ConfigError(ValueError):
    """The configuration is wrong; the message names the key and how to fix it."""


def validate(config: MutableMapping[str, Any], schema_path: Path | str) -> None:
    """Coerce command-line strings, fill defaults and check ``config`` in place; raise naming the key."""
    from snakemake.utils import validate as validate_schema  # Snakemake is heavy; only this needs it

    schema = yaml.safe_load(Path(schema_path).read_text())
    coerce(config, schema)
    validate_schema(config, schema=str(schema_path), set_default=True)
    check(config)


INTEGER = re.compile(r"[+-]?\d+")
BOOLEANS = {"true": True, "false": False}


def coerce(value: Any, schema: Mapping[str, Any]) -> Any:
    """``value`` with strings read as the numbers or booleans ``schema`` wants; mappings change in place.

    Only strings that spell a value of the wanted type exactly are converted: anything else is left for
    the schema to reject with its own message.
    """
    for alternative in (*schema.get("oneOf", ()), *schema.get("anyOf", ())):
        converted = coerce(value, alternative)
        if converted is not value:
            return converted
    kind = schema.get("type")
    if isinstance(value, str):
        text = value.strip()
        if kind == "integer" and INTEGER.fullmatch(text):
            return int(text)
        if kind == "number":
            try:
                return float(text)
            except ValueError:
                return value
        if kind == "boolean" and text.lower() in BOOLEANS:
            return BOOLEANS[text.lower()]
        return value
    if isinstance(value, list) and "items" in schema:
        return [coerce(item, schema["items"]) for item in value]
    if isinstance(value, MutableMapping):
        for key, sub_schema in schema.get("properties", {}).items():
            if key in value:
                value[key] = coerce(value[key], sub_schema)
    return value


def check(config: Mapping[str, Any]) -> None:
    """Raise ConfigError for unknown methods, bad options or cutoffs beyond the dataset."""
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
            method.traits  # noqa: B018 - reading the traits checks the options
        except (TypeError, ValueError) as problem:
            raise ConfigError(f"config key 'methods', entry {method.name!r}: {problem}") from None
    absent = sorted(set(config["aa_twins"]) - set(names))
    if absent:
        raise ConfigError(
            f"config key 'aa_twins': {', '.join(absent)} not in 'methods'; a twin copies a configured method"
        )
    clashes = sorted(set(twins(config)) & set(names))
    if clashes:
        raise ConfigError(
            f"config key 'aa_twins': the twin name(s) {', '.join(clashes)} are taken in 'methods'"
        )
    dataset = config["dataset"]
    check_filter(config.get("filter"), dataset["source"])
    if dataset["source"] == "folder" and not dataset.get("path"):
        raise ConfigError(
            "config key 'dataset.path': the folder source needs the folder of your images, "
            "e.g. 'dataset.path: /data/my-images'"
        )
    size = dataset["size"]
    if size == "all":
        if dataset["source"] == "folder":
            return  # how many images a folder holds is known once it is read: the data stage checks
        size = CIFAR10_TRAIN_SIZE
    too_large = [cutoff for cutoff in config["cutoffs"] if cutoff > size]
    if too_large:
        raise ConfigError(
            f"config key 'cutoffs': {', '.join(map(str, too_large))} exceed dataset.size ({dataset['size']}, "
            f"{size:,} images); lower the cutoffs or raise dataset.size"
        )


def check_filter(configured: Mapping[str, Any] | None, source: str) -> None:
    """Raise ConfigError for a filter no store can answer: a bad value, or a metadata column without one."""
    if not configured:
        return
    try:
        where = Where(**configured)
    except ValueError as problem:
        raise ConfigError(f"config key 'filter': {problem}") from None
    if not where.on_label and source != "folder":
        raise ConfigError(
            f"config key 'filter': {source} images have labels and no metadata table, so only "
            f"'column: label' can be filtered on, not {where.column!r}"
        )


def twins(config: Mapping[str, Any]) -> dict[str, str]:
    """Each A/A twin's name and the method it copies (config key ``aa_twins``)."""
    return {f"{name}{TWIN_SUFFIX}": name for name in config["aa_twins"]}


def with_twins(config: Mapping[str, Any]) -> list[MethodSpec]:
    """Every configured method, then an A/A twin of each in ``aa_twins``: its entry under another name.

    The twin runs the same code with the same options in jobs of its own, so any difference the verdicts
    find between a method and its twin is noise, order or machine state, never the method.
    """
    specs = {name_of(spec): spec for spec in config["methods"]}
    copies = [
        {
            "name": twin,
            "method": resolve(specs[name]).base or name,
            "options": dict(resolve(specs[name]).options),
        }
        for twin, name in twins(config).items()
    ]
    return [*config["methods"], *copies]
