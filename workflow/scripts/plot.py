"""Draw one figure (see imagestores.figures); the rule and its wildcards say which."""

from pathlib import Path

from imagestores import figures, logs

logs.to_file(snakemake.log[0])
figures.set_families(snakemake.params.families)
outputs = [Path(output) for output in snakemake.output]
if snakemake.rule == "plot_operation":
    figures.plot_operation(
        Path(snakemake.input.timings),
        snakemake.wildcards.operation,
        outputs,
        paper=Path(snakemake.input.paper) if snakemake.input.paper else None,
        reference=Path(snakemake.input.reference),
    )
elif snakemake.rule == "plot_timings":
    draw = getattr(figures, f"plot_{snakemake.wildcards.figure}")
    draw(Path(snakemake.input.timings), outputs)
else:
    figures.plot_disk_usage(Path(snakemake.input.disk_usage), outputs)
