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


_MMAP_THRESHOLD = 32 << 20  # glibc's largest
_TRIM_THRESHOLD = 256 << 20


def keep_freed_memory() -> None:
    """Have glibc's malloc serve buffers up to 32 MB from the heap and keep up to 256 MB
    it frees for reuse, in this process and the processes it forks. By default a freed
    buffer over 128 KB goes back to the system, so a grading process that sends a 12 MB array
    for every student faults ~3,000 fresh pages in each time (a third of the CPU of
    plsa_em's question 5). Nothing happens where the C library is not glibc."""
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this process already uses
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold = -1, -3  # malloc.h
    mallopt(m_mmap_threshold, _MMAP_THRESHOLD)
    mallopt(m_trim_threshold, _TRIM_THRESHOLD)
