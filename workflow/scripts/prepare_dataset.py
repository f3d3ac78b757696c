"""Fetch or generate the images once, into results/data/ (see imagestores.dataset.prepare)."""

from pathlib import Path

from imagestores import dataset, logs

logs.to_file(snakemake.log[0])
options = snakemake.params.dataset
dataset.prepare(
    source=options["source"],
    size=options["size"],
    out_dir=Path(snakemake.output[0]).parent,
    resources=Path("resources"),
    url=options["url"],
    md5=options["md5"],
    seed=options["seed"],
)
