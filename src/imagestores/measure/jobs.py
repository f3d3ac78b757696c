"""The measure stage's jobs by name, for callers that predate their modules (``head_to_head``).

Each job lives in a module of its own: ``store_job`` (write, read and measure one store), ``paper`` (the
study's way), ``environment`` (the machine record), ``describe`` (``methods.csv``); ``tables`` holds the
columns of their CSV files and ``disk`` where stores go and what they take. New code imports those.
"""

from imagestores.measure.describe import DESCRIPTION_COLUMNS, describe_methods
from imagestores.measure.disk import (
    check_free_space,
    disk_usage,
    du_bytes,
    require_free_space,
    store_bound,
    store_root,
)
from imagestores.measure.environment import OUTSIDE_EXTRAS, environment_job
from imagestores.measure.paper import paper_job
from imagestores.measure.store_job import MeasureOutputs, StoreJob, filter_of, measure_job
from imagestores.measure.tables import (
    DISK_COLUMNS,
    MEASUREMENT_COLUMNS,
    MEMORY_COLUMNS,
    TIMING_COLUMNS,
    timing_frame,
    write_table,
)

__all__ = [
    "DESCRIPTION_COLUMNS",
    "DISK_COLUMNS",
    "MEASUREMENT_COLUMNS",
    "MEMORY_COLUMNS",
    "OUTSIDE_EXTRAS",
    "TIMING_COLUMNS",
    "MeasureOutputs",
    "StoreJob",
    "check_free_space",
    "describe_methods",
    "disk_usage",
    "du_bytes",
    "environment_job",
    "filter_of",
    "measure_job",
    "paper_job",
    "require_free_space",
    "store_bound",
    "store_root",
    "timing_frame",
    "write_table",
]
