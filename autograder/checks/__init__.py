"""The checks hidden suites use: each raises CheckFailed with a message safe to show students."""

from ..errors import CheckFailed
from .arrays import FLOAT32_RTOL, assert_close, assert_finite, assert_shape, mismatch
from .choice import assert_choice
from .concurrent import alongside
from .describe import describe_call, describe_value
from .figures import assert_class_map, assert_figure, points_not_drawn
from .gradients import check_gradient, numerical_gradient, relative_error
from .mistakes import (
    Mistake,
    assert_close_or_diagnose,
    diagnose,
    ratio_diagnosis,
)
from .mutation import assert_not_mutated
from .statistics import (
    assert_mean_close,
    assert_normal,
    assert_std_close,
    assert_variance_ratio_in,
    samples_needed_for_std,
)


# The symbolic checks need sympy (about 0.3 s to import): it is loaded on first use only.
def assert_equivalent(*args, **kwargs):
    """See :func:`autograder.checks.symbolic.equivalence.assert_equivalent`."""
    from .symbolic.equivalence import assert_equivalent as check

    return check(*args, **kwargs)


def assert_derivation(*args, **kwargs):
    """See :func:`autograder.checks.derivation.assert_derivation`."""
    from .derivation import assert_derivation as check

    return check(*args, **kwargs)


def parse_answer(*args, **kwargs):
    """See :func:`autograder.checks.symbolic.parse.parse_answer`."""
    from .symbolic.parse import parse_answer as parse

    return parse(*args, **kwargs)


__all__ = [
    "FLOAT32_RTOL",
    "CheckFailed",
    "Mistake",
    "alongside",
    "assert_choice",
    "assert_class_map",
    "assert_close",
    "assert_close_or_diagnose",
    "assert_derivation",
    "assert_equivalent",
    "assert_figure",
    "assert_finite",
    "assert_mean_close",
    "assert_normal",
    "assert_not_mutated",
    "assert_shape",
    "assert_std_close",
    "assert_variance_ratio_in",
    "check_gradient",
    "describe_call",
    "describe_value",
    "diagnose",
    "mismatch",
    "numerical_gradient",
    "parse_answer",
    "points_not_drawn",
    "ratio_diagnosis",
    "relative_error",
    "samples_needed_for_std",
]
