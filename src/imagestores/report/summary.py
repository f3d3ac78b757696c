"""The run's summary: statistics per case, what to pick, and a Markdown page the README and report quote."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from imagestores import operations
from imagestores.report import stats

CASES = operations.CASES
"""Every operation, reads from a warm and a cold page cache: the overview's columns."""
COLUMNS = operations.COLUMNS
"""The method table's columns: one image read cold is left out of that wide table."""


def need(criterion: str, operation: str) -> str:
    """The what-to-pick row's first cell: the need a fastest row answers (``training epoch, 2 workers``)."""
    try:
        name = operations.get(operation).need
    except KeyError:
        return criterion
    workers = operations.workers_of(operation)
    if not name or workers is None:
        return name or criterion
    return f"{name}, {workers} worker{'s' * (workers != 1)}"


def _seconds(value: float) -> str:
    return "" if pd.isna(value) else f"{value:.3g}"


def _numeric(cell: str) -> bool:
    return cell[:1].isdigit()


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table; columns whose cells are mostly numbers are right-aligned."""
    align = []
    for column in range(len(header)):
        cells = [row[column] for row in rows if row[column]]
        align.append("---:" if cells and sum(map(_numeric, cells)) > len(cells) / 2 else "---")
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(align) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def method_table(
    summary: pd.DataFrame, disk_usage: pd.DataFrame, cutoff: int, lossy: Sequence[str] = ()
) -> list[str]:
    """Median seconds (IQR) per method and operation at ``cutoff``, with size on disk, peak memory and
    what reading did with bytes flipped (integrity trials: detected, wrong images, crashed, unaffected)."""
    at_cutoff = summary[summary["cutoff"] == cutoff].set_index(["method", "operation", "cache"])
    usage = disk_usage[disk_usage["cutoff"] == cutoff].set_index("method")
    header = ["method", *(f"{op} {cache}".replace(" none", "") + " (s)" for op, cache in COLUMNS)]
    header += ["on disk (MiB)", "files", "peak memory (MiB)", "bytes flipped: reading"]
    rows = []
    for method in usage.index:
        if pd.notna(usage.loc[method, "note"]):
            rows.append([method, f"skipped: {usage.loc[method, 'note']}", *[""] * (len(header) - 2)])
            continue
        cells = [f"{method} (lossy)" if method in lossy else method]
        for operation, cache in COLUMNS:
            key = (method, operation, cache)
            if key not in at_cutoff.index:
                cells.append("")
                continue
            row = at_cutoff.loc[key]
            cells.append(f"{_seconds(row['median_s'])} ({_seconds(row['iqr_s'])}; n={row['samples']})")
        cells.append(f"{usage.loc[method, 'allocated_bytes'] / 2**20:,.1f}")
        cells.append(f"{int(usage.loc[method, 'files']):,}")
        cells.append(_mib(at_cutoff.loc[method, "peak_anon_bytes"].max()))
        damaged = usage.loc[method].get("integrity")
        cells.append("" if pd.isna(damaged) else str(damaged))
        rows.append(cells)
    return _table(header, rows)


def _mib(value: float) -> str:
    return "" if pd.isna(value) else f"{value / 2**20:,.1f}"


def memory_table(summary: pd.DataFrame) -> list[str]:
    """Peak memory (MiB) of writing and of reading per method at every store size: flat rows scale."""
    kind = summary["operation"].str.startswith("store").map({True: "write", False: "read"})
    peaks = summary.assign(kind=kind).groupby(["method", "cutoff", "kind"])["peak_anon_bytes"].max()
    cutoffs = sorted(summary["cutoff"].unique())
    header = ["method", *(f"{kind} at {cutoff:,}" for cutoff in cutoffs for kind in ("write", "read"))]
    rows = [
        [
            method,
            *(_mib(peaks.get((method, cutoff, kind))) for cutoff in cutoffs for kind in ("write", "read")),
        ]
        for method in summary["method"].unique()
    ]
    return _table(header, rows)


def read_methods(path: Path) -> pd.DataFrame:
    """``methods.csv``: one row per configured method (name, base, family, lossy, holds, options, summary)."""
    return pd.read_csv(path, keep_default_na=False).set_index("method")


def lossy_methods(methods: pd.DataFrame) -> list[str]:
    return sorted(methods.index[methods["lossy"].astype(bool)])


WINNERS_HEADER = [
    "criterion",
    "operation",
    "cache",
    "winner",
    "value",
    "runner-up",
    "value",
    "margin",
    "95% interval",
    "verdict",
]


def winners_rows(winners: pd.DataFrame, lossy: Sequence[str] = ()) -> tuple[list[str], list[list[str]]]:
    """What to pick, as header and rows of text: a fastest row not judged ``faster`` says ``tie``."""
    return list(WINNERS_HEADER), [winner_cells(row, lossy) for _, row in winners.iterrows()]


def _value(number: float, unit: str, samples: object = pd.NA) -> str:
    """A winner's or runner-up's value in its unit: seconds with their samples, bytes in MiB, else a count."""
    if pd.isna(number):
        return ""
    if unit == "s":
        return f"{number:.3g} s" + ("" if pd.isna(samples) else f" (n={samples})")
    return f"{number / 2**20:,.1f} MiB" if unit == "bytes" else f"{number:,.0f}"


def _method(method: object, lossy: Sequence[str]) -> str:
    if pd.isna(method):
        return ""
    return f"{method} (lossy)" if method in lossy else str(method)


def winner_cells(row: pd.Series, lossy: Sequence[str] = ()) -> list[str]:
    """One row of ``winners.csv`` as the cells of ``WINNERS_HEADER``."""
    judged = pd.notna(row["verdict"])
    won = not judged or row["verdict"] == stats.FASTER
    operation = "" if pd.isna(row["operation"]) else row["operation"]
    winner = _method(row["winner"], lossy)
    return [
        need(row["criterion"], operation),
        operation,
        "" if pd.isna(row["cache"]) else row["cache"],
        winner if won else f"tie: {winner}",
        _value(row["winner_value"], row["unit"], row["winner_samples"]),
        _method(row["runner_up"], lossy),
        _value(row["runner_up_value"], row["unit"], row["runner_up_samples"]),
        "" if pd.isna(row["margin"]) else f"{row['margin']:.2f}x",
        f"{row['ci_low']:.2f}-{row['ci_high']:.2f}x" if pd.notna(row["ci_low"]) else "",
        "n/a" if not judged else verdict_cell(row),
    ]


def verdict_cell(row: pd.Series) -> str:
    """The verdict, why it is not ``faster``, and pyperf's spread warning."""
    text = f"{row['verdict']}{': ' if row['reason'] else ''}{row['reason']}"
    return text + (f" (warning: {row['warning']})" if row.get("warning") else "")


