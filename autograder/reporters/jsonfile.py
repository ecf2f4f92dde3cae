"""Our own JSON result file: the full SubmissionResult (seed and isolation included)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from autograder.results import SubmissionResult


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        # errors="replace": a lone surrogate in student output must not lose the whole file
        with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as handle:
            handle.write(text)
        os.chmod(tmp, 0o666 & ~_umask())  # as open() would make it (mkstemp makes 0600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def to_json(result: SubmissionResult) -> str:
    return json.dumps(result.to_dict(), indent=2, ensure_ascii=False, allow_nan=False)


def from_json(text: str) -> SubmissionResult:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not a result file: invalid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError("not a result file: the JSON is not an object")  # noqa: TRY004
    try:
        return SubmissionResult.from_dict(data)
    except KeyError as exc:
        raise ValueError(f"not a result file: the field {exc} is missing") from None


def write_json(result: SubmissionResult, path: str | Path) -> None:
    write_text_atomic(path, to_json(result) + "\n")


def read_json(path: str | Path) -> SubmissionResult:
    return from_json(Path(path).read_text(encoding="utf-8"))
