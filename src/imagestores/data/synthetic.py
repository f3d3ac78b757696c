"""Seeded synthetic images shaped like CIFAR-10's, with natural images' statistics: runs need no network."""

from __future__ import annotations

import numpy as np

SHAPE = (32, 32, 3)

SYNTHETIC_BLOCK = 256
"""Synthetic images are drawn in blocks of this many ids, one random stream per block: fast, and image i
is the same whichever range it is asked for in. Changing it changes every synthetic image."""


_FREQUENCY = np.hypot(np.fft.fftfreq(32)[:, None], np.fft.rfftfreq(32)[None, :])
_LOG_FREQUENCY = np.log(np.where(_FREQUENCY > 0, _FREQUENCY, 1.0)).astype(np.float32)


def _synthetic_block(seed: int, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Images ``block * SYNTHETIC_BLOCK`` onwards, drawn from one random stream keyed by seed and block.

    Natural images have amplitude spectra falling roughly as 1/f^alpha and strongly correlated colour
    channels; both set how well they compress, which is what the stores' sizes and speeds depend on.
    Each image gets its own alpha, a luminance field shared by all channels plus weaker per-channel
    fields, and its own brightness, colour cast and contrast. The constants put the mean PNG size near
    CIFAR-10's (about 2.7 KB; white noise of this shape takes about 3.2 KB).
    """
    rng = np.random.default_rng([seed, block])
    n = SYNTHETIC_BLOCK
    alpha = rng.uniform(1.0, 1.8, size=(n, 1, 1, 1)).astype(np.float32)
    amplitude = np.exp(-alpha * _LOG_FREQUENCY)
    amplitude[..., 0, 0] = 0  # no mean: brightness is set below
    # Complex Gaussian coefficients: random phases, Rayleigh-distributed amplitudes around the 1/f^alpha law.
    spectrum = rng.standard_normal((n, 4, 32, 17, 2), dtype=np.float32).view(np.complex64)[..., 0]
    spectrum *= amplitude
    fields = np.fft.irfft2(spectrum, s=(32, 32))
    fields /= fields.std(axis=(-2, -1), keepdims=True)
    channels = fields[:, :1] + 0.35 * fields[:, 1:]
    channels *= rng.uniform(35, 70, size=(n, 1, 1, 1)).astype(np.float32)
    channels += rng.uniform(70, 180, size=(n, 1, 1, 1)).astype(np.float32)
    channels += rng.normal(0, 15, size=(n, 3, 1, 1)).astype(np.float32)
    images = np.clip(np.rint(channels), 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    return images, labels


def synthetic_images(start: int, stop: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic images ``start``..``stop - 1`` as (n, 32, 32, 3) uint8 RGB, with uint8 labels in 0..9.

    Image i depends only on ``seed`` and i, so any batching of the ids gives the same images.
    """
    if not 0 <= start <= stop:
        raise ValueError(
            f"synthetic image ids must satisfy 0 <= start <= stop, got start={start}, stop={stop}"
        )
    images = np.empty((stop - start, *SHAPE), dtype=np.uint8)
    labels = np.empty(stop - start, dtype=np.uint8)
    for block in range(start // SYNTHETIC_BLOCK, -(-stop // SYNTHETIC_BLOCK)):
        block_images, block_labels = _synthetic_block(seed, block)
        first = block * SYNTHETIC_BLOCK
        low, high = max(start, first), min(stop, first + SYNTHETIC_BLOCK)
        images[low - start : high - start] = block_images[low - first : high - first]
        labels[low - start : high - start] = block_labels[low - first : high - first]
    return images, labels
