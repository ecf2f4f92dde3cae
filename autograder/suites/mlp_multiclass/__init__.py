"""Hidden suite of assignment 5, ``mlp_multiclass`` (ASSIGNMENTS.md §5)."""
