"""Submissions as otter-grader and nbgrader hand them in: an export zip gives its notebook
alone, safely; an nbgrader folder its one notebook."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.submission import MAX_BYTES, SubmissionError, load_submission, resolve_submission


def _zip(path: Path, entries: dict[str, bytes], symlinks: tuple[str, ...] = ()) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        for name in symlinks:
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o120777 << 16  # a symbolic link
            zf.writestr(info, "/etc/passwd")
    return path


def _notebook_bytes(code: str = "x = 1") -> bytes:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    return nbformat.writes(nb).encode()


def test_zip_submission_yields_its_notebook(tmp_path):
    z = _zip(
        tmp_path / "hw_2026_11_22.zip",
        {
            ".OTTER_LOG": b"log",
            "hw.pdf": b"%PDF-1.4",
            "__MACOSX/._hw.ipynb": b"junk",
            "hw.ipynb": _notebook_bytes("answer = 42"),
            "extra/other.ipynb": _notebook_bytes(),
        },
    )
    path = resolve_submission(z, into=tmp_path / "out")
    assert path == tmp_path / "out" / "hw.ipynb"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["hw.ipynb"]
    assert load_submission(path).cells[0].source == "answer = 42"


def test_non_zip_submission_is_returned_unchanged(tmp_path):
    nb = tmp_path / "submitted" / "alice" / "tiny" / "tiny.ipynb"
    assert resolve_submission(nb) == nb


def test_nbgrader_submission_folder_gives_its_notebook(tmp_path):
    folder = tmp_path / "submitted" / "alice" / "tiny"
    (folder / ".ipynb_checkpoints").mkdir(parents=True)
    (folder / "tiny.ipynb").write_bytes(_notebook_bytes())
    (folder / "timestamp.txt").write_text("2026-11-22 05:00:00 UTC")
    assert resolve_submission(folder) == folder / "tiny.ipynb"
    (folder / "copy.ipynb").write_bytes(_notebook_bytes())
    with pytest.raises(SubmissionError, match="several notebooks"):
        resolve_submission(folder)


@pytest.mark.parametrize(
    "entry",
    [
        "../../evil.ipynb",
        "/etc/evil.ipynb",
        "a/../../evil.ipynb",
        "C:/evil.ipynb",
        "..\\evil.ipynb",
    ],
)
def test_zip_with_path_traversal_is_refused(tmp_path, entry):
    z = _zip(tmp_path / "s.zip", {"hw.ipynb": _notebook_bytes(), entry: _notebook_bytes()})
    with pytest.raises(SubmissionError, match="refused"):
        resolve_submission(z, into=tmp_path / "out")
    assert not (tmp_path / "evil.ipynb").exists()
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_zip_with_a_symlink_is_refused(tmp_path):
    z = _zip(tmp_path / "s.zip", {"hw.ipynb": _notebook_bytes()}, symlinks=("link.ipynb",))
    with pytest.raises(SubmissionError, match="symbolic link"):
        resolve_submission(z, into=tmp_path / "out")


def test_zip_bomb_is_refused_before_unpacking(tmp_path):
    z = tmp_path / "bomb.zip"
    block = b"\0" * (1 << 20)
    with (
        zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf,
        zf.open("hw.ipynb", "w", force_zip64=True) as f,
    ):
        for _ in range(MAX_BYTES // len(block) + 2):
            f.write(block)
    assert z.stat().st_size < 1 << 20
    with pytest.raises(SubmissionError, match="MiB"):
        resolve_submission(z, into=tmp_path / "out")
    assert not (tmp_path / "out" / "hw.ipynb").exists()


def test_zip_that_lies_about_its_size_is_cut_off(tmp_path):
    big = b"{" + b" " * (MAX_BYTES + 10)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("hw.ipynb", big)
    data = bytearray(buf.getvalue())
    # rewrite the uncompressed size in the central directory to 1 KiB
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 24 : cd + 28] = (1024).to_bytes(4, "little")
    z = tmp_path / "liar.zip"
    z.write_bytes(bytes(data))
    with pytest.raises(SubmissionError):
        resolve_submission(z, into=tmp_path / "out")
    assert not (tmp_path / "out" / "hw.ipynb").exists()


def test_zip_without_a_notebook_says_so(tmp_path):
    z = _zip(tmp_path / "s.zip", {"hw.pdf": b"%PDF", "notes.txt": b"hi"})
    with pytest.raises(SubmissionError, match="no Jupyter notebook.*hw.pdf"):
        resolve_submission(z)


def test_corrupt_zip_is_a_submission_error(tmp_path):
    z = tmp_path / "s.zip"
    z.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(SubmissionError, match="not a readable zip"):
        resolve_submission(z)
