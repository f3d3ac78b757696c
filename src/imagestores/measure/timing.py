"""The timed calls of one store: write many, write one, read many, read one, a random batch, a filter's.

Every call is timed here with ``time.perf_counter_ns`` around exactly the store's work: buffers are
allocated and touched before the clock starts, and verification runs while the clock is stopped. How many
samples each case gets, and its warm-up, is ``measure.cases``' and ``measure.sampling``'s. Reads are timed
from a warm page cache and, after evicting the store's files and checking that they are gone, from a cold
one. Peak memory is not measured here: each operation runs once more in a fresh process for it
(``operation_run``, imagestores.memory).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Protocol

import numpy as np

from imagestores import operations
from imagestores.measure import cache
from imagestores.measure.first_touch import back_for
from imagestores.measure.floor import check_physical
from imagestores.stores import Method
from imagestores.stores.base import BATCH_BYTES, Images, byte_batches, image_sizes, metadata_of
from imagestores.stores.where import Where

READ_BATCH = 4096
"""Images read per call while reading a whole store: bounds the output buffer whatever N is."""

SEED = 2019
"""Fixes which images the single-image and random cases use, so every method reads the same ones."""

LOSSY_MIN_PSNR_DB = 25.0
"""A lossy store must return every image within this peak signal-to-noise ratio of the original.

JPEG at quality 90 (4:4:4 chroma) kept every one of 1,000 synthetic 32x32 images above 30 dB; another
image of the set, or a shifted one, falls far below 20 dB, so the check tells a lossy copy from wrong data.
"""


class ReadMismatch(AssertionError):
    """A store returned something other than what was written: the job fails, no timing is kept."""


@dataclass(frozen=True)
class Measurement:
    operation: str
    cache: str
    """``warm`` or ``cold`` page cache for reads; ``none`` for writes, which the cache does not decide."""
    repeat: int
    seconds: float
    """Seconds of one call: the mean of the ``loops`` calls of this sample."""
    images: int
    bytes: int
    loops: int = 1
    """Calls timed in this sample: more than one when one call is too short to time alone."""
    eviction: str = ""
    """For cold reads: how the store was evicted, and ``not verified`` when pages stayed resident."""
    stopped: str = ""
    """Why the case took no more samples (``sampling.STOP_REASONS``); empty for the study-way timings."""


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

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Inside ``running()``: leave the time of this block out (buffers a reader asks for mid-read)."""
        start = time.perf_counter_ns()
        try:
            yield
        finally:
            self.elapsed_ns -= time.perf_counter_ns() - start

    @property
    def seconds(self) -> float:
        return self.elapsed_ns / 1e9


def image_bytes(images: Images, indices: np.ndarray | range) -> int:
    """Pixel bytes of the images ``indices``: what an operation on them moves."""
    if isinstance(images, np.ndarray):
        return len(indices) * images[0].nbytes
    return int(image_sizes(images)[np.asarray(indices, dtype=np.int64)].sum())


def allocate(images: Images, indices: np.ndarray) -> Images:
    """Output buffers shaped like the source images ``indices``, with every page already touched.

    Touching the pages first keeps page faults of fresh memory out of the timed read.
    """
    if isinstance(images, np.ndarray):
        buffer = np.empty((len(indices), *images.shape[1:]), dtype=images.dtype)
        buffer.fill(0)
        return buffer
    return [np.zeros(images[i].shape, images[i].dtype) for i in indices.tolist()]


def psnr_db(got: np.ndarray, expected: np.ndarray) -> float:
    """Peak signal-to-noise ratio of ``got`` against ``expected``, in dB (inf when equal)."""
    if expected.dtype.kind not in "iu":  # lossy codecs hold integers only; others are compared exactly
        raise TypeError(f"PSNR is taken of integer pixels only, not {expected.dtype}")
    error = np.mean((got.astype(np.float64) - expected.astype(np.float64)) ** 2)
    peak = float(np.iinfo(expected.dtype).max)
    return float("inf") if error == 0 else float(10 * np.log10(peak**2 / error))


def same(got: np.ndarray, expected: np.ndarray) -> bool:
    """Exactly equal, NaN where NaN was written included (a float image may hold NaN)."""
    return np.array_equal(got, expected, equal_nan=expected.dtype.kind in "fc")


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
    # One comparison of a whole batch of equal shapes; only a mismatch is looked at image by image.
    whole = isinstance(images, np.ndarray) and isinstance(got, np.ndarray)
    if whole and not method.lossy and same(got[: len(indices)], images[indices]):
        return
    for position, index in enumerate(indices.tolist()):
        original, copy = images[index], got[position]
        if not method.lossy and not same(copy, original):
            raise ReadMismatch(f"{method.name}: image {index} read back differs from what was written")
        if method.lossy and psnr_db(copy, original) < LOSSY_MIN_PSNR_DB:
            raise ReadMismatch(f"{method.name}: image {index} read back below {LOSSY_MIN_PSNR_DB} dB")


