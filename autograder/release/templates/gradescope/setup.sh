#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (Ubuntu 24.04
# base image: Python 3.12). It installs bubblewrap and a virtual environment with mlhw and
# the hidden suite of @ASSIGNMENT@. The paths are Gradescope's; the MLHW_GRADESCOPE_*
# variables move them (the tests run this file in a temporary folder).
set -euo pipefail
ROOT="${MLHW_GRADESCOPE_ROOT:-/autograder}"
SOURCE="${MLHW_GRADESCOPE_SOURCE:-$ROOT/source}"
VENV="${MLHW_GRADESCOPE_VENV:-$ROOT/mlhw-venv}"
PYTHON="${MLHW_GRADESCOPE_PYTHON:-python3}"

if ! command -v "$PYTHON" >/dev/null; then
    echo "mlhw setup: $PYTHON was not found; choose Gradescope's Ubuntu 24.04 base image" >&2
    exit 1
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "mlhw setup: mlhw needs Python 3.11 or newer, and this image has" \
         "$("$PYTHON" -V 2>&1); choose Gradescope's Ubuntu 24.04 base image (Python 3.12)" >&2
    exit 1
fi
# bubblewrap isolates the student's code where the container lets it create namespaces;
# without it (or where it cannot start) mlhw grades with reduced isolation and says so.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    missing=""
    command -v bwrap >/dev/null || missing="bubblewrap"
    "$PYTHON" -c 'import ensurepip' 2>/dev/null || missing="$missing python3-venv"
    if [ -n "$missing" ]; then
        apt-get update -qq
        # shellcheck disable=SC2086 (a list of packages)
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    fi
fi
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e "$SOURCE/mlhw"
"$VENV/bin/python" -c 'import autograder, mlhw_ref' && echo "mlhw setup: ready in $VENV"
