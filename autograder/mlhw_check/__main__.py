"""``python -m mlhw_check [NOTEBOOK]``: run a notebook top to bottom, then every public check.

What a student's CI runs on each push (the GitHub template's ``check.yml``), and what a
student can run in a terminal. The notebook's code cells run in order in one namespace, as in
Jupyter (IPython's ``%``/``!`` lines are skipped; a cell that raises is reported and the next
one still runs); experiment cells (tag ``experiment``) and ``check(...)`` cells are skipped
unless ``--experiments``; then every public test of public_tests.py runs against what the
notebook defined. This is the student's own code on the student's own machine or runner: no
sandbox here, and no hidden test.

Outputs: a table on stdout; ``--summary FILE`` appends it as Markdown (GitHub's
``$GITHUB_STEP_SUMMARY``); ``--github-output FILE`` appends ``result=<base64 JSON>`` in the
form GitHub Classroom's autograding reporter reads (one point per public test passed: these
are the public checks, not the grade); ``--json FILE`` writes the outcomes. Exit code 0 when
the checks ran (whatever they found), 2 when there is no notebook to run.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import sys
import traceback
from pathlib import Path
from typing import Any

from . import PUBLIC_TESTS, _load_tests, check

_MAGIC = re.compile(r"^\s*[%!]")
_CHECK_CELL = re.compile(r"""^\s*(?:\w+\s*=\s*)?check\(\s*["']\w+["']\s*\)\s*;?\s*$""")
STATUS = {"passed": "✅ passed", "failed": "❌ failed", "not_attempted": "➖ not attempted"}


def _order(qid: str) -> tuple[str, int, str]:
    """q2 before q10."""
    head = qid.rstrip("0123456789")
    return (head, int(qid[len(head):] or -1), qid)


def find_notebook(folder: Path) -> Path:
    """The one notebook in ``folder`` (SystemExit with a message when none or several)."""
    found = sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))
    if len(found) != 1:
        what = "no notebook" if not found else f"{len(found)} notebooks"
        raise SystemExit(f"mlhw_check: {what} in {folder}; name the one to check")
    return found[0]


def _code_cells(path: Path, experiments: bool) -> list[tuple[str, str]]:
    """(name, source) of each code cell to run."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = []
    for i, cell in enumerate(nb.get("cells", []), start=1):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        meta = cell.get("metadata", {})
        tags = meta.get("tags", [])
        is_check = (meta.get("mlhw") or {}).get("check") or all(
            _CHECK_CELL.match(ln) or not ln.strip() for ln in source.splitlines()
        )
        if not experiments and ("experiment" in tags or (is_check and source.strip())):
            continue
        lines = ["pass  # " + ln if _MAGIC.match(ln) else ln for ln in source.splitlines()]
        cells.append((f"cell {i}", "\n".join(lines)))
    return cells


def run_notebook(path: Path, experiments: bool = False) -> tuple[dict[str, Any], list[str]]:
    """Run the notebook's code cells; returns its namespace and one line per failed cell."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
    errors = []
    for name, source in _code_cells(path, experiments):
        try:
            exec(compile(source, f"<{name}>", "exec"), namespace)  # noqa: S102 - the student's own notebook
        except BaseException as exc:  # noqa: BLE001 - SystemExit and the rest: report, go on
            if isinstance(exc, KeyboardInterrupt):
                raise
            last = traceback.extract_tb(exc.__traceback__)[-1:]
            where = f" (line {last[0].lineno})" if last and last[0].filename == f"<{name}>" else ""
            errors.append(f"{name}{where}: {type(exc).__name__}: {exc}")
    return namespace, errors


def run_checks(namespace: dict[str, Any], tests: Path) -> list[dict[str, Any]]:
    """Every public test against ``namespace``: one record per test."""
    questions = sorted({f.mlhw_question for f in _load_tests(tests)}, key=_order)
    out = []
    for qid in questions:
        result = check(qid, namespace=namespace, tests=tests, quiet=True)
        for o in result.outcomes:
            out.append({"question": qid, "name": f"{qid}: {o.description}", "status": o.status,
                        "message": o.message})
    return out


def markdown(notebook: str, records: list[dict[str, Any]], errors: list[str]) -> str:
    """The Markdown summary: one row per public test, then the cells that failed."""
    passed = sum(r["status"] == "passed" for r in records)
    lines = [f"### Public checks of `{notebook}`: {passed} / {len(records)} passed", "",
             "| check | result | message |", "|---|---|---|"]
    for r in records:
        message = " ".join(r["message"].split())[:300].replace("|", "\\|")
        name = r["name"].replace("|", "\\|")
        lines.append(f"| {name} | {STATUS.get(r['status'], r['status'])} | {message} |")
    if errors:
        lines += ["", "Cells that raised an error while the notebook ran:", ""]
        lines += [f"- `{e[:300]}`" for e in errors]
    lines += ["", "These are the public checks only; the grade comes from the hidden tests."]
    return "\n".join(lines) + "\n"


def classroom_result(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON GitHub Classroom's autograding reporter reads (its ``<ID>_RESULTS``)."""
    tests = [{"name": r["name"], "status": "pass" if r["status"] == "passed" else "fail",
              "score": 1 if r["status"] == "passed" else 0, "message": r["message"],
              "test_code": f'check("{r["question"]}")', "filename": PUBLIC_TESTS,
              "line_no": 0, "execution_time": ""} for r in records]
    failed = any(t["status"] != "pass" for t in tests) or not tests
    return {"version": 1, "status": "fail" if failed else "pass", "max_score": len(tests),
            "tests": tests}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlhw_check", description=__doc__.split("\n")[0])
    parser.add_argument("notebook", nargs="?", type=Path, help="default: the one .ipynb here")
    parser.add_argument("--experiments", action="store_true", help="also run experiment cells")
    parser.add_argument("--summary", type=Path, help="append the Markdown table to this file")
    parser.add_argument("--github-output", type=Path, help="append result=<base64 JSON> here")
    parser.add_argument("--json", type=Path, help="write the outcomes as JSON")
    args = parser.parse_args(argv)
    notebook = (args.notebook or find_notebook(Path.cwd())).resolve()
    if not notebook.is_file():
        print(f"mlhw_check: {notebook} does not exist", file=sys.stderr)
        return 2
    tests = Path.cwd() / PUBLIC_TESTS
    if not tests.is_file():
        tests = notebook.parent / PUBLIC_TESTS
    os.chdir(notebook.parent)  # the notebook reads its data files from its own folder
    sys.path.insert(0, str(notebook.parent))
    namespace, errors = run_notebook(notebook, args.experiments)
    records = run_checks(namespace, tests)
    text = markdown(notebook.name, records, errors)
    print(text, end="")
    if args.summary:
        with open(args.summary, "a", encoding="utf-8") as handle:
            handle.write(text)
    if args.github_output:
        payload = json.dumps(classroom_result(records)).encode()
        with open(args.github_output, "a", encoding="utf-8") as handle:
            handle.write(f"result={base64.b64encode(payload).decode()}\n")
    if args.json:
        args.json.write_text(json.dumps({"notebook": notebook.name, "checks": records,
                                         "errors": errors}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