def winners_table(winners: pd.DataFrame, lossy: Sequence[str] = ()) -> list[str]:
    """What to pick, as a Markdown table."""
    return _table(*winners_rows(winners, lossy))


def aa_lines(aa: pd.DataFrame) -> list[str]:
    """The A/A section: per twin pair, how many cases were told apart, and which."""
    if aa.empty:
        return ["No A/A twins configured (config key `aa_twins`)."]
    lines = []
    for (method, twin), pair in aa.groupby(["method", "twin"], sort=True):
        apart = pair[pair["told_apart"]]
        lines.append(
            f"- `{method}` and its twin `{twin}` (same code): told apart in {len(apart)} of {len(pair)} "
            f"cases; largest median ratio {pair['ratio'].max():.2f}x"
            + ("." if apart.empty else ": " + ", ".join(_case(row) for _, row in apart.iterrows()) + ".")
        )
    return lines


def between_lines(between: pd.DataFrame | None) -> list[str]:
    """How far twins in jobs of their own differed (``stats.between_jobs``): why verdicts are head to head."""
    if between is None or between.empty:
        return []
    pairs = "; ".join(
        f"`{row['twin']}` and `{row['method']}` up to {_case(row)}" for _, row in between.iterrows()
    )
    return [
        "In jobs of their own, run at different times (the numbers of the tables and figures below), the "
        f"twins' medians differed: {pairs}. Repeats inside one job cannot see that, so no verdict is made "
        "from them.",
        "",
    ]


