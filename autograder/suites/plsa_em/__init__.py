"""Hidden suite of assignment 1, ``plsa_em`` (ASSIGNMENTS.md section 1)."""
