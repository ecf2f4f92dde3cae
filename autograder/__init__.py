"""The mlhw grading engine: student code runs in a sandboxed worker, verdicts in this process."""

import sys as _sys

# nbformat validates notebooks with jsonschema, whose format checkers import rfc3987_syntax
# when it is installed (Jupyter's extras bring it): building its grammar costs about 0.7 s of
# CPU in every process that reads a notebook, for an "iri" format no notebook schema uses.
# Marked absent here, jsonschema skips that one checker.
if "jsonschema" not in _sys.modules:
    _sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]

_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                     "NUMBA_NUM_THREADS")


def one_thread_per_grader() -> None:
    """Let NumPy's BLAS and numba use one thread in this process and the grading processes it
    starts (unless the caller chose otherwise): the grader's own arrays are small, and extra
    threads only contend for the cores with the other grading processes and the workers.
    Takes effect in a process that has not imported NumPy yet (and in its children)."""
    import os

    for name in _THREAD_VARIABLES:
        os.environ.setdefault(name, "1")
