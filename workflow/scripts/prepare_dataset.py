"""Fetch, generate or read the images once, into results/data/ (see imagestores.data.prepare.prepare)."""

from pathlib import Path

from imagestores import logs
from imagestores.data import prepare
from imagestores.data.folder import FolderOptions

logs.to_file(snakemake.log[0])
options = snakemake.params.dataset
folder = None
if options["source"] == "folder":
    folder = FolderOptions(
        path=Path(options["path"]).expanduser(),
        labels=options["labels"],
        metadata=Path(options["metadata"]).expanduser() if options["metadata"] else None,
        key=options["key"],
        on_bad_file=options["on_bad_file"],
    )
prepare.prepare(
    source=options["source"],
    size=options["size"],
    out_dir=Path(snakemake.output[0]).parent,
    resources=Path("resources"),
    url=options["url"],
    md5=options["md5"],
    seed=options["seed"],
    folder=folder,
    threads=snakemake.threads,
    largest_cutoff=snakemake.params.largest_cutoff,
)
