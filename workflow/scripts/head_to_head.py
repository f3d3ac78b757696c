"""Time every method at the largest size in one job, raced (see imagestores.measure.head_to_head).

Guarded as the measure script is: DataLoader workers started from a fork server import it again.
"""

import json
from pathlib import Path

from imagestores import logs
from imagestores.measure import head_to_head

if __name__ == "__main__":
    logs.to_file(snakemake.log[0])
    head_to_head.head_to_head_job(
        methods=snakemake.params.methods,
        data_dir=Path(snakemake.input.data[0]).parent,
        cutoff=snakemake.params.cutoff,
        settings=snakemake.params.settings,
        out=Path(snakemake.output[0]),
        twins=snakemake.params.twins,
        drift=json.loads(Path(snakemake.input.drift).read_text()),
    )
