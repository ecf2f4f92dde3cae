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


def test_each_grading_process_and_its_sandbox_keep_to_one_cpu_of_their_own():
    names = ["ann", "bob", "eve", "fred", "gil", "hal"]
    outcomes = _grade(names, 2, pin=True)
    assert outcomes.pop("eve") is DIED_TWICE
    for grader, sandbox in outcomes.values():
        assert len(grader) == 1 and sandbox == grader
    # two processes at a time, on two CPUs where there are two (the dead ones' CPUs reused)
    assert {cpu for grader, _ in outcomes.values() for cpu in grader} == set(CPUS[:2])


def test_unpinned_processes_keep_every_cpu():
    outcomes = _grade(["ann", "bob"], 2, pin=False)
    assert all(grader == set(CPUS) == sandbox for grader, sandbox in outcomes.values())
