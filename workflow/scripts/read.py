"""Time reading one store (see imagestores.experiments.read_job)."""

from pathlib import Path

from imagestores import experiments, logs

logs.to_file(snakemake.log[0])
experiments.read_job(
    method=snakemake.params.method,
    data_dir=Path(snakemake.input.data[0]).parent,
    cutoff=int(snakemake.wildcards.cutoff),
    repeats=snakemake.params.repeats,
    random_reads=snakemake.params.random_reads,
    caches=snakemake.params.caches,
    drop_caches=snakemake.params.drop_caches,
    store=Path(snakemake.input.store),
    timings_out=Path(snakemake.output.timings),
)
