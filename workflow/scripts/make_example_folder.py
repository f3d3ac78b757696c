"""Build the example folder of seeded image files (see imagestores.data.example_folder)."""

from pathlib import Path

from imagestores import logs
from imagestores.data.example_folder import make_example_folder

logs.to_file(snakemake.log[0])
make_example_folder(Path(snakemake.output[0]), snakemake.params.images, snakemake.params.seed)
