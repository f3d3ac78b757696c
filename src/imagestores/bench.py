"""Timing of one store: write many, write one, read many, read one, each verified against the source.

Every measurement is taken here with ``time.perf_counter_ns`` around exactly the store's work: buffers are
allocated and touched before the clock starts, verification runs while the clock is stopped, and each
case has an untimed warm-up before its repeats.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imagestores.stores import Method
from imagestores.stores.base import Images, batches

READ_BATCH = 4096
"""Images read per call while reading a whole store: bounds the output buffer whatever N is."""

WARMUP_WRITE_IMAGES = 100
"""The warm-up write stores this many images: enough to import, open and allocate, cheap at any N."""

SEED = 2019
"""Fixes which images the single-image and random cases use, so every method reads the same ones."""

LOSSY_MIN_PSNR_DB = 30.0
"""A lossy store must return every image within this peak signal-to-noise ratio of the original.

JPEG at quality 75 and above keeps natural images above about 35 dB; a wrong or shifted image falls
far below 20 dB, so the check tells a lossy copy from wrong data.
"""


class ReadMismatch(AssertionError):
    """A store returned something other than what was written: the job fails, no timing is kept."""


@dataclass(frozen=True)
class Measurement:
    operation: str
    repeat: int
    seconds: float
    images: int
    bytes: int


class Stopwatch:
    """Sums the nanoseconds spent inside ``with watch.running():`` blocks."""

    def __init__(self) -> None:
        self.elapsed_ns = 0

    @contextmanager
    def running(self) -> Iterator[None]:
        start = time.perf_counter_ns()
        try:
            yield
        finally:
            self.elapsed_ns += time.perf_counter_ns() - start

    @property
    def seconds(self) -> float:
        return self.elapsed_ns / 1e9


def image_bytes(images: Images, indices: np.ndarray | range) -> int:
    """Pixel bytes of the images ``indices``: what an operation on them moves."""
    if isinstance(images, np.ndarray):
        return len(indices) * images[0].nbytes
    return sum(images[i].nbytes for i in indices)


def allocate(images: Images, indices: np.ndarray) -> Images:
    """Output buffers shaped like the source images ``indices``, with every page already touched.

    Touching the pages first keeps page faults of fresh memory out of the timed read.
    """
    if isinstance(images, np.ndarray):
        buffer = np.empty((len(indices), *images.shape[1:]), dtype=images.dtype)
        buffer.fill(0)
        return buffer
    return [np.zeros_like(images[i]) for i in indices.tolist()]


def psnr_db(got: np.ndarray, expected: np.ndarray) -> float:
    """Peak signal-to-noise ratio of ``got`` against ``expected``, in dB (inf when equal)."""
    error = np.mean((got.astype(np.float64) - expected.astype(np.float64)) ** 2)
    peak = float(np.iinfo(expected.dtype).max)
    return float("inf") if error == 0 else float(10 * np.log10(peak**2 / error))


def verify(
    method: Method,
    got: Images,
    labels_got: np.ndarray,
    images: Images,
    labels: np.ndarray,
    indices: np.ndarray,
) -> None:
    """Raise ReadMismatch unless what was read at ``indices`` matches the source.

    Labels and lossless images must be equal; a lossy method's images must stay within LOSSY_MIN_PSNR_DB.
    """
    expected = labels[indices]
    if not np.array_equal(labels_got[: len(indices)], expected):
        bad = int(np.flatnonzero(labels_got[: len(indices)] != expected)[0])
        raise ReadMismatch(f"{method.name}: label of image {indices[bad]} read back wrong")
    lossy = method.lossy
    for position, index in enumerate(indices.tolist()):
        original, copy = images[index], got[position]
        if not lossy and not np.array_equal(copy, original):
            raise ReadMismatch(f"{method.name}: image {index} read back differs from what was written")
        if lossy and psnr_db(copy, original) < LOSSY_MIN_PSNR_DB:
            raise ReadMismatch(f"{method.name}: image {index} read back below {LOSSY_MIN_PSNR_DB} dB")


def fresh(path: Path) -> Path:
    """``path`` with nothing there, so a store never writes over a previous attempt."""
    if path.exists():
        shutil.rmtree(path)
    return path


def time_writes(
    method: Method, images: Images, labels: np.ndarray, keep: Path, scratch: Path, repeats: int
) -> list[Measurement]:
    """Time writing all images (``store_many``) and one image (``store_one``), ``repeats`` times each.

    Every repeat writes a new store into ``scratch``; the last complete ``store_many`` store is moved to
    ``keep``. Repeats are removed only after all are timed, because creating many files right after
    deleting many is slower and would bias later repeats.
    """
    fresh(scratch).mkdir(parents=True)
    count = len(images)
    one = int(random_indices(count, 1)[0])
    warmup = min(count, WARMUP_WRITE_IMAGES)
    method.store(scratch / "warmup-many").write(images[:warmup], labels[:warmup])
    method.store(scratch / "warmup-one").write(images[one : one + 1], labels[one : one + 1])
    results = []
    for repeat in range(repeats):
        store = method.store(scratch / f"many-{repeat}")
        watch = Stopwatch()
        with watch.running():
            store.write(images, labels)
        results.append(
            Measurement("store_many", repeat, watch.seconds, count, image_bytes(images, range(count)))
        )
    for repeat in range(repeats):
        store = method.store(scratch / f"one-{repeat}")
        watch = Stopwatch()
        with watch.running():
            store.write(images[one : one + 1], labels[one : one + 1])
        results.append(Measurement("store_one", repeat, watch.seconds, 1, image_bytes(images, [one])))
    fresh(keep).parent.mkdir(parents=True, exist_ok=True)
    (scratch / f"many-{repeats - 1}").rename(keep)
    shutil.rmtree(scratch)
    return results


def read_all(method: Method, store_path: Path, images: Images, labels: np.ndarray) -> float:
    """Read every image in order, in batches into one reused buffer, verifying each; return seconds."""
    count = len(images)
    buffer = allocate(images, np.arange(min(count, READ_BATCH)))
    labels_out = np.zeros(len(buffer), dtype=labels.dtype)
    watch = Stopwatch()
    store = method.store(store_path)
    with watch.running():
        reader = store.open()
    try:
        for part in batches(count, READ_BATCH):
            indices = np.arange(part.start, part.stop)
            with watch.running():
                reader.read_into(indices, buffer, labels_out)
            verify(method, buffer, labels_out, images, labels, indices)
    finally:
        with watch.running():
            reader.close()
    return watch.seconds


def read_some(
    method: Method, store_path: Path, images: Images, labels: np.ndarray, indices: np.ndarray
) -> float:
    """Open the store, read ``indices`` into a preallocated buffer, close; verify; return seconds."""
    buffer = allocate(images, indices)
    labels_out = np.zeros(len(indices), dtype=labels.dtype)
    watch = Stopwatch()
    store = method.store(store_path)
    with watch.running(), store.open() as reader:
        reader.read_into(indices, buffer, labels_out)
    verify(method, buffer, labels_out, images, labels, indices)
    return watch.seconds


def random_indices(count: int, sample: int) -> np.ndarray:
    """``sample`` distinct ids below ``count`` in a seeded shuffled order, as a training loop reads them."""
    return np.random.default_rng(SEED).permutation(count)[: min(sample, count)]


def time_reads(
    method: Method, store_path: Path, images: Images, labels: np.ndarray, repeats: int, random_reads: int
) -> list[Measurement]:
    """Time reads from a warm page cache, each case after an untimed warm-up of its own.

    ``read_many`` reads all images in order (its warm-up verifies the whole store and brings it into the
    page cache); ``read_one`` reads one image; ``read_random`` reads ``random_reads`` images at shuffled
    positions in one call.
    """
    count = len(images)
    read_all(method, store_path, images, labels)
    everything = image_bytes(images, range(count))
    results = [
        Measurement("read_many", repeat, read_all(method, store_path, images, labels), count, everything)
        for repeat in range(repeats)
    ]
    for operation, indices in (
        ("read_one", random_indices(count, 1)),
        ("read_random", random_indices(count, random_reads)),
    ):
        read_some(method, store_path, images, labels, indices)
        moved = image_bytes(images, indices)
        results += [
            Measurement(
                operation, repeat, read_some(method, store_path, images, labels, indices), len(indices), moved
            )
            for repeat in range(repeats)
        ]
    return results
