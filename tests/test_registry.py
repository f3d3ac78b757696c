"""The registry is the one list of methods: every one is described, in the README's generated table, and
covered by the round-trip and contract tests (which are parametrised over it)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pipeline import REPO
from test_contracts import CASES
from test_stores import ALL

from imagestores.stores import FAMILIES, METHODS, catalogue


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_method_is_described_and_its_options_hold(name):
    method = METHODS[name]
    assert method.family in FAMILIES and len(method.summary) > 40, name
    assert method.describe()["holds"]  # reads the traits: a bad registered option raises here


def test_the_readme_method_table_is_the_registrys():
    readme = (REPO / "README.md").read_text()
    assert catalogue.section(readme) == catalogue.table(), (
        "README.md's method table is stale: run python -m imagestores.stores.catalogue README.md"
    )


def test_every_method_is_round_tripped_and_contract_tested():
    assert set(ALL) == set(METHODS)
    contracted = {
        param.values[0] if isinstance(param.values[0], str) else param.values[0]["method"] for param in CASES
    }
    assert contracted == set(METHODS)


def test_reading_the_registry_imports_no_format_library():
    """The Snakefile reads the registry at parse time: a method's libraries load only when it is used."""
    code = (
        "import sys, imagestores.stores, imagestores.stores.base, imagestores.config; "
        "heavy = {'PIL', 'tifffile', 'h5py', 'lmdb', 'lance', 'zarr', 'webdataset', 'torch', 'pooch'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert loaded.strip() == "[]"
