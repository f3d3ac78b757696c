"""Stage 4, report: tables, verdicts and figures from the measure stage's CSV files.

- ``gather``: one table from the per-job tables; ``stats``: medians, spread and winners;
- ``summary``: ``summary.csv``, ``winners.csv`` and ``summary.md``; ``figures``: every figure.

Reads only CSV and JSON files and the registry's descriptive data (families, the study's methods); it
builds no store and imports nothing from ``measure`` or ``data``.
"""

from imagestores import operations

OVERVIEW = "overview"
"""The figure that answers what to use: a heatmap of methods x operations at the largest store size."""
OPERATION_FIGURES = operations.FIGURES
"""One figure per operation, time against store size, with the study beside it where it measured."""
TIMING_FIGURES = ("single_image", "cost_per_image", "peak_memory")
"""Figures drawn from every timing at once."""
EPOCH = "epoch"
"""Training loops: epoch images/s against DataLoader workers per method, and the time to the first batch."""
DISK_FIGURES = ("disk_usage",)
"""Figures drawn from the disk-usage table."""
DATA_FIGURES = ("dataset",)
"""Figures drawn from the data stage's record, dataset.json."""
FIGURES = (OVERVIEW, *OPERATION_FIGURES, *TIMING_FIGURES, EPOCH, *DISK_FIGURES, *DATA_FIGURES)
"""Every figure of a run, by name: the rules draw each as PNG and SVG in ``results/figures/``."""
