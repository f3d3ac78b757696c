"""The record of the machine, software and configuration a run measured, kept next to its numbers.

A timing means nothing without the disk, filesystem, library versions and code that produced it, and a
result can only be compared with another when these are known.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import re
import socket
import subprocess
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MOUNTINFO = Path("/proc/self/mountinfo")


def cpu_model() -> str | None:
    """The CPU's name from /proc/cpuinfo; None where the kernel gives none (most ARM kernels)."""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            return value.strip()
    return None


def os_name() -> str:
    """The distribution's name and version, or just the system's name where os-release is missing."""
    try:
        return platform.freedesktop_os_release()["PRETTY_NAME"]
    except (OSError, KeyError):
        return platform.system()


def package_version(name: str) -> str | None:
    """Installed version of distribution ``name``; None when it is not installed."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash in paths as octal escapes such as ``\\040``."""
    return re.sub(r"\\([0-7]{3})", lambda match: chr(int(match.group(1), 8)), field)


def filesystem(path: Path) -> dict[str, str]:
    """Mount point, type, device and options of the filesystem holding ``path`` (which need not exist).

    The mount is the longest mount point above the resolved path; of mounts stacked on one point the last
    listed is on top. ``mount_options`` are the mount's own, ``super_options`` the filesystem's.
    """
    target = Path(path).resolve()
    best: tuple[Path, list[str]] | None = None
    for line in MOUNTINFO.read_text().splitlines():
        fields = line.split(" ")
        mount_point = Path(_unescape(fields[4]))
        if target.is_relative_to(mount_point) and (
            best is None or len(mount_point.parts) >= len(best[0].parts)
        ):
            best = (mount_point, fields)
    if best is None:
        raise LookupError(f"no mount in {MOUNTINFO} holds {target}")
    mount_point, fields = best
    tail = fields[fields.index("-", 6) + 1 :]
    return {
        "mount_point": str(mount_point),
        "type": tail[0],
        "device": _unescape(tail[1]),
        "device_number": fields[2],
        "mount_options": fields[5],
        "super_options": tail[2],
    }


def git_state(directory: Path) -> dict[str, Any] | None:
    """Commit (None before the first) and dirtiness of the checkout holding ``directory``; None outside one.

    Untracked files count as dirty: an uncommitted module changes what ran. ``--no-optional-locks`` keeps
    ``git status`` from rewriting the index while someone else uses the checkout.
    """

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        command = ["git", "--no-optional-locks", "-C", str(directory), *args]
        return subprocess.run(command, capture_output=True, text=True)

    try:
        inside = git("rev-parse", "--is-inside-work-tree")
    except FileNotFoundError:
        return None
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        return None
    head = git("rev-parse", "--verify", "--quiet", "HEAD")
    status = git("status", "--porcelain")
    status.check_returncode()
    return {
        "commit": head.stdout.strip() if head.returncode == 0 else None,
        "dirty": bool(status.stdout.strip()),
    }


def config_sha256(config: Mapping) -> str:
    """SHA-256 of the config as canonical JSON, so equal configs hash equal whatever their key order."""
    canonical = json.dumps(dict(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def environment_record(results_dir: Path, config: Mapping, packages: Iterable[str]) -> dict[str, Any]:
    """Everything about this run's machine, software and configuration that a timing depends on.

    ``git`` describes the checkout of this package's source (the code that measured), not the working
    directory; ``filesystem`` is the one ``results_dir`` is on, where the stores are written.
    """
    return {
        "timestamp_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "hostname": socket.gethostname(),
        "cpu_model": cpu_model(),
        "logical_cores": os.cpu_count(),
        "available_cores": len(os.sched_getaffinity(0)),
        "memory_bytes": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
        "kernel": platform.release(),
        "architecture": platform.machine(),
        "os": os_name(),
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "packages": {name: package_version(name) for name in packages},
        "filesystem": filesystem(results_dir),
        "git": git_state(Path(__file__).resolve().parent),
        "config_sha256": config_sha256(config),
    }
