#!/usr/bin/env bash
# Set up camp-microgrid in a virtual environment (.venv) beside this checkout.
# Used by scripts/demo.sh and scripts/test.sh; safe to run again (it only adds what is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "camp-microgrid needs Python >= 3.11 ($PY is $("$PY" -V 2>&1))" >&2; exit 1
fi
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv || { echo "python3 -m venv failed: install Debian's python3-venv" >&2; exit 1; }
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"
