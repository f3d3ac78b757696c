"""Every timed operation, one row each: the table the timing, the summary, the figures and the report read.

Adding an operation is its implementation (``measure.timing`` or ``measure.epoch``) and one row here. A row
names the operation as it appears in ``timings.csv``; an operation timed once per DataLoader worker count is
a prefix, its rows ``{prefix}{workers}`` (``epoch_w2``). Imports nothing, so the Snakefile and the report
read it for free.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Operation:
    """One timed operation and everything the pipeline says of it."""

    name: str
    """Its name in ``timings.csv``; for a per-worker operation, the prefix before the worker count."""
    kind: str
    """``write`` (cache ``none``), ``read`` (warm and cold) or ``epoch`` (per worker count, needs torch)."""
    title: str
    """What it times, as a figure panel's title."""
    caption: str
    """What it times, as the report's caption of its figure says it."""
    needs: str = ""
    """What a run must have to time it: ``filter`` (the config's ``filter``), ``torch``, or nothing."""
    need: str = ""
    """The what-to-pick row's name for it, when it answers a need of its own (``filtered read``)."""
    unit: str = "s"
    """What its value is in: seconds, or images/s for an epoch's throughput as drawn."""
    figure: bool = False
    """Whether it has a figure of its own (time against store size), ``results/figures/{name}``."""
    wide: bool = True
    """Whether its cold reads are a column of the summary's wide method table (one image cold is not)."""

    @property
    def caches(self) -> tuple[str, ...]:
        """The page-cache states it is timed from, as the summary's cases list them."""
        return ("none",) if self.kind == "write" else ("warm", "cold")

    @property
    def per_worker(self) -> bool:
        return self.kind == "epoch"


TABLE = (
    Operation(
        "store_many",
        "write",
        "Writing all images of a store",
        "Time to write all images of a new store",
        figure=True,
    ),
    Operation("store_one", "write", "Writing a store of one image", "Time to write a store of one image"),
    Operation(
        "read_many",
        "read",
        "Reading all images in order",
        "Time to read all images of a store in order",
        figure=True,
    ),
    Operation("read_one", "read", "Reading one image", "Time to open a store and read one image", wide=False),
    Operation(
        "read_random",
        "read",
        "Reading a batch at shuffled positions",
        "Time to read a batch of ``random_reads`` images (all of them in smaller stores) at seeded shuffled "
        "positions in one call, as a training loop reads",
        figure=True,
    ),
    Operation(
        "read_filtered",
        "read",
        "Reading every image a filter matches",
        "Time to open a store, find every image whose ``filter`` column equals its value (a label, or a "
        "folder's metadata column) and read them all: Lance and SQLite evaluate the filter themselves "
        "(SQLite through an index on label), Parquet skips row groups whose statistics exclude the value, "
        "the other stores look the ids up in a label index beside their data and read them in batches",
        needs="filter",
        need="filtered read",
        figure=True,
    ),
    Operation(
        "epoch_w",
        "epoch",
        "images/s over a shuffled epoch",
        "Images per second of a shuffled epoch through torch's DataLoader",
        needs="torch",
        need="training epoch",
        unit="images/s",
    ),
    Operation(
        "first_batch_w",
        "epoch",
        "seconds to the first batch",
        "Seconds from opening the store to the first batch of a shuffled epoch through torch's DataLoader",
        needs="torch",
        need="first batch",
    ),
)
"""Every operation, in the order a job times them and tables and figures show them."""

BY_NAME = {operation.name: operation for operation in TABLE}

TIMED = tuple(op.name for op in TABLE if not op.per_worker)
"""The operations of a measure job's fresh-process memory runs: every one not per worker count."""
WRITES = tuple(op.name for op in TABLE if op.kind == "write")
READS = tuple(op.name for op in TABLE if op.kind == "read")
FIGURES = tuple(op.name for op in TABLE if op.figure)
"""The operations with a figure of their own."""
CASES = [(op.name, cache) for op in TABLE if not op.per_worker for cache in op.caches]
"""Every (operation, cache) case of the summary's overview, in table order."""
COLUMNS = [(name, cache) for name, cache in CASES if BY_NAME[name].wide or cache != "cold"]
"""The summary's wide method table's columns."""
PER_WORKER = re.compile(rf"^({'|'.join(op.name for op in TABLE if op.per_worker)})(\d+)$")
"""Matches ``epoch_w2``: the per-worker prefix and the worker count."""


def get(name: str) -> Operation:
    """The row of ``name``, an operation or a per-worker one's row name (``epoch_w2``)."""
    if name in BY_NAME:
        return BY_NAME[name]
    if match := PER_WORKER.match(name):
        return BY_NAME[match[1]]
    raise KeyError(f"unknown operation {name!r}; known: {', '.join(BY_NAME)}")


def workers_of(name: str) -> int | None:
    """The worker count of a per-worker row name (``epoch_w2`` -> 2); None for any other operation."""
    match = PER_WORKER.match(name)
    return int(match[2]) if match else None


def with_workers(prefix: str, workers: int) -> str:
    """The row name of per-worker operation ``prefix`` with ``workers`` workers (``epoch_w2``)."""
    if not BY_NAME[prefix].per_worker:
        raise ValueError(f"{prefix} is not timed per worker count")
    return f"{prefix}{workers}"


def timed(filtered: bool, torch: bool) -> tuple[str, ...]:
    """The operations a run times: those whose need (a filter, torch) it has."""
    have = {"": True, "filter": filtered, "torch": torch}
    return tuple(op.name for op in TABLE if have[op.needs])
