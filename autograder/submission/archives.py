"""Submissions as otter-grader and nbgrader hand them in: zips and folders.

- nbgrader: ``submitted/<student>/<assignment>/<name>.ipynb`` is a plain notebook (its
  ``nbgrader`` cell metadata is ignored by the loader); ``resolve_submission`` returns it.
- otter-grader: ``grader.export()`` writes a zip holding the notebook (and possibly a PDF, an
  ``.OTTER_LOG`` and other files). ``resolve_submission`` extracts the notebook alone, safely:
  entries with absolute paths, ``..`` or links refuse the archive, sizes are capped before and
  while reading, and nothing but the chosen notebook is written.
"""

from __future__ import annotations

import atexit
import re
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from autograder.errors import SubmissionError

from .cells import MAX_BYTES

MAX_ZIP_BYTES = 200 * 1024 * 1024  # the archive itself (a PDF may ride along)
MAX_ENTRIES = 2000
_CHUNK = 1 << 20
_SAFE_NAME = re.compile(r"[^\w.\- ]")


def resolve_submission(path: str | Path, into: str | Path | None = None) -> Path:
    """The notebook (or .py file) to grade for a submitted ``path``.

    A ``.zip`` is opened and its notebook extracted into ``into`` (default: a fresh temporary
    folder, removed when the process exits); a folder (nbgrader's
    ``submitted/<student>/<assignment>/``) gives its one notebook; anything else is returned
    unchanged.

    Raises
    ------
    SubmissionError
        The zip is unreadable, too large, hostile (path traversal, links, a bomb) or holds no
        notebook. The message is safe to show to the student.
    """
    path = Path(path)
    if path.is_dir():
        return _notebook_in_folder(path)
    if path.suffix.lower() != ".zip":
        return path
    if not path.is_file():
        raise SubmissionError(f"{path.name}: no such file")
    size = path.stat().st_size
    if size > MAX_ZIP_BYTES:
        raise SubmissionError(
            f"{path.name} is {size / 2**20:.0f} MiB; the limit for a zip is "
            f"{MAX_ZIP_BYTES // 2**20} MiB"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            member = _choose_notebook(path.name, archive)
            target = _target_dir(into) / _safe_name(member.filename)
            _extract(path.name, archive, member, target)
    except zipfile.BadZipFile as exc:
        raise SubmissionError(f"{path.name} is not a readable zip file ({exc})") from None
    return target


def _notebook_in_folder(folder: Path) -> Path:
    """The one notebook of a submission folder (nbgrader's submitted/<student>/<assignment>/)."""
    found = sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))
    if len(found) == 1:
        return found[0]
    if not found:
        raise SubmissionError(f"{folder.name}/ holds no Jupyter notebook (.ipynb) to grade")
    names = ", ".join(p.name for p in found)
    raise SubmissionError(
        f"{folder.name}/ holds several notebooks ({names}); name the one to grade"
    )


def _entry_parts(name: str) -> tuple[str, ...]:
    return PurePosixPath(name.replace("\\", "/")).parts


def _unsafe(info: zipfile.ZipInfo) -> str | None:
    """Why an entry makes the archive hostile, or None."""
    name = info.filename.replace("\\", "/")
    parts = _entry_parts(name)
    if name.startswith("/") or (parts and re.match(r"^[A-Za-z]:", parts[0])):
        return "an absolute path"
    if ".." in parts:
        return "a path outside the archive (..)"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link"
    return None


def _is_candidate(info: zipfile.ZipInfo) -> bool:
    parts = _entry_parts(info.filename)
    return (
        not info.is_dir()
        and bool(parts)
        and parts[-1].lower().endswith(".ipynb")
        and not any(p.startswith(".") or p == "__MACOSX" for p in parts)
    )


def _choose_notebook(zip_name: str, archive: zipfile.ZipFile) -> zipfile.ZipInfo:
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise SubmissionError(f"{zip_name} holds {len(infos)} files; the limit is {MAX_ENTRIES}")
    for info in infos:
        why = _unsafe(info)
        if why:
            raise SubmissionError(
                f"{zip_name} was refused: the entry {info.filename!r} is {why}. "
                "Submit the zip that grader.export() wrote, or the notebook itself."
            )
    candidates = [i for i in infos if _is_candidate(i)]
    if not candidates:
        listed = ", ".join(i.filename for i in infos[:10]) or "nothing"
        raise SubmissionError(
            f"{zip_name} holds no Jupyter notebook (.ipynb); it holds {listed}. "
            "Export your notebook again (grader.export()) or submit the .ipynb file."
        )
    # the notebook nearest the top of the archive, in archive order among equals
    chosen = min(candidates, key=lambda i: len(_entry_parts(i.filename)))
    if chosen.file_size > MAX_BYTES:
        raise SubmissionError(
            f"{zip_name}: {chosen.filename} is {chosen.file_size / 2**20:.0f} MiB once "
            f"unpacked; the limit is {MAX_BYTES // 2**20} MiB"
        )
    return chosen


def _safe_name(name: str) -> str:
    base = _SAFE_NAME.sub("_", _entry_parts(name)[-1]).strip(" .") or "submission"
    return base if base.lower().endswith(".ipynb") else base + ".ipynb"


def _target_dir(into: str | Path | None) -> Path:
    if into is not None:
        Path(into).mkdir(parents=True, exist_ok=True)
        return Path(into)
    tmp = Path(tempfile.mkdtemp(prefix="mlhw-zip-"))
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    return tmp


def _extract(zip_name: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
    """Copy one entry out, never writing more than MAX_BYTES whatever its header says."""
    written = 0
    try:
        with archive.open(info) as src, open(target, "wb") as dst:
            while chunk := src.read(_CHUNK):
                written += len(chunk)
                if written > MAX_BYTES:
                    raise SubmissionError(
                        f"{zip_name}: {info.filename} unpacks to more than "
                        f"{MAX_BYTES // 2**20} MiB; refused"
                    )
                dst.write(chunk)
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError) as exc:
        target.unlink(missing_ok=True)
        raise SubmissionError(
            f"{zip_name}: {info.filename} could not be unpacked ({exc})"
        ) from None
    except SubmissionError:
        target.unlink(missing_ok=True)
        raise
