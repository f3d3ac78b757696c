"""A realistic folder of image files, made from a seed: what a user brings, for runs and tests without data.

It mixes what the folder source must handle: photos as JPEG of many sizes (64 to 2048 pixels a side) in
class folders, PNGs (RGB, RGBA, gray, palette), 16-bit grayscale microscopy TIFFs of 1344 x 1024 in
plate folders, 8-bit RGB TIFFs, a metadata CSV with one row per image, a text file that is not an image
and, with ``corrupt=True``, one truncated JPEG. Pixels follow a 1/f spectrum like natural images, so the
files compress like photographs.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image

METADATA = "images.csv"
CLASSES = ("dresses", "shirts", "shoes", "microscopy")
MICROSCOPY_SHAPE = (1024, 1344)
"""Height and width of the microscopy TIFFs, as a widefield camera writes them."""


def natural_field(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A (height, width) float field with a 1/f^alpha amplitude spectrum, zero mean, unit deviation."""
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    frequency = np.hypot(fy, fx)
    amplitude = np.where(frequency > 0, frequency, 1.0) ** -rng.uniform(1.0, 1.8)
    amplitude[0, 0] = 0
    spectrum = (rng.standard_normal(amplitude.shape) + 1j * rng.standard_normal(amplitude.shape)) * amplitude
    field = np.fft.irfft2(spectrum, s=(height, width))
    return (field / field.std()).astype(np.float32)


def photo(rng: np.random.Generator, height: int, width: int, channels: int) -> np.ndarray:
    """uint8 pixels of a photograph-like image: shared luminance, weaker colour fields, a colour cast."""
    luminance = natural_field(rng, height, width)
    planes = [luminance + 0.35 * natural_field(rng, height, width) for _ in range(channels)]
    pixels = np.stack(planes, axis=-1) * rng.uniform(35, 60) + rng.uniform(80, 170)
    pixels += rng.normal(0, 12, size=channels)
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


def micrograph(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """uint16 pixels of a fluorescence micrograph: dark background, bright smooth blobs, shot noise."""
    field = natural_field(rng, height // 4, width // 4)
    cells = np.kron(np.clip(field - 1.0, 0, None), np.ones((4, 4), dtype=np.float32))
    signal = 400 + 9000 * cells
    return np.clip(rng.poisson(signal), 0, 65535).astype(np.uint16)


def side(rng: np.random.Generator, largest: int) -> int:
    """An image side from 64 to ``largest`` pixels, log-uniform: many small images, a few large ones."""
    return round(2 ** rng.uniform(6, np.log2(largest)))


def make_example_folder(path: Path, images: int, seed: int = 0, corrupt: bool = True, scale: int = 1) -> None:
    """Write ``images`` image files (and the extra files above) into the new folder ``path``.

    ``scale`` divides every image side (the largest photo side, 2048, and the microscopy shape), for tests
    that want the same mix in less time.
    """
    rng = np.random.default_rng(seed)
    largest, microscopy = 2048 // scale, (MICROSCOPY_SHAPE[0] // scale, MICROSCOPY_SHAPE[1] // scale)
    path.mkdir(parents=True)
    rows = []
    for number in range(images):
        kind = CLASSES[number % len(CLASSES)]
        if kind == "microscopy":
            plate, well = 1 + number % 2, f"{'ABCD'[number % 4]}{1 + number % 6:02d}"
            relative = Path(kind, f"plate{plate:02d}", f"{well}_site{number:04d}.tif")
            image = Image.fromarray(micrograph(rng, *microscopy))
            options: dict = {"compression": "tiff_lzw"}
            rows.append({"path": relative.as_posix(), "category": kind, "plate": plate, "well": well})
        else:
            height, width = side(rng, largest), side(rng, largest)
            style = number % 7
            if style == 0:
                image = Image.fromarray(photo(rng, height, width, 4), "RGBA")
                relative, options = Path(kind, f"{number:05d}.png"), {}
            elif style == 1:
                image = Image.fromarray(photo(rng, height, width, 1)[:, :, 0], "L")
                relative, options = Path(kind, f"{number:05d}.png"), {}
            elif style == 2:
                image = Image.fromarray(photo(rng, height, width, 3)).quantize(64)
                relative, options = Path(kind, f"{number:05d}.png"), {}
            elif style == 3:
                image = Image.fromarray(photo(rng, height, width, 3))
                relative, options = Path(kind, f"{number:05d}.tiff"), {}
            else:
                image = Image.fromarray(photo(rng, height, width, 3))
                relative, options = Path(kind, f"{number:05d}.jpg"), {"quality": 90}
            rows.append({"path": relative.as_posix(), "category": kind, "plate": "", "well": ""})
        (path / relative).parent.mkdir(parents=True, exist_ok=True)
        image.save(path / relative, **options)
    (path / "README.txt").write_text(
        "Example images made by imagestores from a seed; not real photographs.\n"
    )
    if corrupt:
        jpeg = next(row["path"] for row in rows if row["path"].endswith(".jpg"))
        whole = (path / jpeg).read_bytes()
        (path / "shirts" / "truncated.jpg").write_bytes(whole[: len(whole) // 3])
    with open(path / METADATA, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=["path", "category", "plate", "well"])
        writer.writeheader()
        writer.writerows(rows)
