"""Time a study method the study's way (see imagestores.measure.jobs.paper_job)."""

from pathlib import Path

from imagestores import logs
from imagestores.measure import jobs

logs.to_file(snakemake.log[0])
jobs.paper_job(
    method=snakemake.params.method,
    data_dir=Path(snakemake.input[0]).parent,
    cutoff=int(snakemake.wildcards.cutoff),
    root=snakemake.params.store_root,
    out=Path(snakemake.output[0]),
)
