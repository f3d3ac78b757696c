"""The pipeline on a real SLURM cluster through `profiles/slurm`, checked against a local run.

tests/slurm/cluster.sh starts a single-node SLURM cluster with accounting in a temporary directory; a tiny
configuration then runs with `snakemake --profile profiles/slurm`, as a user runs it on a cluster, and
again locally with `snakemake --cores 2`. Runs when SLURM is installed (`bash tests/slurm/cluster.sh
install`, Debian, root) and the tests run as root, which the daemons need; skipped otherwise.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from pipeline import REPO, snakemake_command, timed_cases, tiny_config

CLUSTER = REPO / "tests" / "slurm" / "cluster.sh"
TINY = tiny_config()
MEASURE_JOBS = {f"{method}_{cutoff}" for method in TINY["methods"] for cutoff in TINY["cutoffs"]}
PAPER_JOBS = MEASURE_JOBS  # the tiny config keeps `paper: true`, and all three methods are the study's
ROW = ["method", "cutoff", "operation", "cache", "repeat"]
RUN_SECONDS = 600

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("slurmctld") is None or os.geteuid() != 0,
        reason="needs SLURM (`bash tests/slurm/cluster.sh install`, Debian, root) and root for its daemons",
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("snakemake_executor_plugin_slurm") is None,
        reason="needs the SLURM executor plugin (the cluster or dev extra, README)",
    ),
]


def run(command: list[str], seconds: int, **kwargs) -> subprocess.CompletedProcess:
    """``command`` under ``timeout -k``: a hung Snakemake ignores SIGTERM, so KILL follows 10 s later."""
    wrapped = ["timeout", "-k", "10", str(seconds), *map(str, command)]
    return subprocess.run(wrapped, capture_output=True, text=True, timeout=seconds + 30, **kwargs)


def snakemake(workdir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """The repository's workflow run in ``workdir`` on the tiny config, as a user runs it there."""
    (workdir / "config.yaml").write_text(yaml.safe_dump(TINY))
    return run(snakemake_command("config.yaml", *args), RUN_SECONDS, cwd=workdir, env=env | {"CI": "1"})


def cluster_env(state: Path) -> dict[str, str]:
    """The variables `cluster.sh env` exports: SLURM_CONF and the partition and account to use."""
    result = run(["bash", CLUSTER, "env", state], 30, check=True)
    env = {}
    for line in result.stdout.splitlines():
        name, _, value = shlex.split(line.removeprefix("export "))[0].partition("=")
        env[name] = value
    return env


@pytest.fixture(scope="module")
def cluster(request):
    """A running single-node cluster: its client environment and its node's name and CPUs; stopped after."""
    if shutil.which("sbatch") is None or shutil.which("sacct") is None:
        pytest.fail("slurmctld is here, sbatch or sacct is not: rerun `bash tests/slurm/cluster.sh install`")
    failed_before = request.session.testsfailed
    # A short path under /tmp: MariaDB's and munge's sockets live in it, and socket paths are limited.
    state = Path(tempfile.mkdtemp(prefix="imagestores-slurm-", dir="/tmp"))
    try:
        started = run(["bash", CLUSTER, "start", state], 240)
        if started.returncode != 0:
            pytest.fail(f"cluster.sh start failed (logs in {state}/log):\n{started.stderr[-4000:]}")
        env = os.environ | cluster_env(state)
        node, cpus = run(["sinfo", "-h", "-o", "%n %c"], 30, env=env, check=True).stdout.split()
        yield {"env": env, "node": node, "cpus": cpus, "state": state}
    finally:
        stopped = run(["bash", CLUSTER, "stop", state], 180)
        if stopped.returncode == 0 and request.session.testsfailed == failed_before:
            shutil.rmtree(state, ignore_errors=True)
        else:
            print(f"cluster state and daemon logs kept in {state}", file=sys.stderr)
        assert stopped.returncode == 0, stopped.stderr[-3000:]


@pytest.fixture(scope="module")
def slurm_run(cluster, tmp_path_factory):
    """The tiny config through profiles/slurm, keeping every job's SLURM log to tie jobs to rules."""
    workdir = tmp_path_factory.mktemp("slurm-run")
    env = cluster["env"] | {"IMAGESTORES_SLURM_CPUS": cluster["cpus"]}
    started = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - 60))
    profile = REPO / "profiles" / "slurm"
    result = snakemake(workdir, env, "--profile", str(profile), "--slurm-keep-successful-logs")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    return {"workdir": workdir, "log": result.stderr, "since": started}


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("local-run")
    result = snakemake(workdir, dict(os.environ), "--cores", "2")
    assert result.returncode == 0, result.stderr[-5000:]
    return workdir


def sacct(cluster, *args: str) -> list[dict[str, str]]:
    """Accounting records of whole jobs (no steps), one dict per job."""
    fields = ["JobID", "JobName", "State", "NodeList", "Partition", "Account", "AllocCPUS"]
    command = ["sacct", "-n", "-P", "-X", "-o", ",".join(fields), *args]
    out = run(command, 60, env=cluster["env"], check=True).stdout
    return [dict(zip(fields, line.split("|"), strict=True)) for line in out.splitlines() if line]


