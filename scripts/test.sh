#!/usr/bin/env bash
# Set up, install what the tests need (Debian's influxdb and victoria-metrics servers), run the
# whole test suite.
# A run that executes no test is a failure. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Debian packages the integration tests run as real peers: influxd (InfluxDB 1.x) and
# victoria-metrics (InfluxDB's /api/v2/write, for the 2.x write path).
missing=""
command -v influxd >/dev/null 2>&1 || missing="$missing influxdb"
command -v victoria-metrics >/dev/null 2>&1 || missing="$missing victoria-metrics"
if [ -n "$missing" ]; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "installing Debian's$missing (the integration tests start their own servers)..."
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi
# The packages' own services are not used: the tests start each server on a free loopback
# port with a temporary data directory and stop it by its PID.
# Static checks first: a finding fails the run like a failing test.
echo "ruff check..."
.venv/bin/ruff check --quiet .
status=0
.venv/bin/python -m pytest -q -p no:cacheprovider "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "no test was collected or run: failing" >&2
fi
exit "$status"
