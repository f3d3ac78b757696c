"""Summarise the run: statistics, what to pick, Markdown page (see imagestores.report.summary.write)."""

from pathlib import Path

from imagestores import logs
from imagestores.report import stats, summary

logs.to_file(snakemake.log[0])
summary.write(
    timings=Path(snakemake.input.timings),
    head_to_head=Path(snakemake.input.head_to_head),
    disk_usage=Path(snakemake.input.disk_usage),
    environment=Path(snakemake.input.environment),
    methods=Path(snakemake.input.methods),
    summary_out=Path(snakemake.output.summary),
    winners_out=Path(snakemake.output.winners),
    markdown_out=Path(snakemake.output.markdown),
    dataset=Path(snakemake.input.dataset),
    aa_out=Path(snakemake.output.aa),
    rules=stats.VerdictRules(**snakemake.params.verdicts),
    twins=snakemake.params.twins,
)
