"""Data sets used by the assignments, all available offline.

Names are resolved lazily so that importing one loader never imports the others (the
Reuters loader pulls in `lda`, the MNIST loader reads a compressed archive).
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "load_reuters": "reuters",
    "Reuters": "reuters",
    "sample_plsa_corpus": "corpora",
    "SyntheticCorpus": "corpora",
    "load_mnist": "mnist",
    "MNIST": "mnist",
    "make_circles": "circles",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f".{_WHERE[name]}", __name__)
    return getattr(module, name)
