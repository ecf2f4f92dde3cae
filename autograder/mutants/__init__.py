"""Mutation testing of the hidden suites (`mlhw mutants NAME`): how strong is a suite?

operators.py (the AST edits), generation.py (mutants of the worked solution's regions,
stable ids), grading.py (graded with ``GradingProcesses``, one seed, classified against
the solution), report.py (per-question table, text and HTML), cli.py (the command).
"""
