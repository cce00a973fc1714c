"""Suite-wide fixtures: a real InfluxDB 1.x (Debian's influxd) on loopback.

``influxd`` (session) is one server for the whole run; ``influx_database`` gives a test its own
fresh database on it; ``influxd_factory`` starts private servers a test may stop and start again
(the outage test). Server management lives in :mod:`telemetry.testing.influxd`, shared
with ``bench/bench_ingest.py``. A missing influxd FAILS the tests that need it (never skips):
``bash scripts/test.sh`` installs it.
"""

from __future__ import annotations

import itertools

import pytest
import requests

from telemetry.testing.influxd import INSTALL_HINT, InfluxdProcess, find_influxd


def _new_influxd(workdir, **kw) -> InfluxdProcess:
    if find_influxd() is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    return InfluxdProcess(workdir, **kw).start()


@pytest.fixture(scope="session")
def influxd(tmp_path_factory):
    """A running influxd for the session; ``.url`` is its base URL (``http://127.0.0.1:PORT``)."""
    proc = _new_influxd(tmp_path_factory.mktemp("influxd"))
    try:
        yield proc
    finally:
        proc.stop()


_db_numbers = itertools.count(1)


@pytest.fixture
def influx_database(influxd):
    """A fresh, empty database on the session influxd: ``(url, database_name)``."""
    name = f"test_{next(_db_numbers)}"
    influxd.create_database(name)
    yield influxd.url, name
    requests.post(f"{influxd.url}/query", params={"q": f'DROP DATABASE "{name}"'}, timeout=10)


@pytest.fixture
def influxd_factory(tmp_path):
    """``make(auth_enabled=False) -> InfluxdProcess``: private servers (stoppable, restartable on
    the same ports and data directory), all stopped at the end of the test."""
    procs: list[InfluxdProcess] = []

    def make(**kw) -> InfluxdProcess:
        proc = _new_influxd(tmp_path / f"influxd-{len(procs)}", **kw)
        procs.append(proc)
        return proc

    yield make
    for proc in procs:
        proc.stop()
