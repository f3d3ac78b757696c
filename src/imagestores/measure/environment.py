"""The ``environment`` job: the machine record written next to the numbers, on the node that times."""

from __future__ import annotations

import json
import re
from importlib.metadata import requires
from pathlib import Path

from imagestores.measure import epoch
from imagestores.measure.first_touch import first_touch_cost
from imagestores.measure.machine import environment_record
from imagestores.stores import resolve

OUTSIDE_EXTRAS = ("mosaicml-streaming",)
"""Libraries installed beside the extras (README, Training loops), whose versions are recorded too."""


def environment_job(results_dir: Path, config: dict, drift: Path, out: Path) -> None:
    """The machine record: hardware, file system of the results, software versions, commit, config hash,
    under ``skipped`` what could not be measured here and why (the epoch without torch, a method without
    its library), the cost of fresh memory (``memory_first_touch``) and how far the machine's own speed
    drifts (``machine_drift``: the ``machine_drift`` job's record, ``drift``)."""
    required = (re.split(r"[=<>!~ ;\[]", spec)[0] for spec in requires("imagestores") or [])
    record = environment_record(Path(results_dir), config, ["imagestores", *required, *OUTSIDE_EXTRAS])
    record["skipped"] = skipped(config["methods"])
    record["memory_first_touch"] = first_touch_cost()
    record["machine_drift"] = json.loads(Path(drift).read_text())
    Path(out).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


def skipped(methods: list) -> dict[str, str]:
    """What cannot be measured here and why: the epoch without torch, each method without its library."""
    reasons = {"epoch": epoch.unavailable()} | {
        method.name: method.unavailable for method in map(resolve, methods)
    }
    return {what: reason for what, reason in reasons.items() if reason}
