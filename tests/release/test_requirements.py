"""The student's requirements: every released bundle's requirements.txt is enough.

For each assignment, a fresh virtual environment made from the bundle's requirements.txt
alone (one per distinct requirements file) imports every module the notebook imports
(experiment cells included), runs the released notebook top to bottom with every public
check "not attempted", and the filled one (the worked solution) with every check passing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sweeps import sweep

from autograder.release.common import imported_modules, requirements
from autograder.release.plain import release_plain
from autograder.release.source import REPO, load_source

ASSIGNMENTS = sorted(p.parent.name for p in (REPO / "assignments").glob("*/source.ipynb")
                     if (REPO / "solutions" / p.parent.name / "solution.ipynb").is_file())


def test_plsa_em_needs_scipy_and_lda():
    needed = requirements(load_source("plsa_em"))
    assert {"scipy>=1.11", "lda>=3.0.2"} <= set(needed)


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_every_bundle_carries_its_requirements(name, tmp_path):
    bundle = release_plain(name, tmp_path)
    listed = (bundle / "requirements.txt").read_text().split()
    assert listed == requirements(load_source(name))
    assert {"numpy>=2.0", "sympy>=1.12"} <= set(listed)


@pytest.fixture(scope="module")
def venvs(tmp_path_factory):
    """One fresh venv per distinct requirements.txt, made from that file alone."""
    made: dict[str, Path] = {}

    def get(req: Path) -> Path:
        key = req.read_text()
        if key not in made:
            venv = tmp_path_factory.mktemp("student-venv") / "venv"
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
            proc = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                                   "-r", str(req)], capture_output=True, text=True, timeout=1200)
            assert proc.returncode == 0, proc.stderr[-3000:]
            made[key] = venv
        return made[key]

    return get


def check(venv: Path, bundle: Path, notebook: str) -> list[dict]:
    out = bundle / f"{notebook}.checks.json"
    proc = subprocess.run([str(venv / "bin" / "python"), "-m", "mlhw_check", notebook,
                           "--json", str(out)], cwd=bundle, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    data = json.loads(out.read_text())
    assert not data["errors"], data["errors"]  # every cell ran
    return data["checks"]


@pytest.mark.slow
@pytest.mark.parametrize("name", sweep(ASSIGNMENTS, ["plsa_em"]))
def test_a_fresh_venv_from_requirements_runs_the_notebook(name, tmp_path, venvs):
    bundle = release_plain(name, tmp_path)
    venv = venvs(bundle / "requirements.txt")
    modules = sorted(imported_modules(load_source(name)) - {"mlhw_check", "public_tests"})
    proc = subprocess.run([str(venv / "bin" / "python"), "-c",
                           "import importlib, sys; [importlib.import_module(m) for m in sys.argv[1:]]",
                           *modules], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    unfilled = check(venv, bundle, f"{name}.ipynb")
    assert unfilled and all(c["status"] == "not_attempted" for c in unfilled), unfilled
    shutil.copy2(REPO / "solutions" / name / "solution.ipynb", bundle / "filled.ipynb")
    filled = check(venv, bundle, "filled.ipynb")
    assert len(filled) == len(unfilled)
    assert all(c["status"] == "passed" for c in filled), [c for c in filled
                                                         if c["status"] != "passed"]
