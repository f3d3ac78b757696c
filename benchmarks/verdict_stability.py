"""Do two runs agree on every "faster" verdict? The pipeline twice on one config, the verdicts compared.

Runs the pipeline twice from scratch on a small configuration (or ``--configfile``), each in its own
directory, one after the other, and compares the "fastest" rows of the two ``winners.csv`` (the largest
cutoff). A "faster" verdict agrees when the other run prints "faster" for the same case with the same winner;
it contradicts when the other run calls another method faster, or ranks the winner behind another; a tie
in the other run is allowed ("one run") when the two runs' intervals of the margin overlap, as they do for
a case near the threshold, and is a disagreement ("intervals apart") when they exclude each other. Prints
every case with a verdict in either run and exits 1 when any verdict disagrees.

    .venv/bin/python benchmarks/verdict_stability.py runs/stability [--configfile my.yaml] [--cores 2]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
FASTER = "faster"
CASE = ["source", "operation", "cache"]

SMALL = {
    "dataset": {"source": "synthetic", "size": 1000, "seed": 1},
    "cutoffs": [1000],
    "methods": ["npy", "lmdb_raw", "hdf5", "sqlite", "chunks_seek", "disk"],
    "aa_twins": ["npy"],
    "caches": ["warm", "cold"],
    "paper": False,
    "integrity": {"trials": 0},
    "loader": {"workers": [0]},
}
"""Distinct methods (arrays, key-value, a file per image, shards), one A/A pair, 1,000 synthetic images; no
damage test and one DataLoader worker count, which verdicts do not need."""


def run(directory: Path, config: dict, cores: int) -> pd.DataFrame:
    """The pipeline on ``config`` in ``directory`` (kept: a finished run is not repeated); its winners."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.yaml").write_text(yaml.safe_dump(config))
    command = [
        *(sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile")),
        *("--configfile", str(directory / "config.yaml"), "--directory", str(directory)),
        *("--cores", str(cores)),
    ]
    subprocess.run(command, check=True)
    return pd.read_csv(directory / "results" / "winners.csv", keep_default_na=False, na_values=[""])


def compare(first: pd.DataFrame, second: pd.DataFrame) -> pd.DataFrame:
    """One row per case with a "faster" verdict in either run: both runs' winner and verdict, and whether
    they ``agree``, or how they disagree (``contradicts``: another method called faster; ``one run``: a tie
    in the other)."""
    fastest = [frame[frame["criterion"] == "fastest"].set_index(CASE) for frame in (first, second)]
    columns = ["winner", "runner_up", "verdict", "ci_low", "ci_high"]
    both = fastest[0][columns].merge(
        fastest[1][columns], left_index=True, right_index=True, how="outer", suffixes=("_1", "_2")
    )
    both = both[(both["verdict_1"] == FASTER) | (both["verdict_2"] == FASTER)].copy()
    same_winner = both["winner_1"] == both["winner_2"]
    both_faster = (both["verdict_1"] == FASTER) & (both["verdict_2"] == FASTER)
    same_pair = same_winner & (both["runner_up_1"] == both["runner_up_2"])
    overlap = (both["ci_low_1"] <= both["ci_high_2"]) & (both["ci_low_2"] <= both["ci_high_1"])
    both["outcome"] = "one run"
    both.loc[same_pair & ~overlap, "outcome"] = "intervals apart"
    both.loc[~same_winner, "outcome"] = "contradicts"
    both.loc[both_faster & same_winner, "outcome"] = "agree"
    return both.reset_index()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="where the two runs go (run-1, run-2)")
    parser.add_argument("--configfile", type=Path, help="a config of your own instead of the small one")
    parser.add_argument("--cores", type=int, default=2)
    arguments = parser.parse_args()
    config = yaml.safe_load(arguments.configfile.read_text()) if arguments.configfile else SMALL
    directory = arguments.directory.resolve()
    first, second = (run(directory / f"run-{number}", config, arguments.cores) for number in (1, 2))
    table = compare(first, second)
    cases = int((first["criterion"] == "fastest").sum())
    with pd.option_context("display.width", 200, "display.max_columns", None, "display.max_rows", None):
        print(table.to_string(index=False) if len(table) else "no case was called faster in either run")
    counts = table["outcome"].value_counts()
    print(
        f"\n{cases} cases; faster in either run: {len(table)}; agree: {counts.get('agree', 0)}, "
        f"faster in one run only (intervals overlap): {counts.get('one run', 0)}, "
        f"intervals apart: {counts.get('intervals apart', 0)}, contradict: {counts.get('contradicts', 0)}"
    )
    sys.exit(0 if table["outcome"].isin(["agree", "one run"]).all() else 1)


if __name__ == "__main__":
    main()
