"""Record the machine and software next to the numbers (see imagestores.experiments.environment_job)."""

from pathlib import Path

from imagestores import experiments, logs

logs.to_file(snakemake.log[0])
experiments.environment_job(Path("results"), snakemake.params.config, Path(snakemake.output[0]))
