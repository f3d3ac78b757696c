"""Tests of a method whose optional library is not installed here are skipped, with the reason and the fix.

Tests parametrised over the registry name a method by its name or by a variant's spec; any such test of a
method that is ``unavailable`` (``Store.unavailable``: LitData without the loaders extra, MosaicML
Streaming without requirements/mds.txt) is skipped, so the suite runs, and says why, without them.
"""

from __future__ import annotations

import pytest

from imagestores.stores import METHODS


def method_named(value: object) -> str:
    """The registered method a test parameter names, or an empty string."""
    if isinstance(value, str) and value in METHODS:
        return value
    if isinstance(value, dict) and value.get("method") in METHODS:
        return value["method"]
    return ""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        for value in callspec.params.values() if callspec else ():
            name = method_named(value)
            reason = METHODS[name].unavailable if name else ""
            if reason:
                item.add_marker(pytest.mark.skip(reason=f"{name}: {reason}"))
                break
