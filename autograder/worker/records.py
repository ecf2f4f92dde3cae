"""What a worker reports: a loaded cell, a load, a call (frozen dataclasses), and `CALLABLE`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class _CallableMarker:
    """Returned by `Worker.get` for a name bound to a function (call it instead)."""

    _instance = None

    def __new__(cls) -> _CallableMarker:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "CALLABLE"


CALLABLE = _CallableMarker()


@dataclass(frozen=True)
class CellReport:
    """What happened to one cell while loading.

    ``status`` is ``"ok"``, ``"error"`` (the cell raised; the next cells still ran),
    ``"crashed"`` (it killed the worker) or ``"timeout"``; the last two are skipped when the
    worker restarts. ``index`` is the 0-based position among all cells loaded so far;
    ``name`` is how the student sees it (tracebacks show ``File "<name>"``).
    """

    index: int
    status: str
    error_type: str = ""
    message: str = ""
    traceback: str = ""
    name: str = ""

    @property
    def cell(self) -> int:
        """Alias of ``index``."""
        return self.index

    @property
    def summary(self) -> str:
        """One line for the student, e.g. ``"cell 7 raised ValueError: bad shape"``."""
        if self.status == "ok":
            return f"{self.name} ran"
        if self.status == "error":
            return f"{self.name} raised {self.error_type}: {self.message}"
        return self.message


@dataclass(frozen=True)
class LoadReport:
    """The outcome of `Worker.load`: one `CellReport` per cell and the captured output."""

    cells: tuple[CellReport, ...]
    stdout: str
    stderr: str
    duration: float

    @property
    def ok(self) -> bool:
        return all(c.status == "ok" for c in self.cells)

    @property
    def errors(self) -> tuple[CellReport, ...]:
        return tuple(c for c in self.cells if c.status != "ok")


@dataclass(frozen=True)
class CallOutcome:
    """The result of one call of a student function.

    ``args_after``/``kwargs_after`` are the arguments as the function left them (the very
    objects passed in when the worker saw no change), or ``None`` if they could not be sent
    back (``args_note`` says why).
    """

    name: str
    value: Any
    stdout: str
    stderr: str
    args_after: tuple | None
    kwargs_after: dict | None
    args_unchanged: bool
    duration: float
    args_note: str = ""

    @property
    def printed(self) -> bool:
        return bool(self.stdout or self.stderr)
