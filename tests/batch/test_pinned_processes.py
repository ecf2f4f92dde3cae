"""Grading processes held to one CPU each, their sandboxes with them."""

import os
import signal
import time

from click.testing import CliRunner

from autograder import batch
from autograder.batch import ClassSubmission
from autograder.cli import main
from autograder.grading_processes import DIED_TWICE, GradingProcesses

CPUS = sorted(os.sched_getaffinity(0))


def cpus_of_grader_and_sandbox(name: str) -> tuple[set[int], set[int]]:
    """A stand-in for grading one file: the CPUs its grading process and its sandbox's
    zygote may run on (the grading process dies on "eve", as the OOM killer would, and
    takes half a second on "slow...")."""
    from autograder.sandbox import SandboxConfig
    from autograder.worker import prestart_worker
    from autograder.worker.pool import fork_servers

    if name == "eve":
        os.kill(os.getpid(), signal.SIGKILL)
    if name.startswith("slow"):
        time.sleep(0.5)
    config = SandboxConfig()
    prestart_worker(config)
    return os.sched_getaffinity(0), os.sched_getaffinity(fork_servers.servers[config].proc.pid)


def _grade(names: list[str], count: int, pin: bool) -> tuple[dict, list[int]]:
    """Each student's outcome, and the CPUs the live processes were held to at the end."""
    tasks = [((name,), (ClassSubmission(name, name), "sha")) for name in names]
    with GradingProcesses(count, cpus_of_grader_and_sandbox, pin=pin) as processes:
        outcomes = {sub.student: outcome for sub, _, outcome in processes.map(tasks)}
        return outcomes, sorted(processes._cpu_of.values())


def test_as_many_grading_processes_as_cpus_each_keep_to_one_with_their_sandbox():
    outcomes, _ = _grade([f"s{i}" for i in range(2 * len(CPUS))], len(CPUS), pin=True)
    for grader, sandbox in outcomes.values():
        assert len(grader) == 1 and sandbox == grader
    # the first tasks go one to each process at once: every CPU is used
    assert {cpu for grader, _ in outcomes.values() for cpu in grader} == set(CPUS)


def test_a_dead_grading_process_leaves_its_cpu_to_its_replacement():
    # eve's two deaths come while the others are busy: each time a fresh process is started
    # (for eve's retry, then for the next student), on the CPU the dead one left
    names = ["eve"] + [f"slow{i}" for i in range(2 * len(CPUS))]
    outcomes, held = _grade(names, len(CPUS), pin=True)
    assert outcomes["eve"] is DIED_TWICE
    assert held == CPUS  # one process on each CPU, none on the dead ones'


def test_fewer_grading_processes_than_cpus_or_unpinned_ones_keep_every_cpu():
    cases = [(1, True), (len(CPUS), False)] if len(CPUS) > 1 else [(1, False)]
    for count, pin in cases:
        outcomes, held = _grade(["ann", "bob"], count, pin=pin)
        assert held == []
        assert all(grader == set(CPUS) == sandbox for grader, sandbox in outcomes.values())


def test_grade_class_pins_unless_told_not_to(tmp_path, monkeypatch):
    """`grade-class` asks for pinning by default, and not with --no-pin."""
    asked = []

    class Recording(GradingProcesses):
        def __init__(self, *args, pin=False, **kwargs):
            asked.append(pin)
            super().__init__(*args, pin=pin, **kwargs)

        def __enter__(self):  # nothing started nor graded: only the choice is looked at
            return self

        def map(self, tasks):
            return iter(())

    monkeypatch.setattr(batch, "GradingProcesses", Recording)
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "ann.py").write_text("x = 1\n")
    for flags in ([], ["--no-pin"]):
        CliRunner().invoke(main, ["grade-class", str(tmp_path / "class"), "-a", "deep_chain",
                                  "--gradebook", str(tmp_path / "g.db"), *flags])
    assert asked == [True, False]