def _case(row: pd.Series) -> str:
    return f"{row['operation']} {row['cache']} at {row['cutoff']:,} ({row['ratio']:.2f}x)".replace(
        " none", ""
    )


def drift_line(environment: dict, warn_cv: float) -> list[str]:
    """The machine's own drift (``measure.drift``), with a warning when it alone spreads beyond
    ``warn_cv``."""
    drift = environment.get("machine_drift")
    if not drift:
        return []
    spreads = drift["spread_by_sample_seconds"]
    measured = " and ".join(f"{cv:.1%} in samples of {length} s" for length, cv in spreads.items())
    line = (
        "- the machine's own speed: a fixed Python loop, timed back to back for "
        f"{drift['probe_seconds']:g} s, spread {measured}"
    )
    line += "; a case with few samples is taken to spread at least as much"
    if min(spreads.values(), default=0) > warn_cv:
        line += (
            f", above the {warn_cv:.0%} spread warning at every length: on this machine intervals are wide "
            "because the machine drifts, and close cases are ties (`benchmarks/machine_drift.py`)"
        )
    return [line]


def machine_lines(environment: dict, warn_cv: float) -> list[str]:
    fs = environment.get("filesystem") or {}
    git = environment.get("git") or {}
    commit = (git.get("commit") or "no commit")[:12] + (" (uncommitted changes)" if git.get("dirty") else "")
    return [
        f"- CPU: {environment['cpu_model']}, {environment['available_cores']} cores available "
        f"of {environment['logical_cores']}; memory {environment['memory_bytes'] / 2**30:.1f} GiB",
        f"- results on {fs.get('type')} ({fs.get('device')}, {fs.get('mount_options')}); "
        f"kernel {environment['kernel']}; Python {environment['python_version']}",
        f"- code {commit}; config sha256 {environment['config_sha256'][:12]}; host {environment['hostname']}",
        *drift_line(environment, warn_cv),
        "- every library version: `results/environment.json`",
    ]


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {count:,}" for name, count in counts.items())


