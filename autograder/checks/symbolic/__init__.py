"""Symbolic answers: :mod:`.parse` reads them with an AST whitelist (never eval/sympify of a
string), :mod:`.equivalence` compares them with the expected expression under a deadline.
Importing this package imports sympy (about 0.3 s); ``autograder.checks`` loads it on first
use only.
"""

from ..choice import assert_choice  # it lived here; kept importable from its old place
from .equivalence import DOMAINS, MAX_TRIES, N_POINTS, REL_TOL, Sampler, assert_equivalent
from .parse import (
    CONSTANTS,
    FUNCTIONS,
    MAX_BITS,
    MAX_DEPTH,
    MAX_EXPONENT,
    MAX_LENGTH,
    MAX_NODES,
    OPTIONAL_CONSTANTS,
    OPTIONAL_FUNCTIONS,
    parse_answer,
)

__all__ = [
    "CONSTANTS",
    "DOMAINS",
    "FUNCTIONS",
    "MAX_BITS",
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "MAX_LENGTH",
    "MAX_NODES",
    "MAX_TRIES",
    "N_POINTS",
    "OPTIONAL_CONSTANTS",
    "OPTIONAL_FUNCTIONS",
    "REL_TOL",
    "Sampler",
    "assert_choice",
    "assert_equivalent",
    "parse_answer",
]
