"""A folder of the user's own image files: found, checked, decoded once, and prepared for every store.

Files are walked recursively in sorted path order and told apart by content, not by name: whatever
Pillow (or tifffile, for TIFFs Pillow cannot decode) opens is an image; anything else is skipped and
counted, unless its name says it is an image (``.jpg``, ``.png``, ...), in which case it is a damaged
image. A damaged image stops the run before any store is built, naming every such file and why, unless
``on_bad_file: skip``, which leaves them out and lists each in ``dataset.json``. Pixels are decoded by
``stores.codecs.decode_image``, the one set of rules the ``original`` encoding reads back with.

Decoding runs on a pool of threads (Pillow and tifffile release the GIL while decoding), with a bounded
number of files in flight, and is streamed to disk in path order, so memory holds a few images at a time.
"""

from __future__ import annotations

import csv
import logging
import os
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from imagestores.data.prepared import FILES, INDEX, INDEX_DTYPE, LABELS, METADATA, ORIGINALS, PIXELS
from imagestores.stores.codecs import Decoded, decode_image, suffix_of

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".jpe", ".png", ".tif", ".tiff", ".webp", ".bmp", ".gif"})
"""Names that say a file is an image: such a file that does not decode is damaged, not something else."""

BAD_FILE_ACTIONS = ("fail", "skip")
ALIGN = 64
"""Each image's pixels start at a multiple of this many bytes, so every dtype's view of them is aligned."""

PATH_COLUMN = "path"
"""The column of ``metadata.parquet`` and ``images.csv`` holding each image's path relative to the folder."""

FILE_COLUMNS = ["path", "format", "mode", "frames", "height", "width", "channels", "dtype", "pixel_bytes"]
FILE_COLUMNS += ["file_bytes"]
"""The columns of ``images.csv``: one row per distinct image file, in the prepared order."""

EXAMPLES = 20
"""Files named in an error message or listed as examples in dataset.json, at most."""


class FolderError(ValueError):
    """The folder, its files or its metadata table cannot be used as they are; the message says the fix."""


@dataclass(frozen=True)
class FolderOptions:
    """The ``dataset`` keys of a folder source (see config/config.yaml)."""

    path: Path
    labels: str = "folder"
    """``folder`` (first-level subfolder = class), ``none`` (every label 0) or a metadata column."""
    metadata: Path | None = None
    key: str = "path"
    on_bad_file: str = "fail"


def find_files(root: Path) -> list[Path]:
    """Every file below ``root``, in sorted order of the path relative to it, following symbolic links.

    A folder reached twice (a link loop, or two links to one folder) is refused: its images would be
    counted twice, or the walk would never end.
    """
    if not root.exists():
        raise FolderError(f"dataset.path {root} does not exist; set it to the folder that holds your images")
    if not root.is_dir():
        raise FolderError(f"dataset.path {root} is a file, not a folder; set it to the folder of your images")
    seen: dict[str, Path] = {}
    files = []

    def refuse(error: OSError) -> None:
        raise FolderError(f"cannot read {error.filename}: {error.strerror}; check its permissions") from error

    for directory, subdirectories, names in os.walk(root, followlinks=True, onerror=refuse):
        real = os.path.realpath(directory)
        if real in seen:
            raise FolderError(
                f"{directory} is the folder {seen[real]} again, reached through a symbolic link (a loop, "
                "or two links to one folder): its images would be counted twice or forever. Remove the "
                "link, or point dataset.path below it"
            )
        seen[real] = Path(directory)
        subdirectories.sort()
        files += [Path(directory, name) for name in names]
    return sorted(files, key=lambda path: path.relative_to(root).as_posix())


@dataclass
class _Outcome:
    """What reading one file gave: a decoded image, a damaged image (``problem``), or no image at all."""

    path: Path
    data: bytes = b""
    decoded: Decoded | None = None
    problem: str = ""


def _read(path: Path) -> _Outcome:
    """Read and decode one file; never raises for what the file holds."""
    try:
        data = path.read_bytes()
    except OSError as error:
        return _Outcome(path, problem=f"cannot be read: {error.strerror or error}")
    if not data:
        return (
            _Outcome(path, problem="is empty (0 bytes)")
            if path.suffix.lower() in IMAGE_SUFFIXES
            else _Outcome(path)
        )
    try:
        decoded = decode_image(data)
    except Exception as error:  # any decoder failure is the file's problem, reported by name
        if path.suffix.lower() in IMAGE_SUFFIXES or _looks_like_an_image(data):
            return _Outcome(path, problem=f"is not a readable image ({type(error).__name__}: {error})")
        return _Outcome(path)
    if decoded.pixels.ndim not in (2, 3) or decoded.pixels.size == 0:
        return _Outcome(path, problem=f"decodes to pixels of shape {decoded.pixels.shape}, not an image")
    return _Outcome(path, data, decoded)


