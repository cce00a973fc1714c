"""A real influxd goes away and comes back (or refuses the credentials): nothing is lost, nothing
is duplicated, nothing secret is shown. Each test runs its own private influxd (the session one
is never stopped)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import requests

from microgrid.readings import Reading
from telemetry.historian import HistorianAuthError, InfluxV1Historian, Spool, SpooledHistorian, open_historian
from telemetry.historian.lineprotocol import parse_lines

pytestmark = pytest.mark.integration

T0 = datetime(2026, 1, 5, tzinfo=timezone.utc)
N = 600  # readings, 1 s apart; value = index, so order and completeness are checkable


class RecordingInflux(InfluxV1Historian):
    """The real v1 client, noting the first timestamp of every batch the server acknowledged."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.acked_first_ns: list[int] = []

    def write_lines(self, payload: bytes) -> None:
        super().write_lines(payload)
        self.acked_first_ns.append(next(parse_lines(payload.split(b"\n", 1)[0]))[3])


def reading(i: int) -> Reading:
    return Reading(T0 + timedelta(seconds=i), "load_meter", {"site": "s", "device": "m1"},
                   {"power_kw": float(i), "energy_total_kwh": 1000.0 + i})


def assert_exactly_once_in_order(url: str, db: str) -> None:
    with InfluxV1Historian(url, db) as h:
        got = h.query("load_meter", ["power_kw", "energy_total_kwh"], T0, T0 + timedelta(hours=1))
        assert got["power_kw"].tolist() == [float(i) for i in range(N)]
        assert got["energy_total_kwh"].tolist() == [1000.0 + i for i in range(N)]
        assert list(got.index) == [T0 + timedelta(seconds=i) for i in range(N)]
        counts = h.raw_influxql('SELECT count("power_kw") FROM "load_meter"')
        assert counts[0]["series"][0]["values"][0][1] == N


def test_stop_influxd_mid_stream_then_start_it_again(influxd_factory, tmp_path):
    server = influxd_factory()
    server.create_database("camp")
    inner = RecordingInflux(server.url, "camp", timeout_s=2)
    h = SpooledHistorian(inner, Spool(tmp_path / "spool.db"), batch_points=25)
    depth_during_outage = []
    for start in range(0, N, 20):  # one "poll cycle" = 20 readings, then a drain attempt
        if start == 200:
            server.stop()
        if start == 440:
            server.start()
        h.write([reading(i) for i in range(start, start + 20)])
        h.drain_once()
        if 200 <= start < 440:
            depth_during_outage.append(h.spool.depth().points)
            assert not h.status()["store_reachable"]
    assert h.flush(timeout_s=30)
    assert depth_during_outage == sorted(depth_during_outage) and depth_during_outage[-1] >= 240
    assert h.spool.depth().points == 0 and h.sent_points == N  # no batch was sent twice
    assert inner.acked_first_ns == sorted(inner.acked_first_ns)  # drained oldest first
    assert_exactly_once_in_order(server.url, "camp")
    h.close()


def test_shutdown_during_outage_keeps_the_spool_for_the_next_start(influxd_factory, tmp_path):
    server = influxd_factory()
    server.create_database("camp")
    spec = f"influx1://127.0.0.1:{server.http_port}/camp?timeout_s=2&batch_points=50"
    first = open_historian(spec, spool=tmp_path / "spool.db")
    first.write([reading(i) for i in range(300)])
    assert first.flush(timeout_s=10)
    server.stop()
    first.write([reading(i) for i in range(300, N)])
    first.close_flush_timeout_s = 0.5
    first.close()  # the service stops while the server is down: 300 points stay on disk
    server.start()
    second = open_historian(spec, spool=tmp_path / "spool.db")
    assert second.spool.depth().points == 300
    second.close()  # a clean shutdown with the server up sends them
    assert Spool(tmp_path / "spool.db").depth().points == 0
    assert_exactly_once_in_order(server.url, "camp")


def test_refused_credentials_are_a_typed_error_without_the_secret(influxd_factory):
    server = influxd_factory(auth_enabled=True)
    requests.post(f"{server.url}/query", timeout=10,
                  params={"q": "CREATE USER admin WITH PASSWORD 'right-pw' WITH ALL PRIVILEGES"})
    requests.post(f"{server.url}/query", auth=("admin", "right-pw"), timeout=10,
                  params={"q": 'CREATE DATABASE "camp"'}).raise_for_status()
    spec = f"influx1://127.0.0.1:{server.http_port}/camp"
    wrong = open_historian(spec, env={"MICROGRID_INFLUX_USER": "admin",
                                      "MICROGRID_INFLUX_PASSWORD": "wrong-pw"})
    for call in (lambda: wrong.write([reading(0)]),
                 lambda: wrong.query("load_meter", "power_kw", T0, T0 + timedelta(hours=1))):
        with pytest.raises(HistorianAuthError) as err:
            call()
        assert server.url in str(err.value) and "HTTP 401" in str(err.value)
        assert "wrong-pw" not in str(err.value) and "right-pw" not in str(err.value)
    with open_historian(spec, env={"MICROGRID_INFLUX_USER": "admin",
                                   "MICROGRID_INFLUX_PASSWORD": "right-pw"}) as right:
        right.write([reading(0)])
        assert right.query("load_meter", "power_kw", T0, T0 + timedelta(hours=1))[
            "power_kw"].tolist() == [0.0]


def test_v2_client_path_reaches_the_server_and_maps_its_answers(influxd, tmp_path):
    """No InfluxDB 2.x here: influxdb-client's real request goes to the 1.6 server, which has no
    /api/v2/write (404) -> a typed error that keeps the batch spooled and shows no token."""
    from testkit import free_port

    from telemetry.historian import InfluxV2Historian
    from telemetry.historian.base import HistorianUnavailable
    h = SpooledHistorian(InfluxV2Historian(influxd.url, "un", "camp", "s3cret-token"),
                         Spool(tmp_path / "spool.db"))
    h.write([reading(0)])
    assert h.drain_once() == 0 and h.spool.depth().points == 1
    err = h.status()["last_error"]
    assert "/api/v2/write" in err and "HTTP 404" in err and "s3cret-token" not in err
    down = InfluxV2Historian(f"http://127.0.0.1:{free_port()}", "un", "camp", "t", timeout_s=1)
    with pytest.raises(HistorianUnavailable):
        down.write_lines(b"m x=1.0 1\n")
    down.close()
    h.spool.close()
    h.inner.close()
