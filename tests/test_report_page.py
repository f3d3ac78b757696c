"""The A/A run end to end: twins are never told apart, and the report opens on what to pick."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml
from pipeline import TIMED_CASES, snakemake_command, versioned_config

pytestmark = pytest.mark.slow

AA = versioned_config("aa")


@pytest.fixture(scope="module")
def aa_run(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("aa")
    config = workdir / "config.yaml"
    config.write_text(yaml.safe_dump(AA))
    for args in (["--cores", "2"], ["--report", "results/report.html"]):
        command = snakemake_command(config, "--directory", str(workdir), *args)
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=900, env=os.environ | {"CI": "1"}
        )
        assert result.returncode == 0, result.stderr[-5000:]
    return workdir


@pytest.mark.xfail(
    reason="open: twins in separate jobs differ 1.2-2.4x with low within-job spread (writes, cold random "
    "reads) in some runs; repeats inside one job cannot see that drift. Such cases are printed as ties.",
    strict=False,
)
def test_aa_twins_are_never_told_apart(aa_run):
    check = pd.read_csv(aa_run / "results" / "aa_check.csv")
    pairs = {(method, f"{method}_twin") for method in AA["aa_twins"]}
    assert set(zip(check["method"], check["twin"], strict=True)) == pairs
    assert len(check) == len(pairs) * len(AA["cutoffs"]) * len(TIMED_CASES), "every case of every cutoff"
    assert not check["told_apart"].any(), check[check["told_apart"]].to_dict("records")
    winners = pd.read_csv(aa_run / "results" / "winners.csv")
    assert not set(winners["winner"]) & {f"{method}_twin" for method in AA["aa_twins"]}
    fastest = winners[winners["criterion"] == "fastest"]
    assert set(fastest["verdict"]) <= {"faster", "not distinguishable"}
    unclear = fastest[fastest["verdict"] != "faster"]
    assert (unclear["reason"].str.len() > 0).all(), "a tie says why"
    page = (aa_run / "results" / "summary.md").read_text()
    assert "## A/A check" in page and "told apart in 0 of" in page


def test_the_report_embeds_the_overview_and_the_what_to_pick_table_in_its_front_page(aa_run):
    """The workflow description, which the report shows beside the job graph, carries both."""
    html = (aa_run / "results" / "report.html").read_text()
    assert 'id=\\"overview\\"' in html or 'id="overview"' in html
    assert "what-to-pick" in html and "data:image/png;base64," in html
