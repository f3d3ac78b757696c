"""Time a study method the study's way (see imagestores.measure.paper.paper_job)."""

from pathlib import Path

from imagestores import logs
from imagestores.measure import paper

logs.to_file(snakemake.log[0])
paper.paper_job(
    method=snakemake.params.method,
    data_dir=Path(snakemake.input[0]).parent,
    cutoff=int(snakemake.wildcards.cutoff),
    root=snakemake.params.store_root,
    out=Path(snakemake.output[0]),
)
