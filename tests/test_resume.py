"""A run killed in the middle of a timing job resumes with the README's two commands, and loses nothing.

`kill -9` of Snakemake and its jobs is what a lost session, an out-of-memory killer or a cluster's time
limit does: nothing gets to clean up. Snakemake's lock stays (so `snakemake --unlock` comes first, as the
README says), the killed job's outputs stay marked incomplete, and the store it was writing stays half
done in `{cutoff}.partial`. A plain `snakemake --cores 2` must then finish the run: the workflow
profile's `rerun-incomplete` reruns the killed job, and the job removes the leftover store first.

The first run is killed at a known point, not at a moment polled for: its measure jobs pause with their
store in `{cutoff}.partial` and say so in a file (``store_job.PAUSE``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pandas as pd
import pytest
import yaml
from pipeline import assert_sampled_as_configured, snakemake_command, timed_cases, tiny_config

from imagestores.measure.store_job import PAUSE

pytestmark = pytest.mark.slow

TINY = tiny_config(dataset={"source": "synthetic", "size": 300, "seed": 1}, cutoffs=[10, 300], paper=False)
WAIT_SECONDS = 300


def command(*args: str) -> list[str]:
    """Snakemake on the repository's workflow and the tiny config, in the current directory."""
    return snakemake_command("config.yaml", *args)


def wait_for(condition, seconds: float, process: subprocess.Popen | None = None) -> bool:
    """Look for ``condition`` every 0.1 s for up to ``seconds``; False when time runs out or ``process``
    ended. ``seconds`` is only a bound on a hang: what is waited for waits itself until killed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        if process is not None and process.poll() is not None:
            return False
        time.sleep(0.1)
    return False


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL Snakemake and every job it started (they share its process group); wait until all are gone."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)

    def group_gone() -> bool:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return True
        return False

    assert wait_for(group_gone, 30), "processes of the killed run are still alive"


def test_a_run_killed_during_a_timing_job_resumes_and_completes(tmp_path):
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(TINY))
    env = os.environ | {"CI": "1"}
    results = tmp_path / "results"
    output = tmp_path / "first-run.log"
    paused = tmp_path / "paused"
    with output.open("w") as log:
        first = subprocess.Popen(
            command("--cores", "2"),
            cwd=tmp_path,
            env=env | {PAUSE: str(paused)},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            # A measure job has timed its store into `{cutoff}.partial` and waits there to be killed.
            assert wait_for(paused.exists, WAIT_SECONDS, first), (
                f"no measure job paused:\n{output.read_text()[-3000:]}"
            )
        finally:
            kill_group(first)

    assert not (results / "timings.csv").exists(), "the run was killed before its end"
    assert list((results / "stores").rglob("*.partial")), "the kill left a half-written store behind"
    killed = [
        log.relative_to(results / "logs" / "measure").with_suffix(".csv")
        for log in (results / "logs" / "measure").glob("*/*.log")
        if not (
            results / "timings" / log.relative_to(results / "logs" / "measure").with_suffix(".csv")
        ).exists()
    ]
    assert killed, "a measure job was running when the run was killed"
    # The killed job may have written one of its two tables before it died; Snakemake marked both
    # incomplete. Write a truncated one, so the rerun must go by the mark (rerun-incomplete), not by a
    # missing file.
    truncated = results / "timings" / killed[0]
    truncated.write_text("method,cutoff\n")

    unlock = subprocess.run(
        command("--unlock"), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert unlock.returncode == 0, unlock.stderr[-3000:]
    rerun = subprocess.run(
        ["timeout", "-k", "10", "600", *command("--cores", "2")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=660,
    )
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-5000:]

    timings = pd.read_csv(results / "timings.csv", keep_default_na=False)
    counts = timings.groupby(["method", "cutoff", "operation", "cache"]).size()
    expected = {
        (m, c, op, cache)
        for m in TINY["methods"]
        for c in TINY["cutoffs"]
        for op, cache in timed_cases(TINY, c)
    }
    assert set(counts.index) == expected
    assert_sampled_as_configured(timings, TINY)
    assert not timings.duplicated(["method", "cutoff", "operation", "cache", "repeat"]).any()
    method, cutoff = killed[0].parent.name, int(killed[0].stem)
    rerun_rows = pd.read_csv(truncated)
    if cutoff == max(TINY["cutoffs"]):
        assert rerun_rows.empty, "the head-to-head job times the largest cutoff; its measure job builds"
    else:
        per_case = rerun_rows.groupby(["operation", "cache"]).size()
        assert len(per_case) == len(timed_cases(TINY, cutoff)) and set(rerun_rows["method"]) == {method}
    # Every read was compared with the source by the job itself (a mismatch fails it); the store is whole.
    usage = pd.read_csv(results / "disk_usage.csv").set_index(["method", "cutoff"])
    assert len(usage) == len(TINY["methods"]) * len(TINY["cutoffs"])
    assert usage.loc[("disk", 300), "files"] == 301, "one PNG per image plus the labels CSV"
    assert (results / "stores" / method / str(cutoff)).is_dir()
    assert not list((results / "stores").rglob("*.partial")), "a killed job's half-written store is left"
    assert (results / "summary.md").exists()
    done = subprocess.run(
        command("--cores", "2", "--dry-run"), cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert "Nothing to be done" in done.stdout + done.stderr