def _looks_like_an_image(data: bytes) -> bool:
    """Whether the first bytes are an image format's signature (a damaged image without an image suffix)."""
    return suffix_of(data) != ".bin"


def _decoded_in_order(paths: Sequence[Path], threads: int) -> Iterator[_Outcome]:
    """``_read`` of every path on ``threads`` threads, in order, with at most 2 x threads files in flight."""
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        pending: deque[Future[_Outcome]] = deque()
        for path in paths:
            pending.append(pool.submit(_read, path))
            if len(pending) >= 2 * max(1, threads):
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


class _Writer:
    """Appends decoded images to the prepared files in order, keeping only counts and sizes in memory."""

    def __init__(self, directory: Path, root: Path) -> None:
        self.root = root
        self.pixels: BinaryIO = open(directory / PIXELS, "wb")  # noqa: SIM115 - closed in close()
        self.originals: BinaryIO = open(directory / ORIGINALS, "wb")  # noqa: SIM115
        self.index: BinaryIO = open(directory / INDEX, "wb")  # noqa: SIM115
        self.files_file = open(directory / FILES, "w", newline="")  # noqa: SIM115
        self.files = csv.writer(self.files_file)
        self.files.writerow(FILE_COLUMNS)
        self.pixel_offset = self.file_offset = 0
        self.relative: list[str] = []
        self.pixel_bytes: list[int] = []
        self.file_bytes: list[int] = []
        self.formats: Counter[str] = Counter()
        self.modes: Counter[str] = Counter()
        self.dtypes: Counter[str] = Counter()
        self.shapes: Counter[str] = Counter()
        self.multi_frame = 0

    def add(self, outcome: _Outcome) -> None:
        decoded = outcome.decoded
        assert decoded is not None
        pixels = decoded.pixels
        padding = -self.pixel_offset % ALIGN
        self.pixels.write(b"\0" * padding)
        self.pixel_offset += padding
        row = np.zeros(1, dtype=INDEX_DTYPE)
        row["offset"], row["nbytes"] = self.pixel_offset, pixels.nbytes
        row["file_offset"], row["file_nbytes"] = self.file_offset, len(outcome.data)
        row["ndim"] = pixels.ndim
        row["shape"][0, : pixels.ndim] = pixels.shape
        row["dtype"] = pixels.dtype.str
        self.pixels.write(memoryview(pixels).cast("B"))
        self.originals.write(outcome.data)
        row.tofile(self.index)
        self.pixel_offset += pixels.nbytes
        self.file_offset += len(outcome.data)
        relative = outcome.path.relative_to(self.root).as_posix()
        height, width, *channels = pixels.shape
        channels_ = channels[0] if channels else 0
        size = (height, width, channels_, pixels.dtype.name, pixels.nbytes, len(outcome.data))
        self.files.writerow([relative, decoded.format, decoded.mode, decoded.frames, *size])
        self.relative.append(relative)
        self.pixel_bytes.append(pixels.nbytes)
        self.file_bytes.append(len(outcome.data))
        self.formats[decoded.format] += 1
        self.modes[decoded.mode] += 1
        self.dtypes[pixels.dtype.name] += 1
        self.shapes["x".join(map(str, pixels.shape))] += 1
        self.multi_frame += decoded.frames > 1

    def close(self) -> None:
        for file in (self.pixels, self.originals, self.index, self.files_file):
            file.close()


def distribution(values: Sequence[int]) -> dict[str, Any]:
    """Total, quantiles and a histogram on powers of two of byte sizes, for dataset.json and its figure."""
    array = np.asarray(values, dtype=np.int64)
    exponents = np.floor(np.log2(np.maximum(array, 1))).astype(int)
    counts = Counter(exponents.tolist())
    quantiles = np.quantile(array, [0, 0.1, 0.5, 0.9, 1]).tolist()
    return {
        "total": int(array.sum()),
        "min": int(quantiles[0]),
        "p10": quantiles[1],
        "median": quantiles[2],
        "p90": quantiles[3],
        "max": int(quantiles[4]),
        "histogram_log2": {str(2**exponent): counts[exponent] for exponent in sorted(counts)},
    }


