"""Each project store against a careful, plain use of its format's library, side by side in one process.

For every method, the same N CIFAR-shaped synthetic images (``imagestores.data.synthetic``) are written,
read back whole in one call, and read at 1,000 seeded shuffled positions in one call, by the project's
store (through the registry) and by a plain, careful use of the format's library written here
(``CAREFUL``: ``np.save``; HDF5 ``read_direct``; a Zarr array read with ``get_*_selection(out=...)``;
SQLite with 64 KiB pages and a plain cursor in id order; Parquet ``fixed_size_binary`` in 10,000-row
groups read with ``read_table(memory_map=True)``; Lance ``take`` of sorted ids; LMDB cursors; tar members
located once and copied out of memory maps; chunk files read with ``preadv`` or memory maps).
Every read, both sides, opens the store, reads and closes it inside the clock, into output allocated and
touched before it; every result is checked against the source outside the clock.

How the clock is kept fair on a virtual machine that hands freed memory back to its host (first touch of such
memory costs seconds per GiB): just before each timed call the process touches and frees as much memory as the
call may need (``imagestores.measure.first_touch.back``, as the pipeline does), so the call's page cache and
buffers come from memory that is already backed. The two implementations' repeats alternate (ABAB...), after
one untimed warm-up each, so drift hits both. Times are ``time.perf_counter_ns`` medians; the spread printed
is the range of the repeats and of the paired ratios (repeat i of the project over repeat i of the careful
version).

Stores of encoded bytes are compared with ``encoding: raw`` (the PNG codec is the same code on both sides
and would hide the format); ``disk`` (one PNG per file) is left out by default for its length (add
``--methods disk``).

    PYTHONPATH=src .venv/bin/python benchmarks/careful.py [--images 100000] [--repeats 5]
        [--methods npy,sqlite,...] [--directory /tmp/careful]

It prints a markdown table of ratios (project / careful; above 1 is slower) with both medians.
"""

from __future__ import annotations

import argparse
import datetime
import io
import mmap
import os
import pickle
import platform
import shutil
import sqlite3
import statistics
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa

from imagestores.data.synthetic import synthetic_images
from imagestores.measure.first_touch import back
from imagestores.measure.timing import allocate, random_indices
from imagestores.stores.registry import METHODS, resolve

RAW = {"encoding": "raw"}
"""Options of the stores of encoded bytes in this comparison."""


# --- the careful implementations: write(path, images, labels); read(path, ids, out, labels_out) ---


