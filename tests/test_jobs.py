"""Checks a job makes before it starts work: where the stores go, and whether they fit."""

from __future__ import annotations

import shutil
from collections import namedtuple

import numpy as np
import pytest

from imagestores.measure import disk, tables
from imagestores.report import gather


def test_store_root_expands_environment_variables(monkeypatch, tmp_path):
    monkeypatch.setenv("SCRATCH_FOR_TEST", str(tmp_path))
    assert disk.store_root("$SCRATCH_FOR_TEST/stores") == tmp_path / "stores"


def test_an_unset_variable_in_store_root_is_an_error_naming_it(monkeypatch):
    monkeypatch.delenv("TMPDIR_NOT_SET", raising=False)
    with pytest.raises(OSError, match="TMPDIR_NOT_SET is not set"):
        disk.store_root("${TMPDIR_NOT_SET}/stores")


def test_a_store_that_cannot_fit_refuses_to_start_saying_how_much(monkeypatch, tmp_path):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10 * 2**30, 0, 2**30))
    images = np.zeros((100_000, 32, 32, 3), dtype=np.uint8)
    with pytest.raises(OSError, match=r"1\.0 GiB free, but a store of 100,000 images .* up to 2\.7 GiB"):
        disk.check_free_space(tmp_path, images)
    disk.check_free_space(tmp_path, images[:1000])  # 27 MiB fits


def test_gathering_only_skipped_tables_keeps_the_header(tmp_path):
    for name in ("a", "b"):
        (tmp_path / f"{name}.csv").write_text(",".join(tables.TIMING_COLUMNS) + "\n")
    gather.gather([tmp_path / "a.csv", tmp_path / "b.csv"], tmp_path / "all.csv")
    assert (tmp_path / "all.csv").read_text().strip() == ",".join(tables.TIMING_COLUMNS)


def test_disk_usage_leaves_out_the_completion_marker(tmp_path):
    """The marker is this package's, not the format's: an hdf5 store is still one file."""
    from imagestores.stores import get
    from imagestores.stores.base import MARKER

    get("hdf5").store(tmp_path / "s").write(np.zeros((2, 4, 4, 3), np.uint8), np.zeros(2, np.int64))
    usage = disk.disk_usage(tmp_path / "s")
    assert usage["files"] == 1
    (tmp_path / "s" / MARKER).unlink()
    assert disk.disk_usage(tmp_path / "s") == usage
