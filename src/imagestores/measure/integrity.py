"""What reading a damaged store does: notice it (an exception), return wrong images, or crash.

A store is damaged in a copy, one ``Damage`` at a time (bytes flipped at a seeded position, or a file
truncated), and read whole in a child process, so that a reader killed by a signal (LMDB's SIGBUS on a
truncated map) is recorded as ``crashed`` instead of taking the job with it. What a damaged read returns
is compared with what the undamaged copy returned in the same child, so lossy stores are judged alike.
Untimed: it runs after the timings, on a copy, and never touches the measured store.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from imagestores.data.prepared import load_prepared
from imagestores.measure.timing import READ_BATCH, allocate
from imagestores.stores import MethodSpec, resolve
from imagestores.stores.base import PACKAGE_FILES, Images, byte_batches

OUTCOMES = ("detected", "wrong", "crashed", "unaffected")
"""``detected``: reading raised an exception; ``wrong``: it returned other images or labels than the
undamaged store, without an error; ``crashed``: the reader died on a signal or hung; ``unaffected``: the
damaged bytes changed nothing that was read (free space, padding, a file reads do not use)."""

FLIP_BYTES = 64
"""Bytes inverted per flip trial: a small run, as a bad sector or a stray write damages."""

TRIAL_SECONDS = 120
"""A child answering no trial within this long is stopped and the trial recorded as ``crashed`` (hung)."""


@dataclass(frozen=True)
class Damage:
    """Invert ``span`` bytes of ``file`` from ``offset`` on, or with ``truncate`` cut it to ``offset``."""

    file: str
    """Relative to the store's directory."""
    offset: int
    span: int = 0
    truncate: bool = False

    def apply(self, store: Path) -> None:
        path = store / self.file
        if self.truncate:
            os.truncate(path, self.offset)
            return
        with open(path, "r+b") as file:
            file.seek(self.offset)
            data = np.frombuffer(file.read(self.span), np.uint8)
            file.seek(self.offset)
            file.write((data ^ 0xFF).tobytes())

    def undo(self, store: Path, original: Path) -> None:
        """Put the file back as it is in ``original`` (inverting twice restores a flip)."""
        if self.truncate:
            shutil.copyfile(original / self.file, store / self.file)
        else:
            self.apply(store)

    def describe(self) -> str:
        if self.truncate:
            return f"{self.file} cut to {self.offset} bytes"
        return f"{self.span} bytes of {self.file} inverted at {self.offset}"


@dataclass(frozen=True)
class Trial:
    damage: Damage
    outcome: str
    detail: str = ""


def store_files(store: Path) -> list[tuple[str, int]]:
    """Every file of the store but this package's own (``PACKAGE_FILES``), with its size, in a fixed order."""
    found = []
    for directory, _, files in sorted(os.walk(store)):
        for name in sorted(files):
            path = Path(directory) / name
            if name not in PACKAGE_FILES or path.parent != store:
                found.append((str(path.relative_to(store)), path.stat().st_size))
    return found


def flips(store: Path, trials: int, seed: int, span: int = FLIP_BYTES) -> list[Damage]:
    """``trials`` flips at seeded positions drawn uniformly over every byte of the store's files."""
    files = [(name, size) for name, size in store_files(store) if size]
    ends = np.cumsum([size for _, size in files])
    positions = np.sort(np.random.default_rng(seed).integers(0, ends[-1], trials))
    damages = []
    for position in positions.tolist():
        number = int(np.searchsorted(ends, position, side="right"))
        name, size = files[number]
        offset = position - int(ends[number] - size)
        damages.append(Damage(name, offset, min(span, size - offset)))
    return damages


