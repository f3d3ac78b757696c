"""The report's front page (see imagestores.report.front.write)."""

from pathlib import Path

from imagestores import logs
from imagestores.report import front

logs.to_file(snakemake.log[0])
front.write(
    Path(snakemake.input.overview),
    Path(snakemake.input.winners),
    Path(snakemake.input.methods),
    Path(snakemake.output[0]),
)
