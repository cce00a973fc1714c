#!/usr/bin/env bash
# Set up, install what the tests need (Debian's influxdb and victoria-metrics servers,
# poppler-utils, chromium and chromium-driver for the camp page's browser tests), run static
# checks and the whole test suite.
# A run that executes no test is a failure. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Debian packages the tests need: installed when their command is missing.
missing=()
command -v influxd >/dev/null 2>&1 || missing+=(influxdb)        # integration tests start their own influxd
command -v victoria-metrics >/dev/null 2>&1 || missing+=(victoria-metrics)  # InfluxDB 2.x write path (/api/v2/write)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)  # the PDF report is rendered and read back
command -v chromium >/dev/null 2>&1 || missing+=(chromium)        # the camp page is tested in a real browser
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
if [ "${#missing[@]}" -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "installing Debian packages the tests need: ${missing[*]} ..."
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The packages' own services are not used: the tests start each server on a free loopback
# port with a temporary data directory and stop it by its PID.
# Static checks first: a finding fails the run like a failing test.
echo "ruff check..."
.venv/bin/ruff check --quiet .
echo "lint-imports (layers, docs/architecture.md §1)..."
.venv/bin/lint-imports --no-cache >/tmp/lint-imports.$$ 2>&1 || { cat /tmp/lint-imports.$$; rm -f /tmp/lint-imports.$$; exit 1; }
rm -f /tmp/lint-imports.$$
echo "mypy (kernel, telemetry, optimizer, service; config in pyproject.toml)..."
.venv/bin/mypy
status=0
.venv/bin/python -m pytest -q -p no:cacheprovider "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "no test was collected or run: failing" >&2
fi
exit "$status"
