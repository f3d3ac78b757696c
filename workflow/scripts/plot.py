"""Draw one figure (see imagestores.report.figures); the rule and its wildcards say which."""

from pathlib import Path

from imagestores import logs
from imagestores.report import figures

logs.to_file(snakemake.log[0])
outputs = [Path(output) for output in snakemake.output]
if snakemake.rule == "plot_dataset":
    figures.plot_dataset(Path(snakemake.input.dataset), outputs)
elif snakemake.rule == "plot_operation":
    figures.plot_operation(
        Path(snakemake.input.timings),
        Path(snakemake.input.methods),
        snakemake.wildcards.operation,
        outputs,
        paper=Path(snakemake.input.paper) if snakemake.input.paper else None,
        reference=Path(snakemake.input.reference),
    )
elif snakemake.rule == "plot_overview":
    figures.plot_overview(Path(snakemake.input.timings), Path(snakemake.input.methods), outputs)
elif snakemake.rule == "plot_epoch":
    figures.plot_epoch(Path(snakemake.input.timings), Path(snakemake.input.methods), outputs)
elif snakemake.rule == "plot_timings":
    draw = getattr(figures, f"plot_{snakemake.wildcards.figure}")
    draw(Path(snakemake.input.timings), Path(snakemake.input.methods), outputs)
else:
    draw = getattr(figures, f"plot_{snakemake.wildcards.figure}")
    draw(Path(snakemake.input.disk_usage), Path(snakemake.input.methods), outputs)
