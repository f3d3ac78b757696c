"""Summarise the run: statistics, what to pick, Markdown page (see imagestores.report.summary.write)."""

from pathlib import Path

from imagestores import logs
from imagestores.report import stats, summary

logs.to_file(snakemake.log[0])
summary.write(
    summary.Tables(
        timings=Path(snakemake.input.timings),
        disk_usage=Path(snakemake.input.disk_usage),
        environment=Path(snakemake.input.environment),
        methods=Path(snakemake.input.methods),
        dataset=Path(snakemake.input.dataset),
        head_to_head=Path(snakemake.input.head_to_head),
    ),
    summary.Outputs(
        summary=Path(snakemake.output.summary),
        winners=Path(snakemake.output.winners),
        aa=Path(snakemake.output.aa),
        markdown=Path(snakemake.output.markdown),
    ),
    rules=stats.VerdictRules(**snakemake.params.verdicts),
    twins=snakemake.params.twins,
)
