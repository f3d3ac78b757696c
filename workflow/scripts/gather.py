"""Concatenate per-job tables into one (see imagestores.report.gather)."""

from pathlib import Path

from imagestores import logs
from imagestores.report import gather

logs.to_file(snakemake.log[0])
gather.gather([Path(table) for table in snakemake.input], Path(snakemake.output[0]))
