"""Draw one figure (see imagestores.figures); the rule's name says which."""

from pathlib import Path

from imagestores import figures, logs

logs.to_file(snakemake.log[0])
outputs = [Path(output) for output in snakemake.output]
table = Path(snakemake.input[0])
if snakemake.rule == "plot_operation":
    figures.plot_operation(table, snakemake.wildcards.operation, outputs)
elif snakemake.rule == "plot_single_image":
    figures.plot_single_image(table, outputs)
else:
    figures.plot_disk_usage(table, outputs)