def prepare_folder(options: FolderOptions, size: int | str, directory: Path, threads: int = 1) -> dict:
    """Write the prepared files of ``options.path`` into ``directory``; return what dataset.json records.

    ``size`` is ``all`` (every image once) or a number of images: the set is repeated (as CIFAR-10 is) or
    truncated to it. Refuses, naming the problem and its fix, before anything reaches a store.
    """
    if options.on_bad_file not in BAD_FILE_ACTIONS:
        raise FolderError(f"dataset.on_bad_file must be one of {', '.join(BAD_FILE_ACTIONS)}")
    root = options.path
    paths = find_files(root)
    table = _read_metadata(options) if options.metadata else None
    if table is not None:
        _refuse_unmatched_files(table, paths, root, options)  # before decoding anything
    log.info("decoding %d files under %s on %d threads", len(paths), root, threads)
    writer = _Writer(directory, root)
    bad: list[tuple[str, str]] = []
    not_images: list[str] = []
    try:
        for number, outcome in enumerate(_decoded_in_order(paths, threads), 1):
            relative = outcome.path.relative_to(root).as_posix()
            if outcome.decoded is not None:
                writer.add(outcome)
            elif outcome.problem:
                bad.append((relative, outcome.problem))
            else:
                not_images.append(relative)
            if number % 10_000 == 0:
                log.info("decoded %d of %d files", number, len(paths))
    finally:
        writer.close()
    if bad and options.on_bad_file == "fail":
        listed = "\n".join(f"  {path} {problem}" for path, problem in bad[:EXAMPLES])
        more = f"\n  ... and {len(bad) - EXAMPLES} more" if len(bad) > EXAMPLES else ""
        raise FolderError(
            f"{len(bad)} image file(s) under {root} cannot be read:\n{listed}{more}\n"
            "Repair or remove them, or set 'dataset.on_bad_file: skip' to leave them out (each is then "
            "listed in results/data/dataset.json)."
        )
    count = len(writer.relative)
    if count == 0:
        raise FolderError(
            f"no image found under {root} ({len(not_images)} other file(s)); JPEG, PNG, TIFF, WebP, BMP "
            "and GIF files are read, by content. Check dataset.path"
        )
    for path, problem in bad:
        log.warning("skipped %s: it %s", path, problem)
    metadata = _matched_metadata(table, writer.relative, options, {path for path, _ in bad})
    labels, classes = _labels(writer.relative, metadata, options)
    total = count if size == "all" else int(size)
    base_rows = np.fromfile(directory / INDEX, dtype=INDEX_DTYPE)
    np.take(base_rows, np.arange(total) % count).tofile(directory / INDEX)
    np.save(directory / LABELS, np.take(labels, np.arange(total) % count))
    pq.write_table(pa.Table.from_pandas(metadata, preserve_index=False), directory / METADATA)
    return {
        "path": str(root),
        "size": total,
        "base_size": count,
        "files_found": len(paths),
        "not_images": {"count": len(not_images), "examples": not_images[:EXAMPLES]},
        "skipped_bad_files": [{"path": path, "problem": problem} for path, problem in bad],
        "labels": options.labels,
        "classes": classes,
        "metadata": str(options.metadata) if options.metadata else None,
        "metadata_columns": [column for column in metadata.columns if column != PATH_COLUMN],
        "key": options.key if options.metadata else None,
        "formats": dict(writer.formats.most_common()),
        "modes": dict(writer.modes.most_common()),
        "dtypes": dict(writer.dtypes.most_common()),
        "shapes": dict(writer.shapes.most_common(EXAMPLES)),
        "distinct_shapes": len(writer.shapes),
        "multi_frame_files": writer.multi_frame,
        "pixel_bytes": distribution(writer.pixel_bytes),
        "file_bytes": distribution(writer.file_bytes),
    }


def _read_metadata(options: FolderOptions) -> pd.DataFrame:
    """The metadata table (CSV, or Parquet by its suffix) with its key column read as text."""
    path = options.metadata
    assert path is not None
    if not path.is_file():
        raise FolderError(f"dataset.metadata {path} does not exist; set it to your CSV or Parquet table")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            table = pd.read_parquet(path)
        else:
            table = pd.read_csv(path, dtype={options.key: str}, keep_default_na=False)
    except (OSError, ValueError, pa.ArrowException) as error:
        raise FolderError(f"dataset.metadata {path} cannot be read as a table: {error}") from error
    if options.key not in table.columns:
        raise FolderError(
            f"dataset.metadata {path} has no column {options.key!r} (dataset.key) to name each image; "
            f"its columns are {', '.join(map(str, table.columns))}"
        )
    table[options.key] = table[options.key].astype(str)
    repeated = table[options.key][table[options.key].duplicated()].unique().tolist()
    if repeated:
        raise FolderError(
            f"dataset.metadata {path}: the key column {options.key!r} repeats "
            f"{', '.join(repeated[:EXAMPLES])}; each image needs exactly one row"
        )
    return table


