"""`mlhw grade --profile`: each test's time split into the student's calls, the reference and
the engine."""

from pathlib import Path

from autograder.profile import Stopwatch, TestTiming, TimedModule, profile_table
from autograder.runner import GradeOptions, grade_submission

EXAMPLES = Path(__file__).parents[2] / "assignments" / "deep_chain" / "examples"


def test_every_test_is_timed_and_the_shares_add_up():
    options = GradeOptions(seed=1, profile=[])
    result = grade_submission(EXAMPLES / "solution.ipynb", "deep_chain", options)
    assert [t.number for t in options.profile] == [t.number for t in result.tests]
    assert all(t.total >= 0 and t.student >= 0 and t.reference >= 0 for t in options.profile)
    assert sum(t.student for t in options.profile) > 0
    assert sum(t.reference for t in options.profile) > 0
    assert "engine" in profile_table(options.profile)
    # each result carries its test's seconds in the student's calls (into the gradebook)
    assert [t.student_seconds for t in result.tests] == [round(t.student, 4) for t in options.profile]
    derivation = next(t for t in result.tests if "derivation" in t.name)
    assert derivation.student_seconds == 0.0 < derivation.duration  # a value read, no call


def test_a_timed_module_counts_its_functions_only():
    import math

    watch = Stopwatch()
    timed = TimedModule(math, watch)
    assert timed.pi == math.pi  # values pass through untimed
    import mlhw_ref.chain as chain

    TimedModule(chain, watch).chain_forward([0.5, -0.5], [1.0] * 3)
    assert watch.take() > 0 and watch.take() == 0


def test_the_engine_share_is_never_negative():
    assert TestTiming("q1.1", "t", total=1.0, student=0.8, reference=0.5).engine == 0.0
