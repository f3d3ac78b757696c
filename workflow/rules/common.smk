from snakemake.utils import validate

from imagestores.config import check
from imagestores.stores import name_of

validate(config, schema="../schemas/config.schema.yaml")
check(config)

SPECS = {name_of(spec): spec for spec in config["methods"]}
METHODS = list(SPECS)
CUTOFFS = config["cutoffs"]
FIGURES = ["store_many", "read_many", "read_random", "single_image", "disk_usage"]
DATA = multiext("results/data/", "images.npy", "labels.npy", "dataset.json")


wildcard_constraints:
    method="|".join(METHODS),
    cutoff=r"\d+",


def method_spec(wildcards):
    """The config entry of the job's method, passed to the job so a variant's options reach it."""
    return SPECS[wildcards.method]


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
