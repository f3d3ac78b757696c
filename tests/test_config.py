"""Bad configurations are refused before any job, naming the key; command-line strings become numbers.

Checked in-process against the schema and ``config.check``, exactly as the Snakefile checks them;
tests/test_workflow.py keeps one end-to-end case.
"""

from __future__ import annotations

import copy
import re

import pytest
import yaml
from pipeline import REPO, versioned_config
from snakemake.exceptions import WorkflowError

from imagestores.config import ConfigError, coerce, validate

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


def checked(config: dict) -> dict:
    config = copy.deepcopy(config)
    validate(config, SCHEMA)
    return config


def test_the_shipped_and_test_configs_are_valid():
    for path in [*(REPO / "config").glob("*.yaml"), *(REPO / ".test" / "config").glob("*.yaml")]:
        checked(yaml.safe_load(path.read_text()))


def test_missing_keys_get_the_schema_defaults():
    config = checked({"dataset": {"source": "synthetic", "size": 100}, "cutoffs": [10]})
    assert config["caches"] == ["warm", "cold"] and config["stores"]["keep"]
    assert config["timing"]["precision"] == 0.05 and config["timing"]["min_samples"] == 3
    assert config["verdicts"]["min_samples"] == 3 and config["verdicts"]["min_ratio"] == 1.1
    assert config["aa_twins"] == []


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"cutoffs": [-5, 10]}, "cutoffs"),
        ({"cutoffs": [10, 100]}, "cutoffs"),
        ({"methods": ["disk", "floppy"]}, "methods"),
        ({"methods": [{"name": "gif", "method": "parquet", "options": {"encoding": "gif"}}]}, "methods"),
        ({"methods": [{"name": "z", "method": "zarr", "options": {"chunk": 3, "shard": 10}}]}, "methods"),
        ({"methods": ["disk", "disk"]}, "methods"),
        ({"timing": {"min_samples": "three"}}, "min_samples"),
        ({"dataset": {"source": "imagenet"}}, "source"),
        ({"dataset": {"size": 0}}, "size"),
        (
            {"aa_twins": ["npy"], "methods": ["npy", {"name": "npy_twin", "method": "npy"}]},
            "aa_twins",
        ),
        ({"timing": {"precision": 0}}, "precision"),
        ({"repeats": 5}, "repeats"),
    ],
)
def test_a_bad_config_is_refused_naming_the_key(change, key):
    with pytest.raises((ConfigError, WorkflowError)) as refused:
        checked(versioned_config() | change)
    assert key in str(refused.value)


def test_numbers_and_booleans_typed_as_strings_are_read_as_such():
    config = versioned_config() | {"cutoffs": ["10", "20"], "paper": "false"}
    config["dataset"] = config["dataset"] | {"size": "50"}
    config["timing"] = {"min_samples": "2", "max_seconds": "0.5"}
    config = checked(config)
    assert config["cutoffs"] == [10, 20] and config["paper"] is False
    assert config["timing"]["min_samples"] == 2 and config["timing"]["max_seconds"] == 0.5
    assert config["dataset"]["size"] == 50


def test_only_strings_that_spell_the_type_are_converted():
    schema = {"type": "object", "properties": {"n": {"type": "integer"}, "b": {"type": "boolean"}}}
    assert coerce({"n": "1.5", "b": "yes"}, schema) == {"n": "1.5", "b": "yes"}
    assert coerce({"n": " 7 ", "b": "True"}, schema) == {"n": 7, "b": True}


JPEG_VARIANT = {"name": "parquet_jpeg", "method": "parquet", "options": {"encoding": "jpeg", "quality": "90"}}


def test_method_options_typed_as_strings_are_read_as_the_store_declares_them():
    """``--config 'methods=[npy,{..., options: {encoding: jpeg, quality: 90}}]'`` hands over ``'90'``."""
    zarr = {"name": "z", "method": "zarr", "options": {"chunk": "10", "shard": "100", "checksums": "true"}}
    table = {"name": "p", "method": "parquet", "options": {"row_group_rows": "null", "checksums": "False"}}
    config = checked(versioned_config() | {"methods": ["npy", copy.deepcopy(JPEG_VARIANT), zarr, table]})
    assert config["methods"][1]["options"] == {"encoding": "jpeg", "quality": 90}
    assert config["methods"][2]["options"] == {"chunk": 10, "shard": 100, "checksums": True}
    assert config["methods"][3]["options"] == {"row_group_rows": None, "checksums": False}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"quality": "high"}, "option 'quality': 'high' is not an integer"),
        ({"quality": 9.5}, "option 'quality': 9.5 is not an integer"),
        ({"quality": True}, "option 'quality': True is not an integer"),
        ({"checksums": "maybe"}, "option 'checksums': 'maybe' is not a boolean"),
        ({"encoding": 3}, "option 'encoding': 3 is not a string"),
        ({"row_group_rows": "many"}, "option 'row_group_rows': 'many' is not an integer or null"),
    ],
)
def test_a_method_option_of_the_wrong_type_is_refused_naming_the_key_and_the_type(options, message):
    spec = {"name": "p", "method": "parquet", "options": options}
    with pytest.raises(ConfigError, match=re.escape(f"'methods', entry 'p', {message}")):
        checked(versioned_config() | {"methods": [spec]})


def test_a_filter_on_label_typed_as_a_string_is_read_as_a_number():
    config = checked(versioned_config() | {"filter": {"column": "label", "value": "3"}})
    assert config["filter"]["value"] == 3


def test_narrowing_methods_leaves_out_the_twins_of_methods_not_configured_with_a_note():
    config = copy.deepcopy(versioned_config() | {"methods": ["npy"], "aa_twins": ["npy", "chunks_seek"]})
    notes = validate(config, SCHEMA)
    assert config["aa_twins"] == ["npy"]
    assert len(notes) == 1 and "chunks_seek not in 'methods'" in notes[0]


def test_an_aa_twin_is_its_method_under_another_name_with_the_same_options():
    from imagestores.config import twins, with_twins
    from imagestores.stores import resolve

    jpeg = {"name": "parquet_jpeg", "method": "parquet", "options": {"encoding": "jpeg", "quality": 90}}
    config = checked(versioned_config() | {"methods": ["npy", jpeg], "aa_twins": ["npy", "parquet_jpeg"]})
    assert twins(config) == {"npy_twin": "npy", "parquet_jpeg_twin": "parquet_jpeg"}
    specs = with_twins(config)
    assert specs[:2] == ["npy", jpeg]
    for twin, original in zip(specs[2:], specs[:2], strict=True):
        copy, source = resolve(twin), resolve(original)
        assert copy.name == f"{source.name}_twin"
        assert (copy.target, dict(copy.options), copy.lossy) == (
            source.target,
            dict(source.options),
            source.lossy,
        )
