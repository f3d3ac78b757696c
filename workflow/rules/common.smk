import json
import os
from pathlib import Path

import yaml

from snakemake.logging import logger

from imagestores import operations
from imagestores.config import twins, validate, with_twins
from imagestores.data.prepared import prepared_files
from imagestores.measure.epoch import timed_cutoffs
from imagestores.report import (
    DATA_FIGURES,
    DISK_FIGURES,
    EPOCH,
    OPERATION_FIGURES,
    OVERVIEW,
    TIMING_FIGURES,
)
from imagestores.stores import STUDY_METHODS, name_of

for note in validate(config, f"{workflow.basedir}/workflow/schemas/config.schema.yaml"):
    logger.warning(f"NOTE: {note}")

SPECS = {name_of(spec): spec for spec in with_twins(config)}
TWINS = twins(config)
METHODS = list(SPECS)
PAPER_METHODS = [name for name in STUDY_METHODS if name in METHODS and config["paper"]]
CUTOFFS = config["cutoffs"]
MEASURE_SETTINGS = {
    key: config[key]
    for key in (
        "timing",
        "verdicts",
        "random_reads",
        "caches",
        "drop_caches",
        "stores",
        "integrity",
        "loader",
        "filter",
    )
}
"""What a timing job needs of the config: the measure jobs' and the head-to-head job's."""
VERDICT_RULES = {
    key: config["verdicts"][key] for key in ("min_samples", "confidence", "min_ratio")
} | {"warn_cv": config["timing"]["warn_cv"]}
"""When a method is called faster (``stats.VerdictRules``), and when its spread is worth a warning."""
BENCH_SLOTS = yaml.safe_load(
    Path(f"{workflow.basedir}/profiles/default/config.yaml").read_text()
)["resources"]["bench_slot"]
"""The ``bench_slot`` capacity that profiles/default/config.yaml gives a local run, read from it. A job that times
something takes all of it, so it runs alone; every other job (preparing data, tables, figures) takes one,
so those run side by side, but never beside a timing job."""
REFERENCE = f"{workflow.basedir}/workflow/reference/realpython-2019-notebook.csv"


wildcard_constraints:
    method="|".join(METHODS),
    cutoff=r"\d+",


def report_data_source():
    """Repeat the data stage's fallback warning where the user looks: at the end of the run."""
    dataset = Path("results/data/dataset.json")
    if dataset.exists():
        record = json.loads(dataset.read_text())
        if record.get("fallback_reason"):
            logger.warning(
                "NOTE: these results were made from SYNTHETIC images, not CIFAR-10: "
                f"{record['fallback_reason']} (see results/logs/prepare_dataset.log)"
            )


def operation_caption(wildcards):
    """What the figure of ``wildcards.operation`` shows, from its row of ``imagestores.operations``."""
    return operations.get(wildcards.operation).caption


def method_spec(wildcards):
    """The config entry of the job's method, passed to the job so a variant's options reach it."""
    return SPECS[wildcards.method]


def measure_settings(wildcards):
    """MEASURE_SETTINGS for one measure job: ``loader.timed`` says whether its cutoff times epochs, and
    ``timed`` whether it times at all (the head-to-head job times the largest cutoff).
    """
    cutoff = int(wildcards.cutoff)
    epochs = cutoff in timed_cutoffs(CUTOFFS, config["loader"]["min_images"])
    return MEASURE_SETTINGS | {
        "loader": config["loader"] | {"timed": epochs},
        "timed": cutoff != max(CUTOFFS),
    }


def per_store(pattern):
    """``pattern`` (a rule's output) expanded for every configured method and cutoff."""
    return expand(pattern, method=METHODS, cutoff=CUTOFFS)


def paper_table():
    """The study-way timings when the config asks for them, else no input."""
    return rules.gather_paper.output[0] if PAPER_METHODS else []


def final_outputs():
    return [
        *rules.check_methods.output,
        *rules.gather_timings.output,
        *rules.gather_disk_usage.output,
        *rules.summarise.output,
        *rules.environment.output,
        *rules.plot_overview.output,
        *rules.front_page.output,
        *expand(rules.plot_operation.output, operation=OPERATION_FIGURES),
        *expand(rules.plot_timings.output, figure=TIMING_FIGURES),
        *rules.plot_epoch.output,
        *expand(rules.plot_disk_usage.output, figure=DISK_FIGURES),
        *expand(rules.plot_dataset.output, figure=DATA_FIGURES),
    ]


def example_folder():
    """The example folder the data stage reads, when the config asks for one to be built."""
    if config["dataset"]["example_images"]:
        return rules.make_example_folder.output
    return []


def folder_files():
    """Every file of a folder source (and its metadata table), so editing or adding an image reruns the
    data stage and what depends on it; nothing for other sources, or for a folder the workflow builds.
    """
    dataset = config["dataset"]
    if (
        dataset["source"] != "folder"
        or dataset["example_images"]
        or not dataset["path"]
    ):
        return []
    from imagestores.data.folder import FolderError, find_files

    try:
        files = [str(path) for path in find_files(Path(dataset["path"]))]
    except FolderError:
        return []  # the data stage names the problem and its fix
    return files + ([dataset["metadata"]] if dataset.get("metadata") else [])
