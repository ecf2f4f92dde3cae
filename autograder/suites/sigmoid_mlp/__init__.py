"""Hidden suite of assignment 2, ``sigmoid_mlp`` (ASSIGNMENTS.md §2)."""