def npy_write(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    path.mkdir()
    np.save(path / "images.npy", images)
    np.save(path / "labels.npy", labels)


def npy_read(path: Path, ids: np.ndarray, out: np.ndarray, labels_out: np.ndarray) -> None:
    images = np.load(path / "images.npy", mmap_mode="r")
    if len(ids) == len(images) and (ids == np.arange(len(ids))).all():
        out[...] = images
    else:
        np.take(images, ids, axis=0, out=out)
    labels_out[...] = np.load(path / "labels.npy", mmap_mode="r")[ids]
    del images


def hdf5_write(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    import h5py

    path.mkdir()
    with h5py.File(path / "images.h5", "w") as file:
        file.create_dataset("images", data=images)
        file.create_dataset("meta", data=labels)


def hdf5_read(path: Path, ids: np.ndarray, out: np.ndarray, labels_out: np.ndarray) -> None:
    import h5py

    with h5py.File(path / "images.h5", "r") as file:
        if len(ids) == len(file["images"]) and (ids == np.arange(len(ids))).all():
            file["images"].read_direct(out)
            file["meta"].read_direct(labels_out)
            return
        order = np.argsort(ids)  # h5py's fancy indexing wants increasing ids
        out[order] = file["images"][ids[order]]
        labels_out[order] = file["meta"][ids[order]]


def zarr_writer(chunk: int) -> Callable[[Path, np.ndarray, np.ndarray], None]:
    def write(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
        import zarr

        group = zarr.open_group(path, mode="w")
        array = group.create_array(
            "images",
            shape=images.shape,
            dtype=images.dtype,
            chunks=(chunk, *images.shape[1:]),
            shards=(1000, *images.shape[1:]),
            compressors=None,
        )
        array[...] = images
        group.create_array("labels", data=labels, compressors=None)

    return write


def zarr_read(path: Path, ids: np.ndarray, out: np.ndarray, labels_out: np.ndarray) -> None:
    import zarr
    from zarr.core.buffer.cpu import NDBuffer

    group = zarr.open_group(path, mode="r")
    images = group["images"]
    if len(ids) == images.shape[0] and (ids == np.arange(len(ids))).all():
        images.get_basic_selection(slice(None), out=NDBuffer.from_numpy_array(out))
    else:
        order = np.argsort(ids)
        sorted_out = np.empty_like(out)
        images.get_orthogonal_selection(ids[order], out=NDBuffer.from_numpy_array(sorted_out))
        out[order] = sorted_out
    labels_out[...] = group["labels"][:][ids]


def lmdb_write(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """The study's layout: one pickled value per key in one transaction."""
    import lmdb

    from imagestores.stores._lmdb import key, map_size
    from imagestores.stores.pickled_lmdb import PickledImage

    with lmdb.open(str(path), map_size=map_size(images)) as env, env.begin(write=True) as txn:
        for index, label in enumerate(labels.tolist()):
            image = images[index]
            txn.put(
                key(index), pickle.dumps(PickledImage(image.tobytes(), image.shape, image.dtype.str, label))
            )


def lmdb_read(path: Path, ids: np.ndarray, out: np.ndarray, labels_out: np.ndarray) -> None:
    import lmdb

    from imagestores.stores._lmdb import key

    with lmdb.open(str(path), readonly=True, lock=False) as env, env.begin() as txn:
        for position, index in enumerate(ids.tolist()):
            value = pickle.loads(txn.get(key(index)))
            out[position] = value.image()
            labels_out[position] = value.label


def lmdb_raw_write(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """Label then raw pixels per key, ``putmulti`` in append mode, a transaction per 4,096 images."""
    import lmdb

    from imagestores.stores._lmdb import key, map_size

    flat = images.reshape(len(images), -1)
    with lmdb.open(str(path), map_size=map_size(images), sync=False) as env:
        for start in range(0, len(images), 4096):
            stop = min(start + 4096, len(images))
            with env.begin(write=True) as txn:
                values = (
                    (key(index), int(labels[index]).to_bytes(8, "little") + flat[index].tobytes())
                    for index in range(start, stop)
                )
                txn.cursor().putmulti(values, append=True)


def lmdb_raw_read(path: Path, ids: np.ndarray, out: np.ndarray, labels_out: np.ndarray) -> None:
    import lmdb

    from imagestores.stores._lmdb import key

    flat = out.reshape(len(out), -1)
    with lmdb.open(str(path), readonly=True, lock=False) as env, env.begin(buffers=True) as txn:
        if len(ids) > 1 and (np.diff(ids) == 1).all():
            cursor = txn.cursor()
            cursor.set_key(key(int(ids[0])))
            values = cursor.iternext(keys=False)
        else:
            values = (txn.get(key(index)) for index in ids.tolist())
        for position, value in zip(range(len(ids)), values, strict=False):
            labels_out[position] = int.from_bytes(value[:8], "little")
            flat[position] = np.frombuffer(value, np.uint8, offset=8)


SQLITE_PAGE = 65536


def sqlite_write(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    path.mkdir()
    connection = sqlite3.connect(path / "images.sqlite")
    connection.execute(f"PRAGMA page_size = {SQLITE_PAGE}")
    connection.execute("PRAGMA synchronous = OFF")
    connection.execute("CREATE TABLE images (id INTEGER PRIMARY KEY, label INTEGER, data BLOB)")
    flat = images.reshape(len(images), -1)
    with connection:
        connection.executemany(
            "INSERT INTO images VALUES (?, ?, ?)",
            ((index, label, flat[index].tobytes()) for index, label in enumerate(labels.tolist())),
        )
    connection.close()


def sqlite_read(path: Path, ids: np.ndarray, out: np.ndarray, labels_out: np.ndarray) -> None:
    connection = sqlite3.connect(f"{(path / 'images.sqlite').resolve().as_uri()}?mode=ro", uri=True)
    flat = out.reshape(len(out), -1)
    if len(ids) > 1 and (np.diff(ids) == 1).all():
        rows = connection.execute(
            "SELECT label, data FROM images WHERE id BETWEEN ? AND ? ORDER BY id", (int(ids[0]), int(ids[-1]))
        )
        for position, (label, data) in enumerate(rows):
            labels_out[position] = label
            flat[position] = np.frombuffer(data, np.uint8)
    else:
        order = np.argsort(ids)
        wanted = ids[order].tolist()
        rows = connection.execute(
            f"SELECT label, data FROM images WHERE id IN ({','.join('?' * len(wanted))}) ORDER BY id", wanted
        )
        for position, (label, data) in zip(order.tolist(), rows, strict=True):
            labels_out[position] = label
            flat[position] = np.frombuffer(data, np.uint8)
    connection.close()


def _fixed_table(images: np.ndarray, labels: np.ndarray) -> pa.Table:
    import pyarrow as pa

    width = images[0].nbytes
    column = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(width), len(images), [None, pa.py_buffer(np.ascontiguousarray(images))]
    )
    return pa.table({"image": column, "label": pa.array(labels)})


def _fill_from(table, order: np.ndarray | None, out: np.ndarray, labels_out: np.ndarray) -> None:
    """Copy a table's image and label columns into the output (rows in ``order`` when given)."""
    flat = out.reshape(len(out), -1)
    labels = table.column("label").to_numpy()
    start = 0
    for chunk in table.column("image").chunks:
        records = np.frombuffer(
            chunk.buffers()[1], np.uint8, len(chunk) * flat.shape[1], chunk.offset * flat.shape[1]
        )
        records = records.reshape(len(chunk), -1)
        if order is None:
            flat[start : start + len(chunk)] = records
        else:
            flat[order[start : start + len(chunk)]] = records
        start += len(chunk)
    if order is None:
        labels_out[...] = labels
    else:
        labels_out[order] = labels


def parquet_write(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    import pyarrow.parquet as pq

    path.mkdir()
    pq.write_table(
        _fixed_table(images, labels),
        path / "images.parquet",
        row_group_size=10_000,
        compression="none",
        use_dictionary=False,
        write_statistics=False,
    )


def parquet_read(path: Path, ids: np.ndarray, out: np.ndarray, labels_out: np.ndarray) -> None:
    import pyarrow.parquet as pq

    if len(ids) > 1 and (ids == np.arange(len(ids))).all():
        _fill_from(pq.read_table(path / "images.parquet", memory_map=True), None, out, labels_out)
        return
    file = pq.ParquetFile(path / "images.parquet", memory_map=True)
    sizes = [file.metadata.row_group(group).num_rows for group in range(file.metadata.num_row_groups)]
    starts = np.concatenate(([0], np.cumsum(sizes)))
    groups = np.searchsorted(starts, ids, side="right") - 1
    for group in np.unique(groups).tolist():
        chosen = np.flatnonzero(groups == group)
        table = file.read_row_group(group).take(ids[chosen] - starts[group])
        _fill_from(table, chosen, out, labels_out)
    file.close()


def lance_write(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    import lance

    lance.write_dataset(_fixed_table(images, labels), path)


def lance_read(path: Path, ids: np.ndarray, out: np.ndarray, labels_out: np.ndarray) -> None:
    import lance

    order = np.argsort(ids)
    table = lance.dataset(path).take(ids[order], columns=["image", "label"])
    _fill_from(table, order, out, labels_out)


CHUNK_BYTES = 5_000_000


def chunks_write(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """Fixed-size raw records, ``CHUNK_BYTES`` per file; where each is follows from its id."""
    path.mkdir()
    per_chunk = max(1, CHUNK_BYTES // images[0].nbytes)
    for number, start in enumerate(range(0, len(images), per_chunk)):
        images[start : start + per_chunk].tofile(path / f"chunk-{number:05d}.bin")
    np.save(path / "labels.npy", labels)


def _chunk_runs(ids: np.ndarray, per_chunk: int) -> Iterator[tuple[int, int, int, int]]:
    """(position in ids, chunk, first record in it, records) of each run of ids within one chunk."""
    chunk = ids // per_chunk
    breaks = np.flatnonzero((np.diff(ids) != 1) | (np.diff(chunk) != 0)) + 1
    starts = np.concatenate(([0], breaks))
    lengths = np.diff(np.concatenate((starts, [len(ids)])))
    yield from zip(
        starts.tolist(),
        chunk[starts].tolist(),
        (ids[starts] % per_chunk).tolist(),
        lengths.tolist(),
        strict=True,
    )


def chunks_seek_read(path: Path, ids: np.ndarray, out: np.ndarray, labels_out: np.ndarray) -> None:
    size = out[0].nbytes
    per_chunk = max(1, CHUNK_BYTES // size)
    files: dict[int, int] = {}
    for position, chunk, offset, length in _chunk_runs(ids, per_chunk):
        if chunk not in files:
            files[chunk] = os.open(path / f"chunk-{chunk:05d}.bin", os.O_RDONLY)
        os.preadv(files[chunk], [out[position : position + length]], offset * size)
    for fd in files.values():
        os.close(fd)
    labels_out[...] = np.load(path / "labels.npy", mmap_mode="r")[ids]


def chunks_mmap_read(path: Path, ids: np.ndarray, out: np.ndarray, labels_out: np.ndarray) -> None:
    size = out[0].nbytes
    per_chunk = max(1, CHUNK_BYTES // size)
    maps: dict[int, mmap.mmap] = {}
    for position, chunk, offset, length in _chunk_runs(ids, per_chunk):
        if chunk not in maps:
            with open(path / f"chunk-{chunk:05d}.bin", "rb") as file:
                maps[chunk] = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        source = np.frombuffer(maps[chunk], np.uint8, length * size, offset * size)
        out[position : position + length] = source.reshape(length, *out.shape[1:])
        del source
    for mapped in maps.values():
        mapped.close()
    labels_out[...] = np.load(path / "labels.npy", mmap_mode="r")[ids]


SHARD_SAMPLES = 10_000


def webdataset_write(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """Tar shards of ``{key}.cls`` + ``{key}.npy`` members; member offsets located once, after each shard."""
    path.mkdir()
    offsets = np.zeros((len(images), 2), dtype=np.int64)
    for number, start in enumerate(range(0, len(images), SHARD_SAMPLES)):
        shard = path / f"shard-{number:06d}.tar"
        with tarfile.open(shard, "w", format=tarfile.USTAR_FORMAT) as tar:
            for index in range(start, min(start + SHARD_SAMPLES, len(images))):
                for name, data in (
                    (f"{index:09d}.cls", str(labels[index]).encode()),
                    (f"{index:09d}.npy", _npy(images[index])),
                ):
                    member = tarfile.TarInfo(name)
                    member.size = len(data)
                    tar.addfile(member, io.BytesIO(data))
        with tarfile.open(shard) as tar:
            for member in tar:
                offsets[int(member.name[:9]), int(member.name.endswith(".npy"))] = member.offset_data
    np.save(path / "offsets.npy", offsets)


def _npy(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, image)
    return buffer.getvalue()


def webdataset_read(path: Path, ids: np.ndarray, out: np.ndarray, labels_out: np.ndarray) -> None:
    offsets = np.load(path / "offsets.npy", mmap_mode="r")
    size = out[0].nbytes
    header = len(_npy(out[0])) - size
    flat = out.reshape(len(out), -1)
    maps: dict[int, mmap.mmap] = {}
    for position, (index, (label_at, image_at)) in enumerate(
        zip(ids.tolist(), offsets[ids].tolist(), strict=True)
    ):
        number = index // SHARD_SAMPLES
        if number not in maps:
            with open(path / f"shard-{number:06d}.tar", "rb") as file:
                maps[number] = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        data = maps[number]
        labels_out[position] = int(data[label_at : data.find(b"\0", label_at)])
        flat[position] = np.frombuffer(data, np.uint8, size, image_at + header)
    del data
    for mapped in maps.values():
        mapped.close()


def vlen_write(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    import h5py

    path.mkdir()
    flat = images.reshape(len(images), -1)
    with h5py.File(path / "images.h5", "w") as file:
        file.create_dataset("labels", data=labels)
        dataset = file.create_dataset("images", (len(images),), dtype=h5py.vlen_dtype(np.uint8))
        for start in range(0, len(images), 4096):
            column = np.empty(min(4096, len(images) - start), dtype=object)
            for position in range(len(column)):
                column[position] = flat[start + position]
            # h5py's slice assignment would turn equal-length blobs into a 2-D array: write at the low level.
            file_space = dataset.id.get_space()
            file_space.select_hyperslab((start,), (len(column),))
            dataset.id.write(h5py.h5s.create_simple((len(column),)), file_space, column)


def vlen_read(path: Path, ids: np.ndarray, out: np.ndarray, labels_out: np.ndarray) -> None:
    import h5py

    flat = out.reshape(len(out), -1)
    with h5py.File(path / "images.h5", "r") as file:
        order = np.argsort(ids)
        blobs = file["images"][ids[order]] if len(ids) < len(file["images"]) else file["images"][:]
        for position, blob in zip(order.tolist(), blobs, strict=True):
            flat[position] = blob
        labels_out[order] = (
            file["labels"][ids[order]] if len(ids) < len(file["labels"]) else file["labels"][:]
        )


def blobs_write(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    import h5py

    path.mkdir()
    flat = images.reshape(len(images), -1)
    with h5py.File(path / "images.h5", "w") as file:
        file.create_dataset("labels", data=labels)
        for index in range(len(images)):
            file.create_dataset(f"images/{index // 1000:06d}/{index:09d}", data=flat[index])


def blobs_read(path: Path, ids: np.ndarray, out: np.ndarray, labels_out: np.ndarray) -> None:
    import h5py

    flat = out.reshape(len(out), -1)
    with h5py.File(path / "images.h5", "r") as file:
        for position, index in enumerate(ids.tolist()):
            file[f"images/{index // 1000:06d}/{index:09d}"].read_direct(flat[position])
        order = np.argsort(ids)
        labels_out[order] = (
            file["labels"][ids[order]] if len(ids) < len(file["labels"]) else file["labels"][:]
        )


def disk_write(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    from PIL import Image

    path.mkdir()
    for index in range(len(images)):
        Image.fromarray(images[index]).save(path / f"{index}.png")
    np.savetxt(path / "labels.csv", labels, fmt="%d")


def disk_read(path: Path, ids: np.ndarray, out: np.ndarray, labels_out: np.ndarray) -> None:
    from PIL import Image

    for position, index in enumerate(ids.tolist()):
        with Image.open(path / f"{index}.png") as image:
            out[position] = np.asarray(image)
    labels_out[...] = np.loadtxt(path / "labels.csv", dtype=labels_out.dtype)[ids]


@dataclass(frozen=True)
class Careful:
    write: Callable[[Path, np.ndarray, np.ndarray], None]
    read: Callable[[Path, np.ndarray, np.ndarray, np.ndarray], None]
    what: str
    options: dict | None = None
    """Options of the project's method in this comparison (raw encoding for stores of encoded bytes)."""


CAREFUL: dict[str, Careful] = {
    "npy": Careful(npy_write, npy_read, "np.save; np.load(mmap_mode='r') and one copy or take"),
    "hdf5": Careful(hdf5_write, hdf5_read, "create_dataset(data=...); read_direct, or sorted fancy indexing"),
    "hdf5_direct": Careful(hdf5_write, hdf5_read, "the same file and reads as hdf5"),
    "hdf5_vlen": Careful(
        vlen_write, vlen_read, "vlen dataset by slices; one slice or sorted fancy indexing", RAW
    ),
    "hdf5_blobs": Careful(blobs_write, blobs_read, "create_dataset per image; read_direct per image", RAW),
    "zarr": Careful(zarr_writer(1), zarr_read, "one assignment; get_basic/orthogonal_selection(out=...)"),
    "zarr_batched": Careful(zarr_writer(100), zarr_read, "as zarr, 100 images per chunk"),
    "lmdb": Careful(lmdb_write, lmdb_read, "the study's pickles in one transaction; txn.get per key"),
    "lmdb_raw": Careful(lmdb_raw_write, lmdb_raw_read, "putmulti(append=True) per 4,096; a cursor walk", RAW),
    "sqlite": Careful(sqlite_write, sqlite_read, "64 KiB pages, one executemany; a cursor in id order", RAW),
    "parquet": Careful(
        parquet_write, parquet_read, "fixed_size_binary, 10,000-row groups; read_table(memory_map)", RAW
    ),
    "lance": Careful(lance_write, lance_read, "write_dataset of one table; take of sorted ids", RAW),
    "chunks_seek": Careful(
        chunks_write, chunks_seek_read, "5 MB files of fixed-size records; one preadv per run", RAW
    ),
    "chunks_mmap": Careful(chunks_write, chunks_mmap_read, "the same files copied out of memory maps", RAW),
    "webdataset": Careful(
        webdataset_write, webdataset_read, "tarfile shards of 10,000; offsets located once; mmap copies", RAW
    ),
    "disk": Careful(disk_write, disk_read, "Pillow PNG per file, labels CSV"),
}
DEFAULT_METHODS = [name for name in CAREFUL if name != "disk"]
OPERATIONS = ("write", "read all", "1,000 random")


def project_write(name: str) -> Callable[[Path, np.ndarray, np.ndarray], None]:
    method = resolve({"name": name, "method": name, "options": CAREFUL[name].options or {}})

    def write(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
        method.store(path).write(images, labels)

    return write


def project_read(name: str) -> Callable[[Path, np.ndarray, np.ndarray, np.ndarray], None]:
    method = resolve({"name": name, "method": name, "options": CAREFUL[name].options or {}})

    def read(path: Path, ids: np.ndarray, out: np.ndarray, labels_out: np.ndarray) -> None:
        with method.store(path).open() as reader:
            reader.read_into(ids, out, labels_out)

    return read


Sample = tuple[float, float]
"""Wall-clock and CPU seconds (this process's, all threads) of one call."""


def timed(backing: int, call: Callable[[], None], after: Callable[[], None] = lambda: None) -> Sample:
    """Wall and CPU seconds of ``call``, with ``backing`` bytes backed just before it; ``after`` runs
    after the clock. CPU time says what the call itself costs when other work on the machine stretches the
    wall-clock time."""
    back(backing)
    cpu = time.process_time_ns()
    start = time.perf_counter_ns()
    call()
    elapsed = time.perf_counter_ns() - start
    cpu = time.process_time_ns() - cpu
    after()
    return elapsed / 1e9, cpu / 1e9


def compare(
    name: str,
    images: np.ndarray,
    labels: np.ndarray,
    directory: Path,
    repeats: int,
    random_reads: int,
    backing: int,
) -> dict[str, tuple[list[Sample], list[Sample]]]:
    """Interleaved samples (project, careful) of each operation of method ``name``."""
    careful = CAREFUL[name]
    sides = {"project": (project_write(name), project_read(name)), "careful": (careful.write, careful.read)}
    results: dict[str, tuple[list[Sample], list[Sample]]] = {}
    kept: dict[str, Path] = {}
    samples: dict[str, list[Sample]] = {side: [] for side in sides}
    for repeat in range(repeats + 1):  # repeat 0 is the warm-up
        for side, (write, _) in sides.items():
            path = directory / side / name / str(repeat)
            shutil.rmtree(path, ignore_errors=True)
            path.parent.mkdir(parents=True, exist_ok=True)
            previous = kept.get(side)

            def drop(previous: Path | None = previous) -> None:
                if previous is not None:
                    shutil.rmtree(previous)

            seconds = timed(backing, lambda write=write, path=path: write(path, images, labels), drop)
            kept[side] = path
            if repeat:
                samples[side].append(seconds)
    results["write"] = (samples["project"], samples["careful"])
    for operation, ids in (
        ("read all", np.arange(len(images))),
        ("1,000 random", random_indices(len(images), random_reads)),
    ):
        out = allocate(images, ids)
        labels_out = np.zeros(len(ids), dtype=labels.dtype)
        samples = {side: [] for side in sides}
        for repeat in range(repeats + 1):
            for side, (_, read) in sides.items():
                out.fill(0)
                labels_out.fill(0)
                seconds = timed(backing, partial(read, kept[side], ids, out, labels_out))
                if not (np.array_equal(out, images[ids]) and np.array_equal(labels_out, labels[ids])):
                    raise AssertionError(f"{name}, {side}: {operation} read back something else")
                if repeat:
                    samples[side].append(seconds)
        results[operation] = (samples["project"], samples["careful"])
    for path in kept.values():
        shutil.rmtree(path)
    return results


def cell(project: list[Sample], careful: list[Sample]) -> str:
    """Wall-clock ratio of medians with the range of the paired ratios (repeat i over repeat i), both
    medians, and the ratio of median CPU times."""
    walls = [sample[0] for sample in project], [sample[0] for sample in careful]
    cpus = [sample[1] for sample in project], [sample[1] for sample in careful]
    ratio = statistics.median(walls[0]) / statistics.median(walls[1])
    paired = [a / b for a, b in zip(*walls, strict=True)]
    cpu = statistics.median(cpus[0]) / max(statistics.median(cpus[1]), 1e-9)
    return (
        f"**{ratio:.2f}x** [{min(paired):.2f}-{max(paired):.2f}] "
        f"({statistics.median(walls[0]):.3g} vs {statistics.median(walls[1]):.3g} s; CPU {cpu:.2f}x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100_000, help="images (32x32x3) per store")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per side, after one warm-up")
    parser.add_argument("--random-reads", type=int, default=1000, help="images in the random read")
    parser.add_argument("--methods", default=",".join(DEFAULT_METHODS), help="comma-separated method names")
    parser.add_argument("--directory", type=Path, help="where stores are written (default: a temporary one)")
    arguments = parser.parse_args()
    methods = arguments.methods.split(",")
    unknown = [name for name in methods if name not in CAREFUL or name not in METHODS]
    if unknown:
        parser.error(f"no careful version of {', '.join(unknown)}; choose from {', '.join(CAREFUL)}")
    if arguments.images < 2 or arguments.repeats < 1:
        parser.error("give at least 2 images and 1 repeat")
    images, labels = synthetic_images(0, arguments.images, seed=0)
    backing = 2 * images.nbytes + 64 * 2**20
    directory = arguments.directory or Path(tempfile.mkdtemp(prefix="careful-"))
    print(
        f"{len(images):,} synthetic 32x32x3 images, {arguments.repeats} repeats, "
        f"{datetime.date.today()}, {platform.node()} ({os.cpu_count()} cores), "
        f"Python {platform.python_version()}",
        file=sys.stderr,
    )
    rows = []
    for name in methods:
        began = time.perf_counter()
        results = compare(name, images, labels, directory, arguments.repeats, arguments.random_reads, backing)
        cells = [cell(*results[operation]) for operation in OPERATIONS]
        rows.append(f"| {name} | {' | '.join(cells)} | {CAREFUL[name].what} |")
        print(rows[-1], f"({time.perf_counter() - began:.0f} s)", file=sys.stderr)
    if arguments.directory is None:
        shutil.rmtree(directory, ignore_errors=True)
    print("| method | write | read all, one call | 1,000 random | careful version |")
    print("|---|---:|---:|---:|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
