"""Heavy end-to-end checks (fresh virtual environments, every assignment through a tool) run
on everything with ``MLHW_FULL_SWEEPS=1`` (scripts/full_sweeps.sh); CI runs a fixed sample,
so a regression in the sample still fails the build while CI stays within minutes."""

import os


def sweep(items: list[str], sample: list[str]) -> list[str]:
    """``items`` under MLHW_FULL_SWEEPS=1, otherwise those of ``sample`` that exist."""
    if os.environ.get("MLHW_FULL_SWEEPS"):
        return list(items)
    return [item for item in items if item in sample]
