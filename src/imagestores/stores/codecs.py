"""Image encodings shared by every store that keeps encoded bytes, so each is written once.

A store that holds bytes takes an ``encoding`` option (``raw``, ``png``, ``jpeg`` or ``original``) and gets
its ``Codec`` from ``codec()``. Decoding always fills a caller's buffer of the known shape and dtype.

``original`` keeps each source file's own bytes (a folder of JPEGs stays JPEGs); they are decoded by
``decode_image``, the same rules the data stage prepared the pixels with, so a read compares exactly.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

from imagestores.stores.dtypes import NUMERIC_DTYPES, describe_dtypes
from imagestores.stores.errors import UnsupportedInput

ENCODINGS = ("raw", "png", "jpeg", "original")

__all__ = ["NUMERIC_DTYPES", "describe_dtypes"]  # re-exported from dtypes, where they live

IMAGE_FILE_DTYPES: frozenset[np.dtype] = frozenset({np.dtype(np.uint8), np.dtype(np.uint16)})
"""What the PNG writer holds, and what ``original`` keeps: 8- and 16-bit pixels."""

JPEG_DTYPES: frozenset[np.dtype] = frozenset({np.dtype(np.uint8)})


TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
"""The first bytes of a TIFF (and BigTIFF) file in either byte order."""

MAGIC = (
    (b"\xff\xd8\xff", ".jpg"),
    (b"\x89PNG", ".png"),
    (b"GIF8", ".gif"),
    (b"BM", ".bmp"),
    *((magic, ".tif") for magic in TIFF_MAGIC),
)


def suffix_of(data: bytes | memoryview) -> str:
    """The usual file suffix of an encoded image, by its first bytes (``.bin`` when unknown)."""
    head = bytes(data[:12])
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ".webp"
    return next((suffix for magic, suffix in MAGIC if head.startswith(magic)), ".bin")


TO_RGB = {"P": None, "PA": "RGBA", "1": "L", "CMYK": "RGB", "YCbCr": "RGB", "LAB": "RGB", "HSV": "RGB"}
"""Modes converted on decoding: palettes expand to RGB (RGBA when transparent), bilevel to 0/255 gray,
other colour spaces to RGB. Every other mode keeps its pixels as Pillow gives them."""


@dataclass(frozen=True)
class Decoded:
    """An image file's pixels and what the file was."""

    pixels: np.ndarray
    format: str
    """Pillow's name of the format (JPEG, PNG, TIFF, WEBP, BMP, GIF), by content, not by file name."""
    mode: str
    """Pillow's mode of the file before conversion (L, RGB, P, I;16, ...); ``tifffile`` for TIFFs only
    tifffile could decode."""
    frames: int
    """Pages or frames in the file; only the first is decoded."""


def decode_image(source: bytes | memoryview | str | PathLike) -> Decoded:
    """Decode the first page or frame of an image file, by its content, into a native-order array.

    Pillow decodes, without applying EXIF rotation (the stored pixels are the file's); palette images
    expand to RGB or RGBA; 16-bit images stay uint16. TIFFs are read with tifffile (with imagecodecs for
    their compressions) where Pillow cannot decode them or would reduce them (Pillow gives 16-bit colour
    as 8-bit RGB), so no bit of a microscopy image is lost. Raises ``OSError`` or ``ValueError`` for a
    file that is not a readable image (``PIL.UnidentifiedImageError`` is an ``OSError``).
    """
    data = source if isinstance(source, bytes | bytearray | memoryview) else Path(source).read_bytes()
    if bytes(data[:4]) in TIFF_MAGIC:
        return _decode_tiff(data)
    with Image.open(io.BytesIO(data)) as image:
        frames = getattr(image, "n_frames", 1)
        mode, fmt = image.mode, image.format or "unknown"
        if mode in TO_RGB:
            target = TO_RGB[mode] or ("RGBA" if "transparency" in image.info else "RGB")
            image = image.convert(target)
        pixels = np.asarray(image)
    return Decoded(_native(pixels), fmt, mode, frames)


def _decode_tiff(data: bytes | memoryview) -> Decoded:
    """The first page of a TIFF: Pillow's pixels when they keep the file's bits, else tifffile's."""
    with tifffile.TiffFile(io.BytesIO(data)) as tiff:
        page = tiff.pages.first
        frames, bits, samples = len(tiff.pages), page.bitspersample, page.samplesperpixel
        try:
            with Image.open(io.BytesIO(data)) as image:
                mode = image.mode
                pixels = np.asarray(image.convert("RGB") if mode in TO_RGB else image)
        except (OSError, ValueError, SyntaxError):
            pixels, mode = None, "tifffile"
        channels = 1 if pixels is None or pixels.ndim == 2 else pixels.shape[2]
        if pixels is None or pixels.dtype.itemsize * 8 != bits or (channels != samples and mode != "P"):
            pixels, mode = page.asarray(), "tifffile"
    return Decoded(_native(pixels), "TIFF", mode, frames)


