"""Describe every configured method for the report (see imagestores.measure.jobs.describe_methods)."""

from pathlib import Path

from imagestores import logs
from imagestores.measure import jobs

logs.to_file(snakemake.log[0])
jobs.describe_methods(snakemake.params.specs, Path(snakemake.output[0]))
