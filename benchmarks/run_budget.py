"""Where a pipeline run's wall time goes: the configuration's floor, inside timed operations, and what else.

Runs the pipeline in a new directory (the default config, or ``--configfile``), times the whole command, and
prints the run's wall time; its floor, the seconds of one timed sample of every case (what no sampling rule
can save: each case needs one) and the cases that make up most of it; the seconds inside timed operations
(every sample's calls, from ``timings.csv`` and the study-way ``paper.csv``: write, read and epoch calls; the
time to the first batch is part of its epoch) and their share; the wall time of every timing job by rule;
then where each measure job's time went, phase by phase, from its log.

    .venv/bin/python benchmarks/run_budget.py runs/budget [--configfile FILE] [--cores 4]

With ``--no-run`` it only reads a directory that a run already filled (its wall time then comes from
``--wall-seconds``, or is left out).
"""

from __future__ import annotations

import argparse
import itertools
import re
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pandas as pd

LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \w+ [\w.]+: (.*)$")
PHASES = {
    "timing writes, reads and epochs": "timing (builds, warm-ups and samples)",
    "measuring peak memory": "peak memory (the largest cutoff's store is built here)",
    "flipping bytes": "integrity",
    "measured ": "end",
}
"""A measure job's log line starting with the key opens the phase named by the value."""


def timed_seconds(timings: pd.DataFrame) -> pd.Series:
    """Seconds inside timed calls per operation: each sample is ``loops`` calls of ``seconds`` each."""
    rows = timings[~timings["operation"].str.startswith("first_batch")]
    return (rows["seconds"] * rows["loops"]).groupby(rows["operation"]).sum()


