"""Fixtures of the telemetry tests: a real VictoriaMetrics (the InfluxDB 2.x write API) on
loopback. A missing executable FAILS the tests that need it (never skips): ``bash
scripts/test.sh`` installs it."""

from __future__ import annotations

import pytest

from telemetry.testing.victoriametrics import INSTALL_HINT, VictoriaMetricsProcess, find_victoriametrics


@pytest.fixture
def victoriametrics(tmp_path):
    """``make(auth=None) -> VictoriaMetricsProcess``: private servers, stopped at the end."""
    procs: list[VictoriaMetricsProcess] = []

    def make(**kw) -> VictoriaMetricsProcess:
        if find_victoriametrics() is None:
            pytest.fail(INSTALL_HINT, pytrace=False)
        proc = VictoriaMetricsProcess(tmp_path / f"vm-{len(procs)}", **kw).start()
        procs.append(proc)
        return proc

    yield make
    for proc in procs:
        proc.stop()
