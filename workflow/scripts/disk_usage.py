"""Measure one store with du (see imagestores.experiments.disk_usage_job)."""

from pathlib import Path

from imagestores import experiments, logs

logs.to_file(snakemake.log[0])
experiments.disk_usage_job(
    method=snakemake.params.method,
    data_dir=Path(snakemake.input.data[0]).parent,
    cutoff=int(snakemake.wildcards.cutoff),
    store=Path(snakemake.input.store),
    out=Path(snakemake.output[0]),
)