def byte_size(value: float, digits: str = ",.1f") -> str:
    """Bytes in the largest binary unit that keeps the number at least 1 (``digits``: its format)."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if value >= size:
            return f"{value / size:{digits}} {unit}"
    return f"{value:,.0f} B"


def data_lines(dataset: dict) -> list[str]:
    """What the images were, from dataset.json: count, formats, pixel types, sizes, what was left out."""
    lines = [
        f"- {dataset['size']:,} images ({dataset['base_size']:,} distinct), source {dataset['source']}"
        + (f", from `{dataset['path']}`" if dataset.get("path") else "")
    ]
    if "file_bytes" in dataset:
        pixels, files = dataset["pixel_bytes"], dataset["file_bytes"]
        lines += [
            f"- formats: {_counts(dataset['formats'])}; pixel types: {_counts(dataset['dtypes'])}; "
            f"modes: {_counts(dataset['modes'])}; {dataset['distinct_shapes']:,} distinct shapes",
            f"- pixels per image: median {byte_size(pixels['median'])} "
            f"(10% below {byte_size(pixels['p10'])}, 10% above {byte_size(pixels['p90'])}, largest "
            f"{byte_size(pixels['max'])}); files per image: median {byte_size(files['median'])}; "
            f"all distinct images: {byte_size(pixels['total'])} of pixels in {byte_size(files['total'])} "
            "of files",
            f"- left out: {dataset['not_images']['count']:,} files that are not images, "
            f"{len(dataset['skipped_bad_files']):,} unreadable images (each in `results/data/dataset.json`)",
        ]
    return lines


def throughput_table(summary: pd.DataFrame, cutoff: int, lossy: Sequence[str] = ()) -> list[str]:
    """MB/s and images/s of every method and operation at ``cutoff``, from the median time."""
    at_cutoff = summary[summary["cutoff"] == cutoff].set_index(["method", "operation", "cache"])
    header = ["method", *(f"{op} {cache}".replace(" none", "") for op, cache in COLUMNS)]
    rows = []
    for method in dict.fromkeys(at_cutoff.index.get_level_values("method")):
        cells = [f"{method} (lossy)" if method in lossy else method]
        for operation, cache in COLUMNS:
            key = (method, operation, cache)
            if key in at_cutoff.index:
                row = at_cutoff.loc[key]
                cells.append(f"{row['mb_per_s']:,.1f} MB/s, {row['images_per_s']:,.0f}/s")
            else:
                cells.append("")
        rows.append(cells)
    return _table(header, rows)


@dataclass(frozen=True)
class Tables:
    """The gathered tables a summary reads (``write``).

    ``head_to_head``: the interleaved job's timings (imagestores.measure.head_to_head), which the fastest
    methods, their verdicts and the A/A check come from when given; ``dataset``: ``dataset.json``.
    """

    timings: Path
    disk_usage: Path
    environment: Path
    methods: Path
    dataset: Path | None = None
    head_to_head: Path | None = None


@dataclass(frozen=True)
class Outputs:
    """Where a summary goes: ``summary.csv``, ``winners.csv``, ``aa_check.csv`` and the Markdown page."""

    summary: Path
    winners: Path
    aa: Path
    markdown: Path


@dataclass(frozen=True)
class Page:
    """What the Markdown page shows, loaded and judged (``markdown``).

    ``between`` (``stats.between_jobs``): how far twins measured in jobs of their own differed;
    ``head_to_head``: whether the verdicts come from the interleaved job.
    """

    summary: pd.DataFrame
    winners: pd.DataFrame
    disk_usage: pd.DataFrame
    environment: dict
    methods: pd.DataFrame
    aa: pd.DataFrame
    rules: stats.VerdictRules
    dataset: dict | None = None
    between: pd.DataFrame | None = None
    head_to_head: bool = False

    @property
    def cutoff(self) -> int:
        return int(self.summary["cutoff"].max())

    @property
    def lossy(self) -> list[str]:
        return lossy_methods(self.methods)


def markdown(page: Page) -> str:
    """The Markdown page, a section after another."""
    sources = ", ".join(sorted(page.summary["source"].unique()))
    lines = [
        f"# imagestores results: {page.cutoff:,} images, data {sources}",
        "",
        *pick_section(page),
        *aa_section(page),
        *methods_section(page),
        *throughput_section(page),
        *memory_section(page),
        *(["## Data", "", *data_lines(page.dataset), ""] if page.dataset else []),
        "## Machine",
        "",
        *machine_lines(page.environment, page.rules.warn_cv),
    ]
    return "\n".join(lines) + "\n"


def pick_section(page: Page) -> list[str]:
    """What to pick: how the verdicts were made, and the winners' table."""
    rules = page.rules
    return [
        "## What to pick",
        "",
        f"At {page.cutoff:,} images"
        + (
            ", every method timed in one job, one sample of each in turn in a shuffled order, so that "
            "what differs between jobs run at different times cannot pick a winner; a method clearly "
            "slower than the leader leaves its race early, with the samples it took"
            if page.head_to_head
            else ""
        )
        + ". Value: the median, with the samples it rests on (n). Margin: the runner-up's median over the "
        f"winner's, with its {rules.confidence:.0%} bootstrap interval over the samples. Faster: at least "
        f"{rules.min_samples} samples each and the interval above {rules.min_ratio:g}x and above what A/A "
        "twins of the same case differed by; otherwise a tie, with the reason. Spread above "
        f"{rules.warn_cv:.0%} (std / mean) is a warning: it widens the interval, it refuses no verdict.",
        "",
        *winners_table(page.winners, page.lossy),
        "",
    ]


def aa_section(page: Page) -> list[str]:
    """The A/A check: twins judged by the verdicts' rules, and how far they differed in jobs of their own."""
    return [
        "## A/A check",
        "",
        "Twins run the same code under two names, sampled alike where the verdicts are made, and judged "
        "by the rules above. What they differ by is their case's noise floor: no verdict is given below "
        "it. On cold reads two copies of the same bytes lie in different places on the disk and may "
        "really differ; on writes and warm reads twins told apart mean the rules trust noise.",
        "",
        *aa_lines(page.aa),
        "",
        *between_lines(page.between),
    ]


