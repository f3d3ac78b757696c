"""Eviction, checked against the page cache itself.

The residency probe must first see a file it has just read as fully cached; only then does "nothing
resident" after an eviction mean the eviction worked rather than that the probe sees nothing. Where the
filesystem under test cannot evict, the eviction must say so and the probe must agree; tmpfs (which can
never evict) shows that an eviction that did not happen is reported as such.
"""

from __future__ import annotations

import mmap
import os
import tempfile
from pathlib import Path

import pytest

from imagestores.measure import cache
from imagestores.measure.cache import evict, evict_and_verify, resident_bytes, store_files
from imagestores.measure.machine import filesystem

SIZE = 8 * 2**20
MIB = 2**20


def cached_file(path: Path, size: int = SIZE) -> Path:
    """A file of ``size`` random bytes, read back once so that all of it is in the page cache."""
    path.write_bytes(os.urandom(size))
    assert path.read_bytes()
    return path


def test_a_file_just_read_is_fully_resident(tmp_path):
    path = cached_file(tmp_path / "store.bin")
    assert resident_bytes([path]) == (SIZE, SIZE)


def test_a_partial_last_page_counts_only_the_file_bytes(tmp_path):
    path = cached_file(tmp_path / "odd.bin", size=10_000)
    assert resident_bytes([path]) == (10_000, 10_000)


def test_eviction_leaves_the_file_cold_or_says_it_did_not(tmp_path):
    path = cached_file(tmp_path / "store.bin")
    eviction = evict_and_verify([path])
    assert (eviction.resident_before, eviction.total_bytes) == (SIZE, SIZE)
    assert eviction.verified == (eviction.resident_after <= 0.01 * SIZE)
    if not eviction.verified:
        # This filesystem keeps evicted pages: the eviction says so rather than passing as cold.
        assert "not cold" in eviction.note
        return
    assert (eviction.method, eviction.note) == ("fadvise", "")
    assert resident_bytes([path])[0] <= 0.01 * SIZE
    # Pages come back one by one: the probe counts pages, not whole files.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)  # no readahead beyond what is read
        os.pread(fd, 2 * MIB, 4 * MIB)
    finally:
        os.close(fd)
    assert 2 * MIB <= resident_bytes([path])[0] <= 3 * MIB


def test_tmpfs_cannot_evict_and_says_so():
    shm = Path("/dev/shm")
    if not shm.is_dir() or filesystem(shm)["type"] != "tmpfs":
        pytest.skip("no tmpfs at /dev/shm")
    with tempfile.TemporaryDirectory(dir=shm) as directory:
        eviction = evict_and_verify([cached_file(Path(directory) / "store.bin")])
    assert not eviction.verified
    assert eviction.resident_after == SIZE
    assert "tmpfs" in eviction.note
    assert "not cold" in eviction.note


def test_pages_still_mapped_are_not_evicted_and_that_is_reported(tmp_path):
    path = cached_file(tmp_path / "data.mdb")
    with path.open("rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        # Touch every page, as a reader of an open LMDB environment does.
        assert len(mapped[:: mmap.PAGESIZE]) == SIZE // mmap.PAGESIZE
        eviction = evict_and_verify([path])
    assert not eviction.verified
    assert eviction.resident_after == SIZE
    assert "maps" in eviction.note


def test_empty_files_have_nothing_to_evict(tmp_path):
    empty = tmp_path / "empty"
    empty.touch()
    assert resident_bytes([empty]) == (0, 0)
    eviction = evict_and_verify([empty])
    assert eviction.verified
    assert (eviction.resident_after, eviction.total_bytes) == (0, 0)
    full = cached_file(tmp_path / "full.bin", size=MIB)
    assert resident_bytes([empty, full]) == (MIB, MIB)


def test_drop_caches_only_when_writable(tmp_path, monkeypatch):
    path = cached_file(tmp_path / "store.bin", size=MIB)
    # A stand-in for /proc/sys/vm/drop_caches: the test must not drop the whole machine's cache.
    monkeypatch.setattr(cache, "DROP_CACHES", tmp_path / "absent" / "drop_caches")
    assert evict([path], drop_caches=True) == "fadvise"
    stand_in = tmp_path / "drop_caches"
    stand_in.touch()
    monkeypatch.setattr(cache, "DROP_CACHES", stand_in)
    assert evict([path]) == "fadvise"
    assert stand_in.read_text() == ""
    assert evict([path], drop_caches=True) == "fadvise+drop_caches"
    assert stand_in.read_text() == "1"


def test_store_files_walks_the_whole_store(tmp_path):
    store = tmp_path / "store"
    (store / "a" / "b").mkdir(parents=True)
    (store / "empty-dir").mkdir()
    files = [store / "data.mdb", store / "a" / "1.png", store / "a" / "b" / "2.png"]
    for file in files:
        file.write_bytes(b"x")
    (store / "link.png").symlink_to(files[1])
    assert store_files(store) == sorted(files)
    assert store_files(files[0]) == [files[0]]
    with pytest.raises(FileNotFoundError):
        store_files(tmp_path / "missing")
