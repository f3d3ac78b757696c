"""The configuration, checked before any job starts: against the schema, then what a schema cannot say.

``validate`` is what the Snakefile runs and what the tests call in-process: values typed on the command
line are first read as the schema's types (``--config 'cutoffs=[10,100]'`` hands Snakemake the strings
``'10'`` and ``'100'``), then the schema fills defaults and checks types, then ``check`` looks at methods
and cutoffs.
"""

from __future__ import annotations

import re
import types
import typing
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


def validate(config: MutableMapping[str, Any], schema_path: Path | str) -> list[str]:
    """Coerce command-line strings, fill defaults and check ``config`` in place; raise naming the key.

    Returns notes for the log: what was left out of a config that is still good (``check``).
    """
    from snakemake.utils import validate as validate_schema  # Snakemake is heavy; only this needs it

    schema = yaml.safe_load(Path(schema_path).read_text())
    coerce(config, schema)
    validate_schema(config, schema=str(schema_path), set_default=True)
    coerce_method_options(config["methods"])
    return check(config)


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
    if isinstance(kind, list) and isinstance(value, str) and "null" in kind and value.strip() in NULLS:
        return None  # ``metadata: null`` on the command line
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


TYPE_NAMES = {int: "an integer", float: "a number", bool: "a boolean (true or false)", str: "a string"}
NULLS = {"null", "~", "none"}


def coerce_method_options(specs: list[MethodSpec]) -> None:
    """Read each variant's options as the types its store declares (``Store.declared_options``), in place.

    The schema cannot know a method's options, so ``--config 'methods=[{..., options: {quality: 90}}]'``
    hands the store the string ``'90'``; a value of the wrong type is refused here, naming the key and the
    type it wants, never left for a comparison inside the store to fail on.
    """
    for spec in specs:
        if isinstance(spec, str) or spec.get("method") not in METHODS:
            continue  # an unknown method is named by ``check``
        options = spec.get("options") or {}
        declared = resolve(spec).store_class().declared_options()
        for key, value in options.items():
            if key in declared:
                options[key] = option_value(
                    value, declared[key], f"'methods', entry {spec['name']!r}, option {key!r}"
                )


def option_value(value: Any, wanted: Any, where: str) -> Any:
    """``value`` as the declared type ``wanted`` (a type or a union), else ConfigError naming ``where``."""
    kinds = typing.get_args(wanted) if isinstance(wanted, types.UnionType) else (wanted,)
    if object in kinds:
        return value
    if isinstance(value, str) and str not in kinds:
        text = value.strip()
        if type(None) in kinds and text.lower() in NULLS:
            return None
        if bool in kinds and text.lower() in BOOLEANS:
            return BOOLEANS[text.lower()]
        if int in kinds and INTEGER.fullmatch(text):
            return int(text)
        if float in kinds:
            try:
                return float(text)
            except ValueError:
                pass
    fits = any(
        (kind is type(None) and value is None)
        or (kind is float and isinstance(value, int | float) and not isinstance(value, bool))
        or (kind is int and isinstance(value, int) and not isinstance(value, bool))
        or (kind in (bool, str) and isinstance(value, kind))
        for kind in kinds
    )
    if not fits:
        wants = " or ".join(
            "null" if kind is type(None) else TYPE_NAMES.get(kind, kind.__name__) for kind in kinds
        )
        raise ConfigError(f"config key {where}: {value!r} is not {wants}; give {wants}")
    return value


def check(config: MutableMapping[str, Any]) -> list[str]:
    """Raise ConfigError for unknown methods, bad options or cutoffs beyond the dataset; return notes.

    Narrowing ``methods`` needs no edit of ``aa_twins``: a twin of a method not configured is left out
    (``aa_twins`` is changed in place), with a note.
    """
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
        if isinstance(spec, str):
            continue  # a registered method's own options are checked by the tests, not on every parse
        method = resolve(spec)
        try:
            method.traits  # noqa: B018 - reading the traits checks the options
        except (TypeError, ValueError) as problem:
            raise ConfigError(f"config key 'methods', entry {method.name!r}: {problem}") from None
    notes = []
    absent = [name for name in config["aa_twins"] if name not in names]
    if absent:
        config["aa_twins"] = [name for name in config["aa_twins"] if name in names]
        notes.append(
            f"config key 'aa_twins': {', '.join(absent)} not in 'methods', so no twin of "
            f"{'it' if len(absent) == 1 else 'them'} is measured (a twin copies a configured method)"
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
            return notes  # how many images a folder holds is known once it is read: the data stage checks
        size = CIFAR10_TRAIN_SIZE
    too_large = [cutoff for cutoff in config["cutoffs"] if cutoff > size]
    if too_large:
        raise ConfigError(
            f"config key 'cutoffs': {', '.join(map(str, too_large))} exceed dataset.size ({dataset['size']}, "
            f"{size:,} images); lower the cutoffs or raise dataset.size"
        )
    return notes


def check_filter(configured: MutableMapping[str, Any] | None, source: str) -> None:
    """Raise ConfigError for a filter no store can answer: a bad value, or a metadata column without one."""
    if not configured:
        return
    value = configured.get("value")
    if configured.get("column", "label") == "label" and isinstance(value, str) and INTEGER.fullmatch(value):
        configured["value"] = int(value)  # labels are integers; the command line hands over '3'
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
