"""The released notebook of every assignment in a real Jupyter kernel (nbclient + the venv's
ipykernel).

(a) unfilled, in its bundle folder, experiments left out: it runs top to bottom and every
check cell says "not attempted"; (b) the same notebook with the solution regions filled back
from the source: every check passes.
"""

import subprocess
import sys
import time

import nbformat
import pytest

from autograder.release.plain import release_plain
from autograder.release.source import load_source, solution_source
from autograder.runner import available_assignments

pytestmark = pytest.mark.slow

nbclient = pytest.importorskip("nbclient")
KERNEL = "python3"


@pytest.fixture(scope="session")
def kernel_name() -> str:
    """The venv's own python3 kernel; installed into the venv (--sys-prefix) when missing."""
    from jupyter_client.kernelspec import KernelSpecManager

    if KERNEL not in KernelSpecManager().find_kernel_specs():
        subprocess.run(
            [sys.executable, "-m", "ipykernel", "install", "--sys-prefix", "--name", KERNEL],
            check=True,
            capture_output=True,
        )
    return KERNEL


ASSIGNMENTS = available_assignments()


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def bundle(request, tmp_path_factory):
    return release_plain(request.param, tmp_path_factory.mktemp("jupyter"))


def _expected_checks(name: str) -> list[str]:
    """The questions whose check cell the source notebook has, in order."""
    return [c.cell.metadata["mlhw"]["check"] for c in load_source(name).of_kind("check")]


def _notebook(bundle):
    return _without_experiments(nbformat.read(bundle / f"{bundle.name}.ipynb", as_version=4))


def _without_experiments(nb):
    nb.cells = [c for c in nb.cells if "experiment" not in c.metadata.get("tags", [])]
    return nb


def _execute(nb, folder, kernel_name):
    started = time.perf_counter()
    client = nbclient.NotebookClient(
        nb, kernel_name=kernel_name, timeout=60, resources={"metadata": {"path": str(folder)}}
    )
    client.execute()  # raises CellExecutionError on any error output
    return time.perf_counter() - started


def _check_outputs(nb) -> dict[str, str]:
    out = {}
    for cell in nb.cells:
        q = cell.metadata.get("mlhw", {}).get("check")
        if q:
            out[q] = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            # the returned CheckResult displays nothing: the printed lines are the report (a
            # kernel may split one print into several stream outputs under load)
            assert {o.output_type for o in cell.outputs} == {"stream"}, cell.outputs
    return out


def _errors(nb) -> list[str]:
    return [
        f"{o.get('ename')}: {o.get('evalue')}"
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error" or (o.output_type == "stream" and o.name == "stderr")
    ]


def test_unfilled_notebook_runs_and_every_check_is_not_attempted(bundle, kernel_name):
    nb = _notebook(bundle)
    seconds = _execute(nb, bundle, kernel_name)
    checks = _check_outputs(nb)
    assert list(checks) == _expected_checks(bundle.name) and len(checks) >= 6
    for q, text in checks.items():
        assert text.strip(), f"check({q!r}) printed nothing"
        for line in text.strip().splitlines():
            assert "not attempted" in line, f"check({q!r}): {line}"
    assert _errors(nb) == []
    assert seconds < 60, f"took {seconds:.1f} s"


def test_notebook_filled_from_the_source_passes_every_check(bundle, kernel_name):
    source = load_source(bundle.name)
    solutions = {sc.cell.id: solution_source(sc.source) for sc in source.cells if sc.cell.get("id")}
    stubs = [sc for sc in source.of_kind("code") if sc.regions or sc.answers]
    nb = _notebook(bundle)
    filled = 0
    for cell in nb.cells:
        stub = "NotImplementedError" in cell.source or "# YOUR ANSWER" in cell.source
        if cell.cell_type == "code" and stub:
            cell.source = solutions[cell.id]
            filled += 1
    assert filled == len(stubs) >= 6  # every cell with a solution region or an answer line
    seconds = _execute(nb, bundle, kernel_name)
    checks = _check_outputs(nb)
    assert list(checks) == _expected_checks(bundle.name)
    for q, text in checks.items():
        lines = text.strip().splitlines()
        assert lines and all(" ✓ " in line for line in lines), f"check({q!r}):\n{text}"
    assert _errors(nb) == []
    assert seconds < 60, f"took {seconds:.1f} s"
