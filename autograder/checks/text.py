"""How a student's answer is written in a message (no sympy: multiple choice uses it too)."""

from __future__ import annotations

from typing import Any

UNICODE = {"−": "-", "×": "*", "·": "*", "⋅": "*", "÷": "/", "²": "**2", "³": "**3", "π": "pi"}


def normalise_text(text: str) -> tuple[str, list[str]]:
    """``text`` with Unicode operators spelled in Python and ``^`` read as ``**``, and notes
    on what was reread."""
    notes = []
    for old, new in UNICODE.items():
        text = text.replace(old, new)
    if "^" in text:
        text = text.replace("^", "**")
        notes.append("^ was read as ** (power)")
    return text.strip(), notes


def short_text(answer: Any, limit: int = 80) -> str:
    """``answer`` on one line of at most ``limit`` characters."""
    # str() of a sympy expression is sympy.sstr(); checking the type's module keeps sympy
    # unimported for the checks that never see one.
    sympy_object = type(answer).__module__.partition(".")[0] == "sympy"
    text = answer if isinstance(answer, str) else str(answer) if sympy_object else repr(answer)
    text = " ".join(normalise_text(text)[0].split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
