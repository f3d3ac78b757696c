#!/usr/bin/env bash
# Snakemake runs this inside the new conda environment, from the directory snakemake was started in
# (the repository's top level, as the README says): it adds this project's package, whose dependencies
# the environment already pins.
set -euo pipefail
python -m pip install --no-deps --no-build-isolation --editable .
