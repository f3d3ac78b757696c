"""The machine record: every field present and typed, the filesystem the one the kernel reports."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from imagestores.measure import machine
from imagestores.measure.floor import memory_copy_bandwidth
from imagestores.measure.machine import config_sha256, environment_record, filesystem

CONFIG = {"cutoffs": [10, 100], "methods": ["disk", "lmdb"], "dataset": {"source": "synthetic", "seed": 0}}


def test_record_has_every_field_with_its_type(tmp_path):
    record = environment_record(tmp_path, CONFIG, ["numpy", "pandas", "no-such-package-imagestores"])
    types = {
        "timestamp_utc": str,
        "hostname": str,
        "logical_cores": int,
        "available_cores": int,
        "memory_bytes": int,
        "kernel": str,
        "architecture": str,
        "os": str,
        "python_version": str,
        "python_implementation": str,
        "packages": dict,
        "filesystem": dict,
        "config_sha256": str,
    }
    for key, kind in types.items():
        assert isinstance(record[key], kind), key
    assert record["cpu_model"] is None or isinstance(record["cpu_model"], str)
    assert 1 <= record["available_cores"] <= record["logical_cores"]
    assert record["memory_bytes"] > 0
    assert datetime.fromisoformat(record["timestamp_utc"]).utcoffset().total_seconds() == 0
    assert record["packages"]["numpy"] == np.__version__
    assert record["packages"]["no-such-package-imagestores"] is None
    assert record["git"] is None or (
        set(record["git"]) == {"commit", "dirty"} and isinstance(record["git"]["dirty"], bool)
    )
    json.dumps(record)  # it is written next to the results as JSON


def test_git_state_of_a_fresh_checkout(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    assert machine.git_state(tmp_path) is None
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    assert machine.git_state(tmp_path) == {"commit": None, "dirty": False}
    (tmp_path / "new.py").write_text("")
    assert machine.git_state(tmp_path) == {"commit": None, "dirty": True}


def test_filesystem_of_tmp_path_is_the_kernels(tmp_path):
    found = filesystem(tmp_path)
    assert tmp_path.resolve().is_relative_to(found["mount_point"])
    assert os.stat(tmp_path).st_dev == os.stat(found["mount_point"]).st_dev
    read_only = bool(os.statvfs(tmp_path).f_flag & os.ST_RDONLY)
    assert ("ro" in found["mount_options"].split(",")) == read_only
    findmnt = shutil.which("findmnt")
    if findmnt is None:
        pytest.skip("findmnt (util-linux) is not installed")
    listed = subprocess.run(
        [findmnt, "--json", "--target", str(tmp_path), "--output", "TARGET,FSTYPE,SOURCE"],
        check=True,
        capture_output=True,
        text=True,
    )
    (mount,) = json.loads(listed.stdout)["filesystems"]
    assert (found["mount_point"], found["type"]) == (mount["target"], mount["fstype"])
    assert mount["source"].startswith(found["device"])  # findmnt adds [/subdir] for bind mounts


def test_filesystem_of_a_path_not_yet_created(tmp_path):
    assert filesystem(tmp_path / "results" / "later") == filesystem(tmp_path)


def test_mount_points_with_spaces_are_unescaped(tmp_path, monkeypatch):
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        "1 0 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
        "2 1 0:5 / /mnt/my\\040data rw,nosuid - tmpfs tmpfs rw,size=1k\n"
        "3 1 0:6 / /mnt/my rw - xfs /dev/sdb rw\n"
    )
    monkeypatch.setattr(machine, "MOUNTINFO", mountinfo)
    assert filesystem(Path("/mnt/my data/store")) == {
        "mount_point": "/mnt/my data",
        "type": "tmpfs",
        "device": "tmpfs",
        "device_number": "0:5",
        "mount_options": "rw,nosuid",
        "super_options": "rw,size=1k",
    }
    assert filesystem(Path("/mnt/my/store"))["type"] == "xfs"
    assert filesystem(Path("/mnt/mydata"))["type"] == "ext4"


def test_config_hash_is_stable_and_follows_the_config():
    reordered = {
        "dataset": {"seed": 0, "source": "synthetic"},
        "methods": ["disk", "lmdb"],
        "cutoffs": [10, 100],
    }
    assert config_sha256(CONFIG) == config_sha256(reordered)
    assert len(config_sha256(CONFIG)) == 64
    assert config_sha256(CONFIG) != config_sha256({**CONFIG, "cutoffs": [10, 1000]})
    assert config_sha256(CONFIG) != config_sha256({**CONFIG, "methods": ["lmdb", "disk"]})


def test_memory_copy_bandwidth_is_positive_and_finite():
    bandwidth = memory_copy_bandwidth(nbytes=8 * 2**20, repeats=2)
    assert bandwidth > 0
    assert math.isfinite(bandwidth)
    with pytest.raises(ValueError):
        memory_copy_bandwidth(nbytes=0)
