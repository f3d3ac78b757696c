"""Record the machine and software next to the numbers (see imagestores.measure.jobs.environment_job)."""

from pathlib import Path

from imagestores import logs
from imagestores.measure import jobs

logs.to_file(snakemake.log[0])
jobs.environment_job(
    Path("results"), snakemake.params.config, Path(snakemake.input.drift), Path(snakemake.output[0])
)
