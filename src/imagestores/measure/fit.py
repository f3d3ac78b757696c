"""Which configured methods can hold the prepared images, asked once before any timing job starts.

Every timing job still checks its own store (a method that cannot hold its images writes an empty table
and says why), but when no method can hold the images of any cutoff, nothing would be measured at all:
the run then stops here, before any timing, with one message that gives each method's reason and what
would help, instead of a run of empty tables (or a traceback).

A method that holds the images of a cutoff holds those of every smaller one (the smaller set is their
first images, and every check is per image or against the first), so each method is checked at the
largest cutoff first, and at smaller ones only while it is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from imagestores.data.prepared import load_prepared
from imagestores.stores import METHODS, MethodSpec, MissingLibrary, UnsupportedInput, resolve
from imagestores.stores.codecs import NUMERIC_DTYPES

log = logging.getLogger(__name__)

FIT_COLUMNS = ["method", "cutoff", "fits", "reason"]
"""``methods_fit.csv``: one row per configured method and cutoff; ``reason`` says why it cannot hold them."""


class NothingFits(ValueError):
    """No configured method can hold the prepared images: the message lists each method's reason and what
    would help."""


def refusal(spec: MethodSpec, images: Sequence) -> str:
    """Why the method ``spec`` cannot hold ``images``, or ``""`` when it can."""
    method = resolve(spec)
    try:
        method.store(Path("unused")).check(images)
    except MissingLibrary as reason:
        return f"not installed here: {reason}"
    except UnsupportedInput as reason:
        return str(reason)
    return ""


def methods_fit(specs: Sequence[MethodSpec], data_dir: Path, cutoffs: Sequence[int]) -> pd.DataFrame:
    """For every method of ``specs`` and every cutoff, whether it holds the first ``cutoff`` images, and why
    not (``FIT_COLUMNS``)."""
    order = sorted(set(cutoffs), reverse=True)
    images = {cutoff: load_prepared(data_dir, cutoff).images for cutoff in order}
    rows = []
    for spec in specs:
        name = resolve(spec).name
        reason = ""
        for cutoff in order:
            if reason or cutoff == order[0]:
                reason = refusal(spec, images[cutoff])
            rows.append({"method": name, "cutoff": cutoff, "fits": not reason, "reason": reason})
    return pd.DataFrame(rows, columns=FIT_COLUMNS).sort_values(["method", "cutoff"], ignore_index=True)


def raw_methods() -> list[str]:
    """Registered methods here that hold any shape and every numeric dtype: what to add when none fits."""
    return [
        name
        for name, method in METHODS.items()
        if method.traits.dtypes == NUMERIC_DTYPES and not method.traits.fixed_shape and not method.unavailable
    ]


def nothing_fits_message(fit: pd.DataFrame) -> str:
    """The one message of a run where no method holds the images of any cutoff: each reason, and the fix."""
    smallest = fit["cutoff"].min()
    reasons = fit[fit["cutoff"] == smallest]
    listed = "\n".join(f"  - {row.method}: {row.reason}" for row in reasons.itertuples())
    raw = ", ".join(raw_methods())
    return (
        f"None of the {len(reasons)} configured methods can hold these images, not even the first {smallest} "
        f"(the smallest cutoff), so nothing would be measured:\n{listed}\n"
        "What would help:\n"
        f"  - add a method of raw pixels, which holds any shape and every numeric dtype ({raw}), e.g. "
        "--config 'methods=[lmdb_raw,sqlite]', or give an encoded method `encoding: raw`;\n"
        "  - or remove (or convert) the file(s) named above from the folder; a damaged file is left out with "
        "`dataset.on_bad_file: skip`.\n"
        "The log of this check, results/logs/check_methods.log, says the same."
    )


def check_methods_job(specs: Sequence[MethodSpec], data_dir: Path, cutoffs: Sequence[int], out: Path) -> None:
    """Write ``methods_fit.csv``; raise NothingFits when no method holds the images of even the smallest
    cutoff. This job runs before any timing job (its priority), so the run then ends before any timing."""
    fit = methods_fit(specs, data_dir, cutoffs)
    fit.to_csv(out, index=False)
    for row in fit[~fit["fits"]].itertuples():
        log.warning("%s cannot hold the first %d images: %s", row.method, row.cutoff, row.reason)
    smallest = fit[fit["cutoff"] == fit["cutoff"].min()]
    if not smallest["fits"].any():
        raise NothingFits(nothing_fits_message(fit))
    held = fit[fit["fits"]].groupby("method")["cutoff"].min()
    log.info("methods that hold the images: %s", ", ".join(f"{name} (from {c})" for name, c in held.items()))