def _native(pixels: np.ndarray) -> np.ndarray:
    """C-ordered pixels in the machine's byte order (16-bit files may be big-endian)."""
    if not pixels.dtype.isnative:
        pixels = pixels.astype(pixels.dtype.newbyteorder("="))
    return np.ascontiguousarray(pixels)


def check_png(index: int, image: np.ndarray) -> None:
    """Refuse an image Pillow's PNG writer cannot hold exactly, naming it."""
    channels = 1 if image.ndim == 2 else image.shape[2]
    if (image.dtype == np.uint8 and channels in (1, 3, 4)) or (image.dtype == np.uint16 and channels == 1):
        return
    raise UnsupportedInput(
        f"image {index}: PNG through Pillow stores uint8 with 1, 3 or 4 channels or single-channel uint16, "
        f"not {image.dtype} with {channels} channels"
    )


def save_png(image: np.ndarray, target: io.BytesIO | str) -> None:
    """Write ``image`` as PNG with Pillow's defaults (compression level 6, as the 2019 study wrote them)."""
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    Image.fromarray(image).save(target, "PNG")


def decode_into(source: bytes | memoryview | str | PathLike, out: np.ndarray) -> None:
    """Decode an image file into ``out`` (``decode_image``); a shape or dtype mismatch is an error."""
    pixels = decode_image(source).pixels
    if pixels.dtype != out.dtype or pixels.size != out.size:
        raise ValueError(f"decoded image is {pixels.shape} {pixels.dtype}, expected {out.shape} {out.dtype}")
    out[...] = pixels.reshape(out.shape)


@dataclass(frozen=True)
class Codec:
    """One encoding: bytes out of an image, an image back into a buffer."""

    name: str
    quality: int = 90
    """JPEG quality (1-95); ignored by the lossless encodings."""

    @property
    def lossy(self) -> bool:
        return self.name == "jpeg"

    @property
    def needs_originals(self) -> bool:
        """Whether writing needs each source file's bytes rather than its pixels."""
        return self.name == "original"

    @property
    def label(self) -> str:
        return f"jpeg{self.quality}" if self.lossy else self.name

    @property
    def dtypes(self) -> frozenset[np.dtype]:
        """The pixel types this encoding holds exactly: raw bytes any numeric type, image files fewer."""
        if self.name == "raw":
            return NUMERIC_DTYPES
        return JPEG_DTYPES if self.name == "jpeg" else IMAGE_FILE_DTYPES

    def check(self, index: int, image: np.ndarray) -> None:
        if self.name == "png":
            check_png(index, image)
        elif self.name == "jpeg":
            channels = 1 if image.ndim == 2 else image.shape[2]
            if image.dtype != np.uint8 or channels not in (1, 3):
                raise UnsupportedInput(
                    f"image {index}: JPEG stores uint8 with 1 or 3 channels, not {image.dtype} x {channels}"
                )

    def encode(self, image: np.ndarray) -> bytes:
        if self.needs_originals:
            raise TypeError("the original encoding stores the source files' bytes, which pixels cannot give")
        if self.name == "raw":
            return np.ascontiguousarray(image).tobytes()
        buffer = io.BytesIO()
        if self.name == "png":
            save_png(image, buffer)
        else:
            pixels = image[:, :, 0] if image.ndim == 3 and image.shape[2] == 1 else image
            # 4:4:4 chroma: subsampling halves the colour of images as small as 32x32 (about 4 dB lost).
            Image.fromarray(pixels).save(buffer, "JPEG", quality=self.quality, subsampling=0)
        return buffer.getvalue()

    def decode_into(self, data: bytes | memoryview, out: np.ndarray) -> None:
        if self.name != "raw":
            decode_into(data, out)
            return
        if len(data) != out.nbytes:
            raise ValueError(f"raw record of {len(data)} bytes does not fill {out.shape} {out.dtype}")
        out[...] = np.frombuffer(data, dtype=out.dtype).reshape(out.shape)


def codec(encoding: str = "raw", quality: int = 90) -> Codec:
    """The codec called ``encoding``, or a ValueError listing the available ones."""
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown encoding {encoding!r}; choose from {', '.join(ENCODINGS)}")
    if not 1 <= quality <= 95:
        raise ValueError(f"JPEG quality must be between 1 and 95, not {quality}")
    return Codec(encoding, quality)
