"""Shared settings for the hidden suites: hypothesis is reproducible from the run's seed
(passed as --hypothesis-seed) and keeps no example database on disk."""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "grading",
    database=None,
    deadline=None,
    max_examples=25,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    print_blob=False,
)
settings.load_profile("grading")
