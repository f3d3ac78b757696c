"""Fetch or generate the images once, into results/data/ (see imagestores.data.prepare.prepare)."""

from pathlib import Path

from imagestores import logs
from imagestores.data import prepare

logs.to_file(snakemake.log[0])
options = snakemake.params.dataset
prepare.prepare(
    source=options["source"],
    size=options["size"],
    out_dir=Path(snakemake.output[0]).parent,
    resources=Path("resources"),
    url=options["url"],
    md5=options["md5"],
    seed=options["seed"],
)
