#!/usr/bin/env bash
# The main job: set up, then run the demo on the embedded store (SQLite) and the virtual camp.
# Extra arguments go to `microgrid demo` (e.g. --days 3 --out demo-out).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/microgrid demo "$@"
