"""The A/A run end to end: twins are never told apart, and the report opens on what to pick."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml
from pipeline import TIMED_CASES, snakemake_command, versioned_config

from imagestores import operations

pytestmark = pytest.mark.slow

AA = versioned_config("aa")
CHROMIUM = shutil.which("chromium")
WINDOW = (1280, 800)
"""The first screen: a laptop's browser window, in CSS pixels."""


@pytest.fixture(scope="module")
def aa_run(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("aa")
    config = workdir / "config.yaml"
    config.write_text(yaml.safe_dump(AA))
    for args in (["--cores", "2"], ["--report", "results/report.html"]):
        command = snakemake_command(config, "--directory", str(workdir), *args)
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=1800, env=os.environ | {"CI": "1"}
        )
        assert result.returncode == 0, result.stderr[-5000:]
    return workdir


def test_aa_twins_are_never_told_apart_on_writes_and_warm_reads(aa_run):
    """On cold reads two copies of the same bytes lie elsewhere on the disk and may really differ: there
    the twins' difference is the case's noise floor (tests/test_stats.py), not a failed check."""
    check = pd.read_csv(aa_run / "results" / "aa_check.csv")
    pairs = {(method, f"{method}_twin") for method in AA["aa_twins"]}
    assert set(zip(check["method"], check["twin"], strict=True)) == pairs
    assert set(check["cutoff"]) == {max(AA["cutoffs"])}, "verdicts, and so the check, at the largest cutoff"
    assert len(check) == len(pairs) * len(TIMED_CASES), "every case is checked"
    alike = check[check["cache"] != "cold"]
    assert not alike["told_apart"].any(), alike[alike["told_apart"]].to_dict("records")
    winners = pd.read_csv(aa_run / "results" / "winners.csv")
    assert not set(winners["winner"]) & {f"{method}_twin" for method in AA["aa_twins"]}
    fastest = winners[winners["criterion"] == "fastest"]
    assert set(fastest["verdict"]) <= {"faster", "not distinguishable"}
    unclear = fastest[fastest["verdict"] != "faster"]
    assert (unclear["reason"].str.len() > 0).all(), "a tie says why"
    page = (aa_run / "results" / "summary.md").read_text()
    assert "## A/A check" in page and "told apart in " in page


def test_the_report_embeds_the_overview_and_the_what_to_pick_table_in_its_front_page(aa_run):
    """The workflow description, which the report shows beside the job graph, carries both."""
    html = (aa_run / "results" / "report.html").read_text()
    assert 'id=\\"overview\\"' in html or 'id="overview"' in html
    assert "what-to-pick" in html and "data:image/png;base64," in html


FIRST_SCREEN_PROBE = """<script>
(function probe() {
  const image = document.querySelector("#overview");
  const table = document.querySelector("table.what-to-pick");
  if (!image || !table || !image.complete) { setTimeout(probe, 100); return; }
  const box = (element) => {
    const r = element.getBoundingClientRect();
    return {left: r.left, top: r.top, right: r.right, bottom: r.bottom};
  };
  const seen = (element) => {
    const r = box(element);
    return element.contains(document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2));
  };
  const header = table.querySelector("thead tr"), first = table.querySelector("tbody tr");
  const found = {
    viewport: {width: innerWidth, height: innerHeight},
    overview: box(image), overview_pixels: image.naturalWidth, overview_seen: seen(image),
    header: box(header), header_text: header.innerText, header_seen: seen(header),
    first_row: box(first), first_row_text: first.innerText, first_row_seen: seen(first),
  };
  const out = document.createElement("pre");
  out.id = "first-screen";
  out.textContent = JSON.stringify(found);
  document.body.appendChild(out);
})();
</script>"""
"""Appended to a copy of the report: once the page has rendered, it writes where the overview and the
what-to-pick table lie in the window, and whether each is what a person sees there (not covered)."""


def first_screen(report: Path, workdir: Path) -> dict:
    """Render ``report`` in headless Chromium in a ``WINDOW`` window; the probe's findings."""
    page, body_end = report.read_text().rsplit("</body>", 1)
    probed = workdir / "probed-report.html"
    probed.write_text(page + FIRST_SCREEN_PROBE + "</body>" + body_end)
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",  # CI runs as root, where Chromium refuses its sandbox
        "--disable-gpu",
        "--hide-scrollbars",
        f"--user-data-dir={workdir / 'chromium-profile'}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--virtual-time-budget=30000",
        "--dump-dom",
        probed.as_uri(),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    found = re.search(r'<pre id="first-screen">(.*?)</pre>', result.stdout, flags=re.DOTALL)
    assert found, f"the page never rendered the front page: {result.stderr[-3000:]}"
    return json.loads(html.unescape(found.group(1)))


def within(box: dict, viewport: dict) -> bool:
    return (
        box["left"] >= 0
        and box["top"] >= 0
        and box["right"] <= viewport["width"]
        and (box["bottom"] <= viewport["height"])
    )


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed; install it as README's setup and .ci/run do: "
    "apt-get install -y chromium",
)
def test_the_first_screen_in_a_browser_shows_the_overview_and_the_what_to_pick_table(aa_run, tmp_path):
    screen = first_screen(aa_run / "results" / "report.html", tmp_path)
    viewport, overview = screen["viewport"], screen["overview"]
    assert viewport["width"] == WINDOW[0] and viewport["height"] > WINDOW[1] / 2, viewport
    assert within(overview, viewport) and screen["overview_seen"], screen
    assert screen["overview_pixels"] > 0, "the embedded figure decoded"
    assert overview["right"] - overview["left"] >= viewport["width"] / 2, "the figure takes the page's width"
    for row in ("header", "first_row"):
        assert within(screen[row], viewport) and screen[f"{row}_seen"], screen
    assert screen["header"]["top"] >= overview["bottom"], "the table follows the figure"
    assert "winner" in screen["header_text"] and "verdict" in screen["header_text"]
    needs = ("fastest", "smallest on disk", "fewest files", *(op.need for op in operations.TABLE if op.need))
    assert screen["first_row_text"].startswith(needs), "the first row answers a need"