def truncations(store: Path) -> list[Damage]:
    """Every non-empty file of the store cut to half its size, and to nothing."""
    return [
        Damage(name, cut, truncate=True)
        for name, size in store_files(store)
        if size
        for cut in (size // 2, 0)
    ]


def run_trials(
    method: MethodSpec,
    store: Path,
    scratch: Path,
    data_dir: Path,
    cutoff: int,
    damages: Sequence[Damage],
    trial_seconds: float = TRIAL_SECONDS,
) -> list[Trial]:
    """Apply each of ``damages`` in turn to a copy of ``store`` at ``scratch`` and read it whole.

    Reads run in child processes: when one dies on a signal or hangs, its trial is ``crashed``, the
    damaged file is restored and a new child goes on with the next trial. ``scratch`` is removed after.
    """
    if scratch.exists():
        shutil.rmtree(scratch)
    shutil.copytree(store, scratch)
    results: list[Trial] = []
    try:
        while len(results) < len(damages):
            results += _child(method, store, scratch, data_dir, cutoff, damages, len(results), trial_seconds)
    finally:
        shutil.rmtree(scratch)
    return results


def _child(
    method: MethodSpec,
    store: Path,
    copy: Path,
    data_dir: Path,
    cutoff: int,
    damages: Sequence[Damage],
    start: int,
    trial_seconds: float,
) -> list[Trial]:
    """Trials from ``start`` on in one child, until they are done or the child dies (then one ``crashed``)."""
    arguments = {
        "method": method,
        "store": str(store),
        "copy": str(copy),
        "data_dir": str(data_dir),
        "cutoff": cutoff,
        "damages": [asdict(damage) for damage in damages[start:]],
    }
    command = [sys.executable, "-m", __name__, json.dumps(arguments)]
    try:
        child = subprocess.run(
            command, capture_output=True, text=True, timeout=trial_seconds * (len(damages) - start + 1)
        )
        output, returncode, stderr = child.stdout, child.returncode, child.stderr
    except subprocess.TimeoutExpired as expired:
        output, returncode, stderr = _text(expired.stdout), None, _text(expired.stderr)
    trials = [_trial(json.loads(line)) for line in output.splitlines() if line.startswith("{")]
    if returncode == 0 and start + len(trials) == len(damages):
        return trials
    if returncode is not None and returncode > 0:
        raise RuntimeError(f"the integrity reader of {copy} failed (exit {returncode}):\n{stderr[-2000:]}")
    crashed = damages[start + len(trials)]
    crashed.undo(copy, store)
    why = "hung" if returncode is None else f"killed by {signal.Signals(-returncode).name}"
    return [*trials, Trial(crashed, "crashed", why)]


def _text(output: bytes | str | None) -> str:
    return output.decode(errors="replace") if isinstance(output, bytes) else output or ""


def _trial(record: dict[str, Any]) -> Trial:
    return Trial(Damage(**record["damage"]), record["outcome"], record["detail"])


def read_digests(method: MethodSpec, store: Path, images: Images) -> list[int]:
    """A CRC-32 of every image and label of the store, read in order in batches as ``read_many`` reads.

    ``images`` are the source images, which give each output buffer its shape and dtype.
    """
    configured = resolve(method)
    digests = []
    with configured.store(store).open() as reader:
        labels = np.zeros(min(len(reader), READ_BATCH), dtype=np.int64)
        for part in byte_batches(images[: len(reader)], most=READ_BATCH):
            indices = np.arange(part.start, part.stop)
            buffer = allocate(images, indices)
            reader.read_into(indices, buffer, labels)
            pairs = zip(buffer, labels[: len(indices)].tolist(), strict=True)
            digests += [zlib.crc32(image.tobytes(), label) for image, label in pairs]
    return digests


def main(arguments: str) -> None:
    """The child: read the undamaged copy, then each damage in turn; print one JSON line per trial."""
    given = json.loads(arguments)
    store, copy = Path(given["store"]), Path(given["copy"])
    images = load_prepared(Path(given["data_dir"]), given["cutoff"]).images
    expected = read_digests(given["method"], copy, images)
    for record in given["damages"]:
        damage = Damage(**record)
        damage.apply(copy)
        try:
            got = read_digests(given["method"], copy, images)
        except Exception as error:  # any exception is the store noticing; what it says is kept
            outcome, detail = "detected", f"{type(error).__name__}: {error}"
        else:
            differ = sum(a != b for a, b in zip(got, expected, strict=True))
            outcome, detail = ("wrong", f"{differ} images differ") if differ else ("unaffected", "")
        finally:
            damage.undo(copy, store)
        print(json.dumps({"damage": record, "outcome": outcome, "detail": detail[:500]}), flush=True)


def verdict(trials: Sequence[Trial]) -> str:
    """The trials in a few words for a table: each outcome's count, in OUTCOMES order, zeros left out."""
    counts = Counter(trial.outcome for trial in trials)
    parts = [f"{outcome} {counts[outcome]}" for outcome in OUTCOMES if counts[outcome]]
    return f"{', '.join(parts)} of {len(trials)}"


if __name__ == "__main__":
    main(*sys.argv[1:])
