"""Concatenate per-job tables into one (see imagestores.experiments.gather)."""

from pathlib import Path

from imagestores import experiments, logs

logs.to_file(snakemake.log[0])
experiments.gather([Path(table) for table in snakemake.input], Path(snakemake.output[0]))
