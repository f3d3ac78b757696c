"""The report's front page: the overview figure and the what-to-pick table, first thing a reader sees.

Snakemake's report shows the workflow description first; ``workflow/report/workflow.rst`` includes the
reStructuredText written here, which embeds the figure (the report is one self-contained file) and the
table as HTML, with the style that keeps both in the first screen (``FIRST_SCREEN_STYLE``; checked in a
browser by tests/test_report_page.py).
"""

from __future__ import annotations

import base64
from pathlib import Path

import pandas as pd

from imagestores.report.summary import lossy_methods, read_methods, winners_rows

FIRST_SCREEN_STYLE = ":has(#front-page) {align-items: flex-start; max-width: none}"
"""Snakemake's report centres the page vertically, so a page taller than the window loses its top (the
overview) above the window where no scrolling reaches, and narrows it to a column: the front page's
ancestors are told to start at the top and take the width. Ancestors only, whatever their classes."""


def write(overview_png: Path, winners: Path, methods: Path, out: Path) -> None:
    """Write ``out``: a raw HTML block with the overview image and the what-to-pick table."""
    # Lines of 76 characters: docutils refuses longer lines, and browsers skip whitespace in base64.
    picture = base64.encodebytes(Path(overview_png).read_bytes()).decode("ascii")
    frame = pd.read_csv(winners, keep_default_na=False, na_values=[""])
    header, rows = winners_rows(frame, lossy_methods(read_methods(methods)))
    table = pd.DataFrame(rows, columns=pd.Index(header)).to_html(
        index=False, border=0, classes="what-to-pick", escape=True
    )
    html = (
        f"<style>{FIRST_SCREEN_STYLE}</style>"
        '<div id="front-page">'
        '<img id="overview" alt="overview: median time of every method and operation at the largest '
        f'store size" style="max-width:100%;max-height:55vh" src="data:image/png;base64,{picture}">'
        f'<div style="font-size:11px">{table}</div></div>'
    )
    Path(out).write_text(".. raw:: html\n\n   " + html.replace("\n", "\n   ") + "\n")
