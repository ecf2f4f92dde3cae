"""Hidden suite of assignment 3, ``deep_chain`` (ASSIGNMENTS.md §3)."""
