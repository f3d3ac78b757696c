"""Where a job's stores go and what they take: the configured root on this node, free space, disk usage."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from pathlib import Path

from imagestores.stores.base import PACKAGE_FILES, Images, image_sizes


def disk_usage(store: Path) -> dict[str, int]:
    """Allocated bytes (``du -sk``), apparent bytes (``du -sb --apparent-size``) and files of a store.

    The completion marker and shapes (``stores.base.PACKAGE_FILES``) are this package's, not the format's:
    left out.
    """
    return {
        "allocated_bytes": du_bytes(store, "-k") * 1024,
        "apparent_bytes": du_bytes(store, "-b", "--apparent-size"),
        "files": sum(len(set(files) - set(PACKAGE_FILES)) for _, _, files in os.walk(store)),
    }


def du_bytes(path: Path, *options: str) -> int:
    """Bytes that GNU ``du`` reports for ``path`` with ``options``."""
    command = ["du", "-s", *(f"--exclude={name}" for name in PACKAGE_FILES), *options, str(path)]
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    return int(result.stdout.split()[0])


def store_root(configured: str) -> Path:
    """``stores.root`` with environment variables expanded on this node; an unset one is an error.

    Left unexpanded, ``$TMPDIR`` would quietly become a directory of that name under the working directory.
    """
    expanded = os.path.expandvars(configured)
    unset = re.findall(r"\$\{?(\w+)", expanded)
    if unset:
        raise OSError(
            f"stores.root is {configured!r}, but {', '.join(unset)} is not set on {socket.gethostname()}; "
            "set it, or choose a path without it"
        )
    return Path(expanded)


def store_bound(images: Images) -> int:
    """Most bytes one store of ``images`` takes: the raw pixels plus a 4 KiB block per image."""
    return int(image_sizes(images).sum()) + 4096 * len(images)


def check_free_space(root: Path, images: Images) -> None:
    """Refuse to start when ``root`` cannot hold the stores of one measure job, naming what is needed.

    The store read, one round's timed write, the store a rerun replaces and the memory run's write exist
    at once; each is bounded by ``store_bound`` (a file per image).
    """
    require_free_space(root, 4 * store_bound(images), f"a store of {len(images):,} images")


def require_free_space(root: Path, needed: int, what: str, or_else: str = "") -> None:
    """Raise OSError naming ``what`` needs ``needed`` bytes when ``root``'s file system has fewer free;
    ``or_else`` is a fix beside freeing space and moving ``stores.root``."""
    root.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(root).free
    if needed > free:
        raise OSError(
            f"{root} has {free / 2**30:.1f} GiB free, but {what} may need up to {needed / 2**30:.1f} GiB; "
            f"free space, {or_else}or set `stores.root` to a larger file system"
        )
