"""The mlhw grading engine: student code runs in a sandboxed worker, verdicts in this process."""
