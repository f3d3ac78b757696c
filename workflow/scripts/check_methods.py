"""Which methods hold the prepared images; end the run with one message when none does
(see imagestores.measure.fit.check_methods_job)."""

from pathlib import Path

from imagestores import logs
from imagestores.measure import fit

logs.to_file(snakemake.log[0])
try:
    fit.check_methods_job(
        specs=snakemake.params.specs,
        data_dir=Path(snakemake.input[0]).parent,
        cutoffs=snakemake.params.cutoffs,
        out=Path(snakemake.output[0]),
    )
except fit.NothingFits as nothing:
    logs.stop(str(nothing))
