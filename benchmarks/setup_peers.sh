#!/usr/bin/env bash
# Create the peer-tool venv used by benchmarks/grading.py (idempotent):
#   benchmarks/.env-peers  with otter-grader 7.0.0, nbgrader 0.9.6, ipykernel, numpy.
# Kept separate from the project's .venv on purpose: the peers pin their own Jupyter stack.
set -euo pipefail
cd "$(dirname "$0")"
ENV=.env-peers
STAMP="$ENV/.peers-installed-otter7.0.0-nbgrader0.9.6"
if [ ! -x "$ENV/bin/python" ]; then
    python3 -m venv "$ENV"
fi
if [ ! -f "$STAMP" ]; then
    "$ENV/bin/python" -m pip install -q --upgrade pip
    "$ENV/bin/python" -m pip install -q "otter-grader==7.0.0" "nbgrader==0.9.6" ipykernel numpy
    # A kernelspec inside the venv, so both tools run notebooks with this venv's Python.
    "$ENV/bin/python" -m ipykernel install --prefix "$ENV" --name python3 >/dev/null
    touch "$STAMP"
fi
"$ENV/bin/python" - <<'PY'
import importlib.metadata as md
for p in ("otter-grader", "nbgrader", "ipykernel", "numpy"):
    print(f"{p}=={md.version(p)}")
PY
