"""Time writing one store (see imagestores.experiments.store_job)."""

from pathlib import Path

from imagestores import experiments, logs

logs.to_file(snakemake.log[0])
experiments.store_job(
    method=snakemake.params.method,
    data_dir=Path(snakemake.input[0]).parent,
    cutoff=int(snakemake.wildcards.cutoff),
    repeats=snakemake.params.repeats,
    store_out=Path(snakemake.output.store),
    timings_out=Path(snakemake.output.timings),
)
