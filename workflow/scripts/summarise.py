"""Write the run's Markdown summary (see imagestores.summary)."""

from pathlib import Path

from imagestores import logs, summary

logs.to_file(snakemake.log[0])
summary.write(Path(snakemake.input.timings), Path(snakemake.input.disk_usage), Path(snakemake.output[0]))
