import json
from pathlib import Path

from snakemake.logging import logger
from snakemake.utils import validate

from imagestores.config import check
from imagestores.stores import STUDY_METHODS, name_of, resolve

validate(config, schema="../schemas/config.schema.yaml")
check(config)

SPECS = {name_of(spec): spec for spec in config["methods"]}
METHODS = list(SPECS)
FAMILY_OF = {name: resolve(spec).family for name, spec in SPECS.items()}
PAPER_METHODS = [name for name in STUDY_METHODS if name in METHODS and config["paper"]]
CUTOFFS = config["cutoffs"]
FIGURES = [
    "store_many",
    "read_many",
    "read_random",
    "single_image",
    "cost_per_image",
    "peak_memory",
    "disk_usage",
]
REFERENCE = f"{workflow.basedir}/workflow/reference/realpython-2019-notebook.csv"
DATA = multiext("results/data/", "images.npy", "labels.npy", "dataset.json")


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


def method_spec(wildcards):
    """The config entry of the job's method, passed to the job so a variant's options reach it."""
    return SPECS[wildcards.method]


def paper_table():
    """The study-way timings when the config asks for them, else no input."""
    return "results/paper.csv" if PAPER_METHODS else []


def per_store(pattern):
    """``pattern`` expanded for every configured method and cutoff."""
    return expand(pattern, method=METHODS, cutoff=CUTOFFS)


def final_outputs():
    return [
        "results/timings.csv",
        "results/disk_usage.csv",
        "results/summary.md",
        "results/environment.json",
        *expand("results/figures/{figure}.{ext}", figure=FIGURES, ext=["png", "svg"]),
    ]
