"""Backing memory before a timed call holds nothing afterwards, and the first-touch record is complete."""

from __future__ import annotations

import subprocess
import sys

from imagestores.measure.first_touch import first_touch_cost

MiB = 2**20


def backed_in_a_new_interpreter(nbytes: int, most: int | None = None) -> tuple[int, int]:
    """``back(nbytes)`` (at most ``most``) in a new interpreter: how far its resident high-water mark rose
    above what was resident before, and how much anonymous memory it kept.

    The kernel keeps that mark (``VmHWM``, reset to the resident size by writing 5 to ``clear_refs``), so
    a touch too short for a sampling thread cannot be missed: one missed the peak of 64 MiB under load.
    """
    code = "\n".join(
        [
            "from imagestores.measure import first_touch",
            "from imagestores.measure.memory import anonymous_bytes",
            *([f"first_touch.MAX_BACKED_BYTES = {most}"] if most else []),
            "def status(key):",
            "    line = next(line for line in open('/proc/self/status') if line.startswith(key + ':'))",
            "    return int(line.split()[1]) * 1024",
            "before = anonymous_bytes()",
            "open('/proc/self/clear_refs', 'w').write('5')",
            "resident = status('VmRSS')",
            f"first_touch.back({nbytes})",
            "print(status('VmHWM') - resident, anonymous_bytes() - before)",
        ]
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    grown, kept = map(int, done.stdout.split())
    return grown, kept


def test_backing_touches_the_memory_and_keeps_none_of_it():
    grown, kept = backed_in_a_new_interpreter(64 * MiB)
    assert grown >= 60 * MiB, "the pages were touched"
    assert kept < 8 * MiB, "and given back"


def test_backing_is_bounded_however_much_an_operation_moves():
    grown, _ = backed_in_a_new_interpreter(256 * MiB, most=48 * MiB)
    assert 44 * MiB <= grown <= 56 * MiB


def test_the_first_touch_record_has_every_cost_per_gib():
    record = first_touch_cost(nbytes=8 * MiB, repeats=3, pause=0.01)
    assert record["probe_bytes"] == 8 * MiB and record["pause_seconds"] == 0.01
    for key in ("first_touch", "touched_again", "first_touch_after_pause"):
        assert record[f"{key}_seconds_per_gib"] > 0