def methods_section(page: Page) -> list[str]:
    """Every method's medians, size on disk, peak memory and integrity at the largest cutoff."""
    fewest, most = int(page.summary["samples"].min()), int(page.summary["samples"].max())
    lossy = page.lossy
    return [
        "## Every method",
        "",
        f"Median seconds of {fewest} to {most} samples (n), interquartile range in brackets; the case "
        "stopped sampling at its precision, its budget, its most samples, or when it left the race "
        '(summary.csv, `stopped`; README, "How samples are taken"). Writes are not '
        "flushed to disk; warm reads run from the page cache, cold reads after evicting the store from it. "
        "Peak memory: the largest growth of anonymous memory in any operation.",
        "",
        *method_table(page.summary, page.disk_usage, page.cutoff, lossy),
        "",
        *([f"Lossy (checked by PSNR, not equality): {', '.join(lossy)}.", ""] if lossy else []),
    ]


def throughput_section(page: Page) -> list[str]:
    return [
        "## Throughput",
        "",
        f"At {page.cutoff:,} images: megabytes of pixels and images per second, from the median time.",
        "",
        *throughput_table(page.summary, page.cutoff, page.lossy),
        "",
    ]


def memory_section(page: Page) -> list[str]:
    return [
        "## Peak memory at every size",
        "",
        "The largest growth of anonymous memory (MiB) while writing "
        f"({', '.join(operations.WRITES)}) and reading "
        f"({', '.join(operations.READS)}), each operation run once in a fresh process. "
        "A row that stays flat as the store grows needs no more memory for more images.",
        "",
        *memory_table(page.summary),
        "",
    ]


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def with_loops_and_warnings(frame: pd.DataFrame, rules: stats.VerdictRules) -> pd.DataFrame:
    """``stats.summarise`` of ``frame`` with ``loops`` (calls per timed sample), the peak memory and
    ``warning`` (pyperf's: spread above ``rules.warn_cv``)."""
    summary = stats.summarise(frame)
    extra = frame.groupby(stats.KEYS)[["peak_anon_bytes", "loops"]].max()
    summary = summary.join(extra, on=stats.KEYS)
    summary["warning"] = (
        summary["cv"].gt(rules.warn_cv).map({True: f"spread above {rules.warn_cv:.0%}", False: ""})
    )
    return summary


def write(
    tables: Tables,
    outputs: Outputs,
    rules: stats.VerdictRules = stats.DEFAULT_RULES,
    twins: Mapping[str, str] | None = None,
) -> None:
    """Summarise the gathered timings: statistics, winners with verdicts, the A/A check, the Markdown page.

    ``summary.csv`` gains ``loops`` and ``warning`` (``with_loops_and_warnings``). The fastest methods,
    their verdicts and the A/A check come from the ``head_to_head`` timings (every method in one job,
    interleaved) when given, else from ``timings``.
    """
    frame = _read(tables.timings)
    summary = with_loops_and_warnings(frame, rules)
    usage = _read(tables.disk_usage)
    judged = frame if tables.head_to_head is None else _read(tables.head_to_head)
    picked = stats.winners(judged, stats.summarise(judged), usage, rules, twins)
    aa = stats.aa_check(judged, twins or {}, rules)
    summary.to_csv(outputs.summary, index=False)
    picked.to_csv(outputs.winners, index=False)
    aa.to_csv(outputs.aa, index=False)
    page = Page(
        summary,
        picked,
        usage,
        json.loads(Path(tables.environment).read_text()),
        read_methods(tables.methods),
        aa,
        rules,
        json.loads(Path(tables.dataset).read_text()) if tables.dataset else None,
        stats.between_jobs(frame, twins or {}),
        tables.head_to_head is not None,
    )
    Path(outputs.markdown).write_text(markdown(page))
