"""Before any timing, every method is checked against the prepared images; when none holds them, the run
ends with one message giving each method's reason and what would help (never a traceback)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tifffile
from PIL import Image
from varied_folder import add_varied_images

from imagestores.data import prepare
from imagestores.data.folder import FolderOptions
from imagestores.measure import fit, head_to_head
from imagestores.measure.describe import describe_methods
from imagestores.measure.tables import TIMING_COLUMNS

JPEG = {"name": "sqlite_jpeg", "method": "sqlite", "options": {"encoding": "jpeg"}}


def prepared_folder(folder: Path, out: Path) -> Path:
    """The data stage's files of ``folder`` in ``out``, as the pipeline prepares them."""
    out.mkdir()
    options = FolderOptions(path=folder, labels="none", on_bad_file="skip")
    prepare.prepare(source="folder", size="all", out_dir=out, resources=out, folder=options)
    return out


@pytest.fixture
def float_and_gray(tmp_path) -> Path:
    """A float32 TIFF and a gray PNG of another shape: no image-file encoding and no one array holds them."""
    folder = tmp_path / "folder"
    folder.mkdir()
    tifffile.imwrite(folder / "a_deconvolved.tif", np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4))
    Image.fromarray(np.zeros((5, 6), np.uint8)).save(folder / "b_gray.png")
    return prepared_folder(folder, tmp_path / "data")


def test_nothing_fits_ends_with_each_reason_and_what_would_help(float_and_gray, tmp_path):
    out = tmp_path / "methods_fit.csv"
    with pytest.raises(fit.NothingFits) as ended:
        fit.check_methods_job(["disk", "npy", JPEG], float_and_gray, [2], out)
    message = str(ended.value)
    assert message.startswith("None of the 3 configured methods can hold these images, not even the first 2")
    assert "  - npy: image 1 has shape (5, 6) uint8 but image 0 has (3, 4) float32" in message
    assert "  - disk: image 0 has dtype float32; PngFiles with the png encoding" in message
    assert "(file a_deconvolved.tif)" in message
    assert "  - sqlite_jpeg: image 0 has dtype float32; SqliteBlobs with the jpeg encoding" in message
    assert "add a method of raw pixels" in message and "lmdb_raw" in message
    assert "on_bad_file" in message and "remove" in message
    table = pd.read_csv(out, keep_default_na=False)
    assert set(table["method"]) == {"disk", "npy", "sqlite_jpeg"} and not table["fits"].any()


def test_a_method_that_holds_only_the_smaller_cutoffs_lets_the_run_go_on(float_and_gray, tmp_path):
    """npy holds the first image alone, not both (two shapes): the run measures it at cutoff 1."""
    out = tmp_path / "methods_fit.csv"
    fit.check_methods_job(["disk", "npy"], float_and_gray, [1, 2], out)
    table = pd.read_csv(out, keep_default_na=False).set_index(["method", "cutoff"])
    assert table.loc[("npy", 1), "fits"] and not table.loc[("npy", 2), "fits"]
    assert "one fixed shape" in table.loc[("npy", 2), "reason"]
    assert not table.loc[("disk", 1), "fits"]


def test_a_varied_folder_fits_every_raw_method_and_names_the_image_the_others_refuse(tmp_path):
    add_varied_images(tmp_path / "folder", "library", seed=1)
    data = prepared_folder(tmp_path / "folder", tmp_path / "data")
    table = fit.methods_fit(
        ["lmdb", "lmdb_raw", "sqlite", "parquet", "chunks_seek", "disk", "npy"], data, [9]
    )
    fits = dict(zip(table["method"], table["fits"], strict=True))
    assert fits == {name: name not in ("disk", "npy") for name in fits}
    disk = table.loc[table["method"] == "disk", "reason"].item()
    assert disk.startswith("image 0 has dtype float32;") and disk.endswith("(file library/float32.tif)")


def test_a_method_not_installed_is_named_so(float_and_gray, monkeypatch):
    from imagestores.stores.lance_table import LanceTable

    monkeypatch.setattr(LanceTable, "unavailable", classmethod(lambda cls: "lance is not installed; pip it"))
    table = fit.methods_fit(["lance"], float_and_gray, [2])
    assert table["reason"].item().startswith("not installed here: ") and not table["fits"].any()


def test_a_head_to_head_with_nothing_to_time_writes_its_empty_table_and_says_why(float_and_gray, tmp_path):
    out = tmp_path / "head_to_head.csv"
    settings = {"stores": {"root": str(tmp_path / "stores")}, "repeats": 2}
    head_to_head.head_to_head_job(["disk", "npy"], float_and_gray, 2, settings, out)
    table = pd.read_csv(out)
    assert table.empty and list(table.columns) == TIMING_COLUMNS
    assert not (tmp_path / "stores").exists()


def test_the_overview_of_a_head_to_head_with_nothing_timed_says_why(tmp_path):
    from imagestores.report import figures

    timings, methods = tmp_path / "head_to_head.csv", tmp_path / "methods.csv"
    pd.DataFrame(columns=TIMING_COLUMNS).to_csv(timings, index=False)
    describe_methods(["disk", "npy"], methods)
    outputs = [tmp_path / "overview.png", tmp_path / "overview.svg"]
    figures.plot_overview(timings, methods, outputs)
    assert "No method can hold the images" in outputs[1].read_text()
