"""Grading processes held to one CPU each, their sandboxes with them."""

import os
import signal

from autograder.batch import ClassSubmission
from autograder.grading_processes import DIED_TWICE, GradingProcesses

CPUS = sorted(os.sched_getaffinity(0))


def cpus_of_grader_and_sandbox(name: str) -> tuple[set[int], set[int]]:
    """A stand-in for grading one file: the CPUs its grading process and its sandbox's
    zygote may run on (the grading process dies on "eve", as the OOM killer would)."""
    from autograder.sandbox import SandboxConfig
    from autograder.worker import prestart_worker
    from autograder.worker.pool import fork_servers

    if name == "eve":
        os.kill(os.getpid(), signal.SIGKILL)
    config = SandboxConfig()
    prestart_worker(config)
    return os.sched_getaffinity(0), os.sched_getaffinity(fork_servers.servers[config].proc.pid)


def _grade(names: list[str], count: int, pin: bool) -> dict:
    tasks = [((name,), (ClassSubmission(name, name), "sha")) for name in names]
    with GradingProcesses(count, cpus_of_grader_and_sandbox, pin=pin) as processes:
        return {sub.student: outcome for sub, _, outcome in processes.map(tasks)}


def test_as_many_grading_processes_as_cpus_each_keep_to_one_with_their_sandbox():
    names = ["eve"] + [f"s{i}" for i in range(3 * len(CPUS))]
    outcomes = _grade(names, len(CPUS), pin=True)
    assert outcomes.pop("eve") is DIED_TWICE
    for grader, sandbox in outcomes.values():
        assert len(grader) == 1 and sandbox == grader
    # one process per CPU, on every CPU (the dead ones' CPUs taken by their replacements)
    assert {cpu for grader, _ in outcomes.values() for cpu in grader} == set(CPUS)


def test_fewer_grading_processes_than_cpus_or_unpinned_ones_keep_every_cpu():
    cases = [(1, True), (len(CPUS), False)] if len(CPUS) > 1 else [(1, False)]
    for count, pin in cases:
        outcomes = _grade(["ann", "bob"], count, pin=pin)
        assert all(grader == set(CPUS) == sandbox for grader, sandbox in outcomes.values())
