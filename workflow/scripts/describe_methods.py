"""Describe every configured method for the report (see imagestores.measure.describe.describe_methods)."""

from pathlib import Path

from imagestores import logs
from imagestores.measure import describe

logs.to_file(snakemake.log[0])
describe.describe_methods(snakemake.params.specs, Path(snakemake.output[0]))
