"""Write, read and measure one store (see imagestores.measure.store_job.measure_job).

Guarded as multiprocessing asks: DataLoader workers started from a fork server (the epoch of a store that
does not survive a fork) import this main module again, and must not run the job a second time.
"""

import json
from pathlib import Path

from imagestores import logs
from imagestores.measure import store_job

if __name__ == "__main__":
    logs.to_file(snakemake.log[0])
    store_job.measure_job(
        method=snakemake.params.method,
        data_dir=Path(snakemake.input.data[0]).parent,
        cutoff=int(snakemake.wildcards.cutoff),
        settings=snakemake.params.settings,
        outputs=store_job.MeasureOutputs(
            Path(snakemake.output.timings),
            Path(snakemake.output.disk_usage),
            Path(snakemake.output.memory),
        ),
        drift=json.loads(Path(snakemake.input.drift).read_text()),
    )
