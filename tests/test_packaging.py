"""The project's own files agree with each other: pins, README commands, CI, and the linters."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CONDA_NAMES = {"python-lmdb": "lmdb", "matplotlib-base": "matplotlib"}


def pyproject_pins() -> dict[str, str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins = dict(
        re.fullmatch(r"([\w-]+)(?:\[[\w,]+\])?==([\w.]+)", spec).groups() for spec in project["dependencies"]
    )
    return {name.lower(): version for name, version in pins.items()}


def test_conda_environment_pins_the_same_versions_as_pyproject():
    environment = yaml.safe_load((REPO / "envs" / "imagestores.yaml").read_text())
    conda = {}
    for spec in environment["dependencies"]:
        if isinstance(spec, str) and "=" in spec and not spec.startswith("python "):
            name, version = (part.strip() for part in spec.split("="))
            conda[CONDA_NAMES.get(name, name)] = version
    pins = pyproject_pins()
    pins.pop("snakemake")  # the workflow manager runs the environments; it is not inside them
    assert conda == pins


def test_ci_installs_and_tests_exactly_as_the_readme_says():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    blocks = re.findall(r"```(?:bash|sh)\n(.*?)```", readme, flags=re.DOTALL)
    setup, tests = blocks[0].strip(), blocks[1].strip()
    install = setup.split(" && .venv/bin/snakemake")[0]
    assert setup.endswith("snakemake --cores 4")
    assert install.replace("pip install", "pip install --quiet") in ci
    assert tests in ci.splitlines()
    # The loaders extra, for the epoch operation and the DataLoader tests: installed by CI as the README says.
    loaders = '.venv/bin/pip install --editable ".[loaders]"'
    assert loaders in readme
    assert loaders.replace("pip install", "pip install --quiet") in ci.splitlines()
    # The formats extra, for the hf_datasets, tfrecord and array_record methods: as the README says.
    formats = '.venv/bin/pip install --editable ".[formats]"'
    assert formats in readme
    assert formats.replace("pip install", "pip install --quiet") in ci.splitlines()
    # MosaicML Streaming, for the mds method, beside the extra without its numpy<2.2: as the README says.
    mds = ".venv/bin/pip install --no-deps -r requirements/mds.txt"
    assert mds in readme
    assert mds.replace("pip install", "pip install --quiet") in ci.splitlines()
    assert (REPO / "requirements" / "mds.txt").read_text().count("==") >= 2
    # SLURM, for tests/test_slurm.py: installed by CI as the README says.
    assert "bash tests/slurm/cluster.sh install" in readme
    assert "bash tests/slurm/cluster.sh install" in ci.splitlines()
    # Chromium, for the browser test of the report's first screen: installed by CI as the README says.
    chromium = "apt-get update && apt-get install -y chromium"
    assert f"`{chromium}`" in readme
    assert chromium in ci.splitlines()


def test_python_code_is_ruff_clean():
    for command in (["check"], ["format", "--check"]):
        result = subprocess.run([BIN / "ruff", *command, "."], cwd=REPO, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_snakemake_code_is_snakefmt_clean():
    result = subprocess.run([BIN / "snakefmt", "--check", "."], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_snakemake_lint_is_clean():
    result = subprocess.run(
        [BIN / "snakemake", "--lint", "--cores", "1"], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0 and "Lints for" not in result.stdout + result.stderr, result.stdout


def test_readme_documents_every_registered_method():
    from imagestores.stores import METHODS

    readme = (REPO / "README.md").read_text()
    documented = set(re.findall(r"^\| `(\w+)` \| ([\w-]+) \|", readme, flags=re.MULTILINE))
    assert {(method.name, method.family) for method in METHODS.values()} <= documented


def test_the_report_builds_without_the_test_extra():
    """``snakemake --report`` needs pygments; it comes with the default install through Snakemake's extra."""
    from importlib.metadata import requires

    ours = [spec for spec in requires("imagestores") or [] if "extra ==" not in spec]
    assert any(spec.replace(" ", "").startswith("snakemake[reports]==") for spec in ours), ours
    assert any(spec.startswith("pygments") and 'extra == "reports"' in spec for spec in requires("snakemake"))
