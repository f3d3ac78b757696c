"""Write, read and measure one store (see imagestores.experiments.measure_job)."""

from pathlib import Path

from imagestores import experiments, logs

logs.to_file(snakemake.log[0])
experiments.measure_job(
    method=snakemake.params.method,
    data_dir=Path(snakemake.input[0]).parent,
    cutoff=int(snakemake.wildcards.cutoff),
    settings=snakemake.params.settings,
    timings_out=Path(snakemake.output.timings),
    disk_usage_out=Path(snakemake.output.disk_usage),
)