def _names(relative: str) -> tuple[str, str, str]:
    """The ways a metadata key may name an image: its relative path, without its suffix, its file stem."""
    path = Path(relative)
    return relative, path.with_suffix("").as_posix(), path.stem


def _key_column(table: pd.DataFrame, relatives: Sequence[str], options: FolderOptions) -> dict[str, str]:
    """Map from each image's relative path to its key, trying path, path without suffix, then file stem."""
    keys = set(table[options.key])
    for way in range(3):
        names = {relative: _names(relative)[way] for relative in relatives}
        if way == 2 and len(set(names.values())) < len(names):
            continue  # stems are ambiguous: two files of one stem
        if keys & set(names.values()):
            return names
    return {relative: relative for relative in relatives}


def _refuse_unmatched_files(
    table: pd.DataFrame, paths: Sequence[Path], root: Path, options: FolderOptions
) -> None:
    """Refuse keys that name no file, before any decoding (files without rows are checked once decoded)."""
    relatives = [path.relative_to(root).as_posix() for path in paths]
    names = set(_key_column(table, relatives, options).values())
    orphans = [key for key in table[options.key] if key not in names]
    if orphans:
        raise FolderError(
            f"dataset.metadata {options.metadata}: {len(orphans)} value(s) of {options.key!r} name no file "
            f"under {root}: {', '.join(orphans[:EXAMPLES])}. A key is an image's path relative to the folder "
            "(with or without its suffix) or its file name without suffix; remove those rows or fix the keys"
        )


def _matched_metadata(
    table: pd.DataFrame | None, relatives: list[str], options: FolderOptions, skipped: set[str]
) -> pd.DataFrame:
    """One metadata row per prepared image, in prepared order, its path first (skipped files have none)."""
    if table is None:
        return pd.DataFrame({PATH_COLUMN: relatives})
    names = _key_column(table, relatives, options)
    rows = table.set_index(options.key)
    missing = [relative for relative in relatives if names[relative] not in rows.index]
    if missing:
        raise FolderError(
            f"{len(missing)} image(s) have no row in dataset.metadata {options.metadata} (column "
            f"{options.key!r}): {', '.join(missing[:EXAMPLES])}. Add their rows, or move them out of the "
            "folder"
        )
    matched = rows.loc[[names[relative] for relative in relatives]].reset_index()
    if options.key != PATH_COLUMN and PATH_COLUMN in matched.columns:
        matched = matched.rename(columns={PATH_COLUMN: f"metadata_{PATH_COLUMN}"})
    matched[PATH_COLUMN] = relatives
    matched = matched[[PATH_COLUMN, *(column for column in matched.columns if column != PATH_COLUMN)]]
    log.info(
        "metadata: a row for each of the %d images; %d skipped file(s) left out", len(matched), len(skipped)
    )
    return matched


def _labels(relatives: list[str], metadata: pd.DataFrame, options: FolderOptions) -> tuple[np.ndarray, list]:
    """Integer labels of the images and the class each number stands for (empty when labels are numbers)."""
    if options.labels == "none":
        return np.zeros(len(relatives), dtype=np.int64), []
    if options.labels == "folder":
        top = [relative.split("/")[0] if "/" in relative else None for relative in relatives]
        loose = [relative for relative, name in zip(relatives, top, strict=True) if name is None]
        if loose:
            raise FolderError(
                f"'dataset.labels: folder' takes each image's class from its first-level subfolder, but "
                f"{len(loose)} image(s) lie directly in dataset.path: {', '.join(loose[:EXAMPLES])}. Move "
                "them into a class folder, or set 'dataset.labels: none' or a metadata column"
            )
        values = pd.Series(top)
    else:
        if options.labels not in metadata.columns:
            raise FolderError(
                f"dataset.labels {options.labels!r} is neither 'folder', 'none' nor a column of "
                f"dataset.metadata (columns: {', '.join(map(str, metadata.columns))})"
            )
        values = metadata[options.labels]
        if pd.api.types.is_integer_dtype(values):
            return values.to_numpy(dtype=np.int64), []
    codes, classes = pd.factorize(values, sort=True)
    return codes.astype(np.int64), [str(name) for name in classes]
