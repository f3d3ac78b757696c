"""Bad configurations are refused before any job, naming the key; command-line strings become numbers.

Checked in-process against the schema and ``config.check``, exactly as the Snakefile checks them;
tests/test_workflow.py keeps one end-to-end case.
"""

from __future__ import annotations

import copy

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
        ({"aa_twins": ["webdataset"], "methods": ["npy"]}, "aa_twins"),
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
