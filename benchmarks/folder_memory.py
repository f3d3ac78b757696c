"""Peak memory of every operation on a folder of large images: 16-bit TIFFs of 2048 x 2048 (8 MiB each).

Builds the folder (seeded micrographs), runs the pipeline on it for the stores that hold any shape and
uint16, and prints the summary's peak-memory table: every batch is bounded by 64 MiB of pixels, so no
operation should hold more than a few batches, however many images the store has.

    .venv/bin/python benchmarks/folder_memory.py runs/folder-memory [--images 64]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml
from PIL import Image

from imagestores.data.example_folder import micrograph

SIDE = 2048
# Stores of raw pixels or of the files' own bytes: PNG-encoding 8 MiB micrographs would take most of the run
# and says nothing more about memory.
METHODS = ["lmdb_raw", "sqlite", "hdf5_vlen", "parquet", "lance", "chunks_seek", "chunks_mmap"]
METHODS += [
    {"name": "disk_original", "method": "disk", "options": {"encoding": "original"}},
    {"name": "hdf5_blobs_raw", "method": "hdf5_blobs", "options": {"encoding": "raw"}},
    {"name": "webdataset_raw", "method": "webdataset", "options": {"encoding": "raw"}},
]


def make_folder(folder: Path, images: int) -> None:
    """``images`` seeded 16-bit micrographs of SIDE x SIDE as uncompressed TIFFs, two plates."""
    rng = np.random.default_rng(0)
    for number in range(images):
        path = folder / f"plate{number % 2 + 1}" / f"site{number:04d}.tif"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(micrograph(rng, SIDE, SIDE)).save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="where the folder, config and results go")
    parser.add_argument("--images", type=int, default=64, help="images in the folder (8 MiB each)")
    arguments = parser.parse_args()
    directory = arguments.directory.resolve()
    folder = directory / "tiffs"
    if not folder.exists():
        make_folder(folder, arguments.images)
    config = {
        "dataset": {"source": "folder", "path": str(folder), "labels": "folder"},
        "cutoffs": [arguments.images // 4, arguments.images],
        "methods": METHODS,
        "timing": {"min_samples": 1, "max_samples": 1},
        "verdicts": {"min_samples": 2},
        "random_reads": 16,
        "caches": ["warm"],
        "paper": False,
        "aa_twins": [],
        "integrity": {"trials": 0},
        "stores": {"keep": False},
    }
    (directory / "config.yaml").write_text(yaml.safe_dump(config))
    snakefile = Path(__file__).resolve().parents[1] / "Snakefile"
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(snakefile), "--configfile"]
    command += [str(directory / "config.yaml"), "--directory", str(directory), "--cores", "2"]
    subprocess.run(command, check=True)
    page = (directory / "results" / "summary.md").read_text()
    print(page[page.index("## Peak memory") :].split("\n## ")[0])


if __name__ == "__main__":
    main()
