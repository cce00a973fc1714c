"""A real InfluxDB 1.x for the dashboard tests.

Uses the suite-wide ``influxd`` fixture (tests/conftest.py) when it exists; otherwise starts
one through the historian's :class:`telemetry.testing.influxd.InfluxdProcess`.
"""

from __future__ import annotations

import pytest

from telemetry.testing.influxd import InfluxdProcess


@pytest.fixture(scope="session")
def influx_url(request, tmp_path_factory):
    """Base URL of a running InfluxDB 1.x (``http://127.0.0.1:<port>``)."""
    try:
        shared = request.getfixturevalue("influxd")
    except (pytest.FixtureLookupError, pytest.fail.Exception):  # absent, or not session-scoped
        shared = None
    if shared is not None:
        yield shared if isinstance(shared, str) else shared.url
        return
    with InfluxdProcess(tmp_path_factory.mktemp("influxd")) as server:
        yield server.url
