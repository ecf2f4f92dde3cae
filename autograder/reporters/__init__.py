"""Writers of a SubmissionResult: Gradescope results.json, JUnit XML, our JSON, the terminal."""

from __future__ import annotations

from pathlib import Path

from autograder.reporters.gradescope import to_gradescope, write_gradescope
from autograder.reporters.jsonfile import from_json, read_json, to_json, write_json
from autograder.reporters.junit import junit_string, to_junit, write_junit
from autograder.results import SubmissionResult

__all__ = [
    "from_json",
    "junit_string",
    "read_json",
    "to_gradescope",
    "to_json",
    "to_junit",
    "write_all",
    "write_folder",
    "write_gradescope",
    "write_json",
    "write_junit",
]


def write_all(
    result: SubmissionResult,
    *,
    json_path: str | Path | None = None,
    gradescope_path: str | Path | None = None,
    junit_path: str | Path | None = None,
) -> None:
    """Write each file whose path is given."""
    if json_path is not None:
        write_json(result, json_path)
    if gradescope_path is not None:
        write_gradescope(result, gradescope_path)
    if junit_path is not None:
        write_junit(result, junit_path)


def write_folder(result: SubmissionResult, folder: str | Path) -> None:
    """A student's reports in ``folder``: result.json (ours), results.json (Gradescope's),
    junit.xml."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_all(result, json_path=folder / "result.json", gradescope_path=folder / "results.json",
              junit_path=folder / "junit.xml")
