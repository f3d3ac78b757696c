"""Head to head: every method's store of the largest size timed in one job, raced.

Each method's own measure job runs at its own time, and the machine changes between jobs: the page cache
grows, fresh memory is first touched, other work comes and goes. A/A twins (one method under two names)
measured in jobs of their own came out 1.2-2.4x apart while the repeats inside each job agreed within 10%:
repeats inside one job cannot see what differs between jobs, so a verdict made from them trusts noise.

Here every case is one race (``measure.sampling``): each round times one sample of every method still
racing, in a seeded shuffled order, so drift and passing load fall on all methods alike, and what still
differs is the methods. A method clearly slower than the leader leaves the race; the close ones go on to
their precision or budget. This job is the only one that times the largest cutoff: its rows are that
size's points in every table and figure, and the verdicts, the A/A check and the overview figure are made
from them. The measure job of the largest cutoff builds its store untimed, for disk usage, peak memory and
the damage test.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from imagestores.data.prepared import load_prepared
from imagestores.measure import cases, timing
from imagestores.measure.disk import require_free_space, store_bound, store_root
from imagestores.measure.sampling import Sampling
from imagestores.measure.store_job import filter_of
from imagestores.measure.tables import TIMING_COLUMNS, timing_frame
from imagestores.stores import Method, MethodSpec, UnsupportedInput, resolve
from imagestores.stores.base import Images

log = logging.getLogger(__name__)

STORES_DIR = "head_to_head"
"""Under ``stores.root``: this job's stores, removed when it ends (the measure jobs keep their own)."""


def check_free_space(root: Path, images: Images, methods: int) -> None:
    """Refuse to start when ``root`` cannot hold two stores per method (the one read, one round's write)."""
    what = f"comparing {methods} methods head to head on {len(images):,} images"
    require_free_space(root, 2 * methods * store_bound(images), what)


def head_to_head_job(
    methods: Sequence[MethodSpec],
    data_dir: Path,
    cutoff: int,
    settings: Mapping[str, Any],
    out: Path,
    *,
    twins: Mapping[str, str] | None = None,
    drift: Mapping[str, Any] | None = None,
) -> None:
    """Time every method of ``methods`` (A/A twins included) on ``cutoff`` images in this one job, raced
    (see the module), and write their rows to ``out`` in the columns of ``timings.csv``.

    ``settings`` are the measure jobs' (``store_job.measure_job``), ``drift`` the machine's (its least spread,
    ``Sampling.configured``). A method that cannot hold the data is left out, as its measure job says.
    Each method's store is built once under ``stores.root``/``head_to_head`` and removed at the end;
    ``twins`` maps each A/A twin's name to its original's: a twin is sampled alike, and not ranked.
    """
    data = load_prepared(data_dir, cutoff)
    root = store_root(settings["stores"]["root"]) / STORES_DIR
    contenders = holding(methods, data.images, root)
    rows: dict[str, list[timing.Measurement]] = {}
    if contenders:
        check_free_space(root, data.images, len(contenders))
        plan = cases.Plan(
            data.images,
            data.labels,
            timing.fresh(root),
            settings,
            Sampling.configured(settings, drift, deciding=True),
            twins or {},
            filter_of(settings),
        )
        rows, _ = cases.time_methods(contenders, plan, np.random.default_rng(timing.SEED))
        shutil.rmtree(root)
    else:
        log.warning("no method can hold these %d images: nothing timed head to head", cutoff)
    frames = [timing_frame(rows[name], name, cutoff, data.source) for name in rows]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=TIMING_COLUMNS)
    table.to_csv(out, index=False)


def holding(methods: Sequence[MethodSpec], images: Images, root: Path) -> dict[str, Method]:
    """The methods that can hold ``images``; each other one is left out, with its reason in the log."""
    contenders: dict[str, Method] = {}
    for spec in methods:
        method = resolve(spec)
        try:
            method.store(root / method.name).check(images)
        except UnsupportedInput as reason:
            log.warning("%s cannot hold this data, left out: %s", method.name, reason)
            continue
        contenders[method.name] = method
    return contenders