def phase_seconds(log: Path) -> dict[str, float]:
    """Seconds between the phase-opening lines of one measure job's log."""
    marks = []
    for line in log.read_text().splitlines():
        match = LOG_LINE.match(line)
        if match is None:
            continue
        stamp, message = match.groups()
        phase = next((name for prefix, name in PHASES.items() if message.startswith(prefix)), None)
        if phase is not None:
            marks.append((phase, datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f")))
    return {
        phase: (later - start).total_seconds() for (phase, start), (_, later) in itertools.pairwise(marks)
    }


def floor_seconds(timings: pd.DataFrame) -> pd.Series:
    """Seconds of one timed sample of every case (its first), largest first: the run's floor."""
    rows = timings[~timings["operation"].str.startswith("first_batch")]
    first = rows.sort_values("repeat").drop_duplicates(["method", "cutoff", "operation", "cache"])
    seconds = first["seconds"] * first["loops"]
    keys = first[["method", "cutoff", "operation", "cache"]].astype(str).agg(" ".join, axis=1)
    return pd.Series(seconds.to_numpy(), index=keys.to_numpy()).sort_values(ascending=False)


def job_seconds(results: Path, rule: str) -> pd.Series:
    """Wall seconds of every job of ``rule`` from Snakemake's ``benchmark:`` records, by job."""
    benchmarks = results / "benchmarks"
    records = sorted([*benchmarks.glob(f"{rule}.tsv"), *(benchmarks / rule).rglob("*.tsv")])
    return pd.Series(
        {str(path.relative_to(results)): pd.read_csv(path, sep="\t")["s"].iloc[0] for path in records}
    )


def report(directory: Path, wall: float | None) -> str:
    results = directory / "results"
    tables = [results / "timings.csv", *([results / "paper.csv"] if (results / "paper.csv").exists() else [])]
    timed = timed_seconds(pd.concat(map(pd.read_csv, tables)))
    measure_jobs = job_seconds(results, "measure")
    paper_jobs = job_seconds(results, "paper")
    phases = pd.DataFrame(
        [phase_seconds(log) for log in sorted((results / "logs" / "measure").glob("*/*.log"))]
    )
    phases_total = phases.sum()
    lines = []
    if wall is not None:
        lines.append(f"wall time of the run: {wall:.0f} s")
    floor = floor_seconds(pd.concat(map(pd.read_csv, tables)))
    lines.append(
        f"floor (one timed sample of each of {len(floor)} cases): {floor.sum():.0f} s"
        + (f"; the run took {wall / floor.sum():.2f}x that" if wall else "")
    )
    top = floor.head(10)
    lines.append(
        f"the 10 longest samples of the floor ({top.sum():.0f} s): "
        + ", ".join(f"{case} {seconds:.1f} s" for case, seconds in top.items())
    )
    head = job_seconds(results, "head_to_head").sum()
    drift = job_seconds(results, "machine_drift").sum()
    environment = job_seconds(results, "environment").sum()
    lines.append(
        f"head-to-head job: {head:.0f} s; machine drift probe: {drift:.0f} s; "
        f"environment: {environment:.0f} s"
    )
    total_timed = timed.sum()
    lines.append(
        f"inside timed operations: {total_timed:.0f} s" + (f" ({total_timed / wall:.0%})" if wall else "")
    )
    lines.append(
        f"measure jobs: {len(measure_jobs)}, {measure_jobs.sum():.0f} s; paper jobs: {paper_jobs.sum():.0f} s"
    )
    logged = phases_total.sum()
    lines.append(
        f"measure jobs outside their logged phases (start-up, loading): {measure_jobs.sum() - logged:.0f} s"
    )
    lines.append("")
    lines.append("| phase of the measure jobs | wall (s) | of it timed (s) |")
    lines.append("|---|---:|---:|")
    measured_apart = pd.read_csv(tables[0])
    below_largest = measured_apart[measured_apart["cutoff"] < measured_apart["cutoff"].max()]
    in_phase = {"timing (builds, warm-ups and samples)": timed_seconds(below_largest).sum()}
    for phase, seconds in phases_total.items():
        lines.append(f"| {phase} | {seconds:.0f} | {in_phase.get(phase, 0):.0f} |")
    lines.append("")
    lines.append("| operation | timed (s) |")
    lines.append("|---|---:|")
    lines += [
        f"| {operation} | {seconds:.1f} |"
        for operation, seconds in timed.sort_values(ascending=False).items()
    ]
    slowest = measure_jobs.sort_values(ascending=False).head(8)
    lines.append("")
    lines.append(
        "slowest measure jobs: "
        + ", ".join(f"{name.split('/', 2)[2][:-4]} {s:.0f} s" for name, s in slowest.items())
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="a new directory for the run (or one a run filled)")
    parser.add_argument("--configfile", type=Path, help="a config file instead of config/config.yaml")
    parser.add_argument("--cores", type=int, default=4)
    parser.add_argument("--no-run", action="store_true", help="only read a directory a run already filled")
    parser.add_argument("--wall-seconds", type=float, help="with --no-run: the run's wall time, if known")
    arguments = parser.parse_args()
    directory = arguments.directory.resolve()
    wall = arguments.wall_seconds
    if not arguments.no_run:
        if (directory / "results").exists():
            sys.exit(f"{directory} already holds results: give a new directory, or --no-run to read them")
        directory.mkdir(parents=True, exist_ok=True)
        snakefile = Path(__file__).resolve().parents[1] / "Snakefile"
        command = [
            sys.executable,
            "-m",
            "snakemake",
            "--snakefile",
            str(snakefile),
            "--directory",
            str(directory),
        ]
        # The Snakefile's config/config.yaml is found from the working directory, which here is elsewhere.
        configs = [snakefile.parent / "config" / "config.yaml"]
        configs += [arguments.configfile.resolve()] if arguments.configfile else []
        command += ["--cores", str(arguments.cores), "--configfile", *map(str, configs)]
        start = time.perf_counter_ns()
        subprocess.run(command, check=True)
        wall = (time.perf_counter_ns() - start) / 1e9
    print(report(directory, wall))


if __name__ == "__main__":
    main()
