"""Image encodings shared by every store that keeps encoded bytes, so each is written once.

A store that holds bytes takes an ``encoding`` option (``raw``, ``png`` or ``jpeg``) and gets its
``Codec`` from ``codec()``. Decoding always fills a caller's buffer of the known shape and dtype.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from imagestores.stores.errors import UnsupportedInput

ENCODINGS = ("raw", "png", "jpeg")


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


def decode_into(source: io.BytesIO | str | bytes, out: np.ndarray) -> None:
    """Decode an image file (PNG, JPEG) into ``out``; a shape or dtype mismatch is an error, not a cast."""
    if isinstance(source, bytes | bytearray | memoryview):
        source = io.BytesIO(source)
    with Image.open(source) as image:
        pixels = np.asarray(image)
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
    def label(self) -> str:
        return f"jpeg{self.quality}" if self.lossy else self.name

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
