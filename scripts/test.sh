#!/usr/bin/env bash
# Set up, install what the tests need (Debian's influxdb server, chromium and chromium-driver for
# the camp page's browser tests), run the whole test suite.
# A run that executes no test is a failure. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
missing=""
command -v influxd >/dev/null 2>&1 || missing="$missing influxdb"
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v chromedriver >/dev/null 2>&1 || missing="$missing chromium-driver"
if [ -n "$missing" ]; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "installing Debian's$missing (the tests start their own influxd and a headless chromium)..."
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi
# The package's own service is not used: the tests start influxd on a free loopback port.
# Static checks first: a finding fails the run like a failing test.
echo "ruff check..."
.venv/bin/ruff check --quiet .
status=0
.venv/bin/python -m pytest -q -p no:cacheprovider "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "no test was collected or run: failing" >&2
fi
exit "$status"
