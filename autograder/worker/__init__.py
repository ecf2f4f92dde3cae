"""The grader's side of the sandboxed worker: start it, load cells, call functions, restart.

One `Worker` per submission (`session`). Beneath it: `records` (what a load or a call
reports), `transport` (the non-blocking pipe exchange with one worker process) and `pool`
(the process-wide state: spare workers started ahead of need, the live workers killed at
exit, whether bubblewrap works on this host).
"""

from .pool import close_spare_workers, prestart_worker
from .records import CALLABLE, CallOutcome, CellReport, LoadReport
from .session import Worker

__all__ = ["CALLABLE", "CallOutcome", "CellReport", "LoadReport", "Worker",
           "close_spare_workers", "prestart_worker"]
