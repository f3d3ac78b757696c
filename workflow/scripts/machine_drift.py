"""How far this machine's own speed drifts (see imagestores.measure.drift.machine_drift): the least spread
a timed case with few samples can have, and a line of the machine record."""

import json
from pathlib import Path

from imagestores import logs
from imagestores.measure.drift import machine_drift

logs.to_file(snakemake.log[0])
Path(snakemake.output[0]).write_text(json.dumps(machine_drift(), indent=2, sort_keys=True) + "\n")
