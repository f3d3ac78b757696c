"""Send a job's messages to its Snakemake log file."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import NoReturn


def to_file(path: Path | str) -> None:
    """Route stderr and logging of this process to ``path``, so a failed job's log shows why."""
    sys.stderr = open(path, "w", buffering=1)  # noqa: SIM115 - stays open for the life of the job
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def stop(message: str) -> NoReturn:
    """End the job with ``message`` and no traceback: a user's problem, not the program's. The message goes
    to the job's log and to the terminal Snakemake runs in, where the user looks."""
    logging.getLogger("imagestores").error("%s", message)
    print(f"\n{message}\n", file=sys.__stderr__, flush=True)
    raise SystemExit(1)