def fresh(path: Path) -> Path:
    """``path`` with nothing there, so a store never writes over a previous attempt."""
    if path.exists():
        shutil.rmtree(path)
    return path


def timed_write(
    method: Method,
    paths: Iterator[Path],
    written: list[Path],
    images: Images,
    labels: np.ndarray,
    moved: int,
) -> float:
    """Write a new store at the next of ``paths`` (noted in ``written``); return the seconds it took.

    The memory and page cache a write of ``moved`` bytes grows into is backed first (``first_touch``).
    """
    written.append(next(paths))
    store = method.store(written[-1])
    back_for(moved)
    watch = Stopwatch()
    with watch.running():
        store.write(images, labels)
    return watch.seconds


def random_indices(count: int, sample: int) -> np.ndarray:
    """``sample`` distinct ids below ``count`` in a seeded shuffled order, as a training loop reads them."""
    return np.random.default_rng(SEED).permutation(count)[: min(sample, count)]


def write_cases(count: int) -> dict[str, slice]:
    """The images each write operation stores: all of them, or one chosen at random (seeded)."""
    one = int(random_indices(count, 1)[0])
    chosen = {"store_many": slice(0, count), "store_one": slice(one, one + 1)}
    return {name: chosen[name] for name in operations.WRITES}


def read_cases(count: int, random_reads: int) -> dict[str, np.ndarray]:
    """The images each read operation reads: all in order, one, or ``random_reads`` shuffled ones."""
    chosen = {
        "read_many": lambda: np.arange(count),
        "read_one": lambda: random_indices(count, 1),
        "read_random": lambda: random_indices(count, random_reads),
    }
    return {name: chosen[name]() for name in operations.READS if name != FILTERED}


FILTERED = operations.BY_NAME["read_filtered"].name
"""Every image a filter (``stores.where.Where``) matches, found and read by the store."""

OPERATIONS = operations.TIMED
"""The operations timed here, one row each of ``imagestores.operations``."""


def timed_read_cases(
    images: Images, labels: np.ndarray, random_reads: int, where: Where | None
) -> dict[str, np.ndarray]:
    """The read cases a job times and the ids each reads: ``read_cases``, and ``read_filtered`` with
    ``where`` (the ids it matches)."""
    cases = read_cases(len(images), random_reads)
    if where is not None:
        cases[FILTERED] = where.select(labels, metadata_of(images))
    return cases


class Source(Protocol):
    """The images an operation writes or checks what it read against, and their labels (the prepared
    data, or a timing plan of it)."""

    images: Images
    labels: np.ndarray


def operation_run(
    method: Method,
    operation: str,
    source: Source,
    store: Path,
    random_reads: int,
    where: Where | None = None,
) -> Callable[[], object]:
    """One untimed run of ``operation``, ready to call: a write of a new ``store``, or a read of ``store``.

    Reads verify what they read against ``source``, as the timed ones do; ``read_filtered`` needs
    ``where``.
    """
    images, labels = source.images, source.labels
    count = len(images)
    if operation in (writes := write_cases(count)):
        chosen = writes[operation]
        return partial(method.store(store).write, images[chosen], labels[chosen])
    if operation == "read_many":
        return partial(read_all, method, store, images, labels)
    if operation == FILTERED:
        if where is None:
            raise ValueError(f"{FILTERED} needs a filter (the config's `filter`)")
        return partial(read_filtered, method, store, images, labels, where)
    return partial(read_some, method, store, images, labels, read_cases(count, random_reads)[operation])


def read_all(method: Method, store_path: Path, images: Images, labels: np.ndarray) -> float:
    """Read every image in order, batch by batch, verifying each; return seconds.

    Batches are bounded in images and bytes (``byte_batches``). Equally shaped images go through one reused
    buffer; images of differing shapes get each batch's buffers allocated and touched outside the clock.
    """
    count = len(images)
    parts = list(byte_batches(images, most=READ_BATCH))
    fixed = isinstance(images, np.ndarray)
    buffer = allocate(images, np.arange(max(part.stop - part.start for part in parts))) if fixed else None
    labels_out = np.zeros(min(count, READ_BATCH), dtype=labels.dtype)
    watch = Stopwatch()
    store = method.store(store_path)
    with watch.running():
        reader = store.open()
    try:
        for part in parts:
            indices = np.arange(part.start, part.stop)
            out = buffer if fixed else allocate(images, indices)
            with watch.running():
                reader.read_into(indices, out, labels_out)
            verify(method, out, labels_out, images, labels, indices)
    finally:
        with watch.running():
            reader.close()
    return watch.seconds