def slurm_jobs(workdir: Path, rule: str) -> dict[str, str]:
    """SLURM job id of every job of ``rule``, from the executor's per-job logs: {"disk_10": "42"}."""
    logs = (workdir / ".snakemake" / "slurm_logs" / f"rule_{rule}").glob("*/*.log")
    return {log.parent.name: log.stem for log in logs}


def test_every_timing_job_ran_through_the_scheduler_on_a_whole_node(cluster, slurm_run):
    workdir = slurm_run["workdir"]
    measure, paper = slurm_jobs(workdir, "measure"), slurm_jobs(workdir, "paper")
    assert set(measure) == MEASURE_JOBS and set(paper) == PAPER_JOBS
    for wildcards, job in measure.items():
        method, cutoff = wildcards.split("_")
        log = workdir / ".snakemake" / "slurm_logs" / "rule_measure" / wildcards / f"{job}.log"
        text = log.read_text()
        assert "rule measure:" in text, text[-2000:]
        assert f"wildcards: method={method}, cutoff={cutoff}" in text, text[-2000:]
    # The head-to-head, machine-drift and machine-record jobs have no wildcards: each one's log lies
    # directly in its rule's folder, or one below.
    single = {}
    for rule in ("head_to_head", "machine_drift", "environment"):
        logs = {log.stem for log in (workdir / ".snakemake" / "slurm_logs" / f"rule_{rule}").rglob("*.log")}
        assert len(logs) == 1, f"the {rule} job ran through the scheduler too"
        single[rule] = logs.pop()
    ids = {*measure.values(), *paper.values(), *single.values()}
    records = {row["JobID"]: row for row in sacct(cluster, "-j", ",".join(sorted(ids)))}
    assert set(records) == ids, "sacct lists every submitted job"
    for row in records.values():
        assert row["State"] == "COMPLETED", row
        assert row["NodeList"] == cluster["node"], row
        # The profile read the partition and account from the variables cluster.sh exports.
        wanted = (cluster["env"]["IMAGESTORES_SLURM_PARTITION"], cluster["env"]["IMAGESTORES_SLURM_ACCOUNT"])
        assert (row["Partition"], row["Account"]) == wanted, row
        assert row["AllocCPUS"] == cluster["cpus"], "--exclusive: the job holds every CPU of the node"
    # Every SLURM job of the run (one job name, the run's id) is one of these: nothing else was submitted.
    run_name = {row["JobName"] for row in records.values()}
    assert len(run_name) == 1
    everything = sacct(cluster, "--name", run_name.pop(), "-S", slurm_run["since"])
    assert {row["JobID"] for row in everything} == set(records)


def test_rows_name_the_node_they_were_measured_on(cluster, slurm_run):
    timings = pd.read_csv(slurm_run["workdir"] / "results" / "timings.csv")
    # `host` is socket.gethostname(), which may be the node's fully qualified name.
    assert {host.split(".")[0] for host in timings["host"]} == {cluster["node"].split(".")[0]}


def test_results_agree_with_a_local_run(slurm_run, local_run):
    tables = {}
    for name, workdir in (("slurm", slurm_run["workdir"]), ("local", local_run)):
        timings = pd.read_csv(workdir / "results" / "timings.csv", keep_default_na=False)
        assert not timings.duplicated(ROW).any()
        tables[name] = timings.set_index(ROW).sort_index()
    slurm, local = tables["slurm"], tables["local"]
    # Cases take as many samples as their precision and race need, so runs agree on the cases and on what
    # each moved, not on the sample counts.
    cases = [(table.reset_index().drop_duplicates(ROW[:-1]).set_index(ROW[:-1])) for table in (slurm, local)]
    assert len(cases[0]) == len(TINY["methods"]) * sum(len(timed_cases(TINY, c)) for c in TINY["cutoffs"])
    columns = ["images", "bytes", "source"]
    pd.testing.assert_frame_equal(cases[0][columns].sort_index(), cases[1][columns].sort_index())
    assert (slurm["seconds"] > 0).all()

    usage = {
        name: pd.read_csv(workdir / "results" / "disk_usage.csv").set_index(["method", "cutoff"]).sort_index()
        for name, workdir in (("slurm", slurm_run["workdir"]), ("local", local_run))
    }
    assert set(usage["slurm"].index) == set(usage["local"].index)
    pd.testing.assert_series_equal(usage["slurm"]["files"], usage["local"]["files"])
    # PNG files are deterministic: the same images give the same bytes wherever they are written.
    disk = {name: table.loc["disk", ["files", "apparent_bytes"]] for name, table in usage.items()}
    pd.testing.assert_frame_equal(disk["slurm"], disk["local"])

    paper = {
        name: pd.read_csv(workdir / "results" / "paper.csv").groupby(["method", "cutoff", "operation"]).size()
        for name, workdir in (("slurm", slurm_run["workdir"]), ("local", local_run))
    }
    pd.testing.assert_series_equal(paper["slurm"], paper["local"])


def test_summary_and_figures_are_made(slurm_run, local_run):
    results = slurm_run["workdir"] / "results"
    for path in ("summary.md", "summary.csv", "winners.csv", "environment.json", "figures/store_many.png"):
        assert (results / path).stat().st_size > 0, path
    summary = pd.read_csv(results / "summary.csv")
    assert len(summary) == len(pd.read_csv(local_run / "results" / "summary.csv"))
    assert "## What to pick" in (results / "summary.md").read_text()
