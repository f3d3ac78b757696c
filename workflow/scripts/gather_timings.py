"""The timed samples of every job in one table, with each operation's peak memory (see
imagestores.report.gather.gather_timings)."""

from pathlib import Path

from imagestores import logs
from imagestores.report import gather

logs.to_file(snakemake.log[0])
gather.gather_timings(
    [Path(table) for table in snakemake.input.timings],
    [Path(table) for table in snakemake.input.memory],
    Path(snakemake.output[0]),
)