def filtered_batch(images: Images) -> int:
    """Images per batch of a filtered read: READ_BATCH, fewer when the largest image would make a batch
    exceed the byte budget of the other reads."""
    largest = int(image_sizes(images).max()) if len(images) else 1
    return max(1, min(READ_BATCH, BATCH_BYTES // max(1, largest)))


def filtered_buffers(
    images: Images, labels: np.ndarray, matching: int, watch: Stopwatch
) -> tuple[Callable[[np.ndarray], Images], np.ndarray]:
    """Where a filtered read puts its batches: one buffer for images of one shape, else one allocated per
    batch with ``watch`` paused; and the labels' buffer."""
    most = filtered_batch(images)
    fixed = isinstance(images, np.ndarray)
    buffer = allocate(images, np.arange(min(most, max(1, matching)))) if fixed else None
    labels_out = np.zeros(most if buffer is None else len(buffer), dtype=labels.dtype)

    def buffers(ids: np.ndarray) -> Images:
        if buffer is not None:
            return buffer
        with watch.paused():
            return allocate(images, ids)

    return buffers, labels_out


def read_filtered(
    method: Method, store_path: Path, images: Images, labels: np.ndarray, where: Where
) -> float:
    """Open the store, read every image ``where`` matches as the store finds them, close; return seconds.

    Each batch the reader yields is checked outside the clock: its ids must be the next of the source's
    matching ids (all of them, in increasing order, none twice) and its images and labels those of the
    source. Output for images of differing shapes is allocated outside the clock too, when the reader asks.
    """
    expected = where.select(labels, metadata_of(images))
    watch = Stopwatch()
    buffers, labels_out = filtered_buffers(images, labels, len(expected), watch)
    seen = 0
    with watch.running():
        reader = method.store(store_path).open()
    try:
        batches_read = reader.read_where(where, buffers, labels_out)
        while True:
            with watch.running():
                step = next(batches_read, None)
            if step is None:
                break
            ids, got = step
            if len(ids) > len(labels_out) or not np.array_equal(ids, expected[seen : seen + len(ids)]):
                raise ReadMismatch(f"{method.name}: the filter {where} found other images than the source's")
            verify(method, got, labels_out, images, labels, ids)
            seen += len(ids)
    finally:
        with watch.running():
            reader.close()
    if seen != len(expected):
        raise ReadMismatch(f"{method.name}: the filter {where} found {seen} of {len(expected)} images")
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


def timed_read(
    read: Callable[[], float],
    evict: Callable[[], cache.Eviction] | None,
    evictions: list[str],
    moved: int,
    floor: float,
) -> float:
    """One read, after evicting the store when ``evict`` is given (noted in ``evictions``); its seconds.

    The memory a read of ``moved`` bytes may allocate is backed first (``first_touch``).
    """
    if evict is not None:
        evictions.append(describe(evict()))
    back_for(moved)
    seconds = read()
    check_physical(seconds, moved, floor)
    return seconds


def case_eviction(evictions: Sequence[str]) -> str:
    """The eviction note of a case: a call whose eviction could not be verified marks it; else how every
    call was made cold (empty for warm reads)."""
    return next((note for note in evictions if "not verified" in note), "".join(evictions[-1:]))


def describe(eviction: cache.Eviction) -> str:
    """How a cold repeat was made cold, in a few words for its row."""
    if eviction.verified:
        return eviction.method
    return f"{eviction.method}, not verified: {eviction.note}"


def time_paper(method: Method, images: Images, labels: np.ndarray, scratch: Path) -> list[Measurement]:
    """The study's own way of timing, one shot each (``timeit(number=1)``): no warm-up, no repeats.

    As the study did: ``store_many`` writes all images, ``read_many`` then reads them back at once into
    arrays allocated inside the clock, from a cache the write has just warmed; ``store_one`` writes a store
    of image 0, ``read_one`` reads it back from that store. Reads are still verified, outside the clock.
    """
    fresh(scratch).mkdir(parents=True)
    count = len(images)
    results = []
    for operation, chosen in (("many", np.arange(count)), ("one", np.arange(1))):
        path = scratch / operation
        watch = Stopwatch()
        with watch.running():
            method.store(path).write(images[: len(chosen)], labels[: len(chosen)])
        moved = image_bytes(images, chosen)
        results.append(Measurement(f"store_{operation}", "none", 0, watch.seconds, len(chosen), moved))
        watch = Stopwatch()
        with watch.running():
            got = allocate(images, chosen)
            labels_got = np.empty(len(chosen), dtype=labels.dtype)
            with method.store(path).open() as reader:
                reader.read_into(chosen, got, labels_got)
        verify(method, got, labels_got, images, labels, chosen)
        results.append(Measurement(f"read_{operation}", "warm", 0, watch.seconds, len(chosen), moved))
    shutil.rmtree(scratch)
    return results
