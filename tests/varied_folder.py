"""Image files as real folders hold them, written from a seed by the tests (no committed binaries).

``add_varied_images`` puts into a folder what a user's image library has beside photographs: a float32
TIFF (deconvolved microscopy, HDR), an int32 segmentation mask, a 16-bit scan, RGBA, palette and gray
PNGs, a multi-page float64 TIFF (the data stage keeps its first page), a tiny 15 x 10 image and a large
one, and broken files (a truncated JPEG, an empty PNG) that ``on_bad_file: skip`` leaves out.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

LARGE = (900, 1200)
"""Height and width of the large photograph: 3.2 MB of pixels, more than one read batch of small ones."""


def varied_images(rng: np.random.Generator) -> dict[str, tuple[np.ndarray, str]]:
    """Each file's relative name, its pixels and how it is written (``png``, ``jpeg``, ``tiff``)."""
    photo = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    return {
        "float32.tif": ((rng.standard_normal((40, 30)) * 100).astype(np.float32), "tiff"),
        "mask_int32.tif": (rng.integers(-5, 70_000, (33, 47), dtype=np.int32), "tiff"),
        "scan16.tif": (rng.integers(0, 65_536, (50, 40), dtype=np.uint16), "tiff"),
        "rgba.png": (rng.integers(0, 256, (20, 30, 4), dtype=np.uint8), "png"),
        "palette.png": (photo, "palette"),
        "gray.png": (photo[:, :, 0], "png"),
        "multipage_float64.tif": (rng.uniform(-1, 1, (3, 24, 36)), "pages"),
        "tiny.png": (rng.integers(0, 256, (10, 15, 3), dtype=np.uint8), "png"),
        "large.jpg": (rng.integers(0, 256, (*LARGE, 3), dtype=np.uint8), "jpeg"),
    }


BROKEN = ("truncated.jpg", "empty.png")
"""The broken files ``add_varied_images`` writes beside the images."""


def add_varied_images(
    folder: Path, subfolder: str, seed: int = 0, metadata: dict[str, str] | None = None
) -> list[str]:
    """Write the varied images and the broken files into ``folder/subfolder``; return the images' relative
    paths. With ``metadata`` (column values), each image also gets a row in the folder's ``images.csv``."""
    rng = np.random.default_rng(seed)
    target = folder / subfolder
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (pixels, kind) in varied_images(rng).items():
        path = target / name
        if kind == "tiff":
            tifffile.imwrite(path, pixels)
        elif kind == "pages":
            tifffile.imwrite(path, pixels, photometric="minisblack")  # one page per plane
        elif kind == "palette":
            Image.fromarray(pixels).quantize(16).save(path)
        elif kind == "jpeg":
            Image.fromarray(pixels).save(path, quality=90)
        else:
            Image.fromarray(pixels).save(path)
        written.append(f"{subfolder}/{name}")
    whole = (target / "large.jpg").read_bytes()
    (target / BROKEN[0]).write_bytes(whole[: len(whole) // 3])
    (target / BROKEN[1]).write_bytes(b"")
    if metadata is not None:
        with open(folder / "images.csv", newline="") as file:
            fields = next(csv.reader(file))
        with open(folder / "images.csv", "a", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=fields)
            writer.writerows({field: "" for field in fields} | metadata | {"path": path} for path in written)
    return written
