"""Record the machine and software next to the numbers (see imagestores.measure.environment)."""

from pathlib import Path

from imagestores import logs
from imagestores.measure import environment

logs.to_file(snakemake.log[0])
environment.environment_job(
    Path("results"), snakemake.params.config, Path(snakemake.input.drift), Path(snakemake.output[0])
)
