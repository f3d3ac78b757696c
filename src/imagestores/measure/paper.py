"""The ``paper`` job: one of the 2019 study's methods timed the study's way, for the comparison figures."""

from __future__ import annotations

import logging
from pathlib import Path

from imagestores.data.prepared import load_prepared
from imagestores.measure import timing
from imagestores.measure.disk import store_root
from imagestores.measure.tables import write_table
from imagestores.stores import MethodSpec, UnsupportedInput, resolve

log = logging.getLogger(__name__)


def paper_job(method: MethodSpec, data_dir: Path, cutoff: int, root: str, out: Path) -> None:
    """Time one of the study's methods the study's way (see timing.time_paper), for the comparison."""
    method = resolve(method)
    data = load_prepared(data_dir, cutoff)
    scratch = store_root(root) / method.name / f"{cutoff}.paper"
    try:
        rows = timing.time_paper(method, data.images, data.labels, scratch)
    except UnsupportedInput as reason:
        log.warning("%s cannot hold this data, not timed the study's way: %s", method.name, reason)
        rows = []
    write_table(rows, method.name, cutoff, data.source, out)
