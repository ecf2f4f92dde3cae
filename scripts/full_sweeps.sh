#!/usr/bin/env bash
# The heavy end-to-end checks on every assignment (CI runs a fixed sample of them):
# Gradescope's setup.sh and run_autograder, fresh student venvs from requirements.txt,
# and the 20-seed check of every correct corpus submission.
set -euo pipefail
cd "$(dirname "$0")/.."
MLHW_FULL_SWEEPS=1 .venv/bin/python -m pytest -p no:xdist \
    tests/release/test_gradescope_release.py tests/release/test_requirements.py "$@"
.venv/bin/python scripts/seed_sweep.py --seeds 20 --correct-only
