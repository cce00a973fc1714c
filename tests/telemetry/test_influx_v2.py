"""The InfluxDB 2.x write path (influxdb-client's WriteApi to ``/api/v2/write``) against a real
server: VictoriaMetrics, which implements that API; points read back through its export API.

What VictoriaMetrics does not give: InfluxQL (``/query``), which the v2 backend's reads use;
those run against the real influxd in the contract tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from microgrid.errors import HistorianError
from microgrid.readings import Reading
from telemetry.historian.base import HistorianAuthError, HistorianUnavailable
from telemetry.historian.factory import open_historian
from telemetry.historian.influx import InfluxV2Historian

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 1, 10, 0, 0, 123000, tzinfo=timezone.utc)
TOKEN = "camp-secret-token"
ENV = {"MICROGRID_INFLUX_TOKEN": TOKEN}


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def _readings(t0: datetime, n: int) -> list[Reading]:
    """A battery and a genset (tag values that need escaping) with plant-health fields."""
    out = []
    for i in range(n):
        t = t0 + timedelta(seconds=5 * i)
        out.append(Reading(t, "battery", {"site": "malakal", "device": "bess-1"},
                           {"power_kw": -50.0 + i, "soc_pct": 61.5, "module_temp_max_c": 28.25}))
        out.append(Reading(t, "genset", {"site": "malakal", "device": "dg 1,a=b"},
                           {"online": 1, "coolant_temp_c": 80.0 + i, "frequency_hz": 49.98,
                            "oil_pressure_kpa": None}))
    return out


def _series(vm) -> dict[tuple[str, str], dict]:
    """``{(metric, device): {ms: value}}`` of everything on the server."""
    out: dict[tuple[str, str], dict] = {}
    for s in vm.export():
        key = (s["metric"]["__name__"], s["metric"].get("device", ""))
        assert s["metric"].get("site") == "malakal", s
        out.setdefault(key, {}).update(zip(s["timestamps"], s["values"]))
    return out


def test_v2_write_path_points_read_back(victoriametrics):
    vm = victoriametrics()
    with open_historian(f"influx2://127.0.0.1:{vm.port}?org=un&bucket=camp", env=ENV) as store:
        assert isinstance(store, InfluxV2Historian)
        store.write(_readings(T0, 3))
    got = _series(vm)
    times = [_ms(T0 + timedelta(seconds=5 * i)) for i in range(3)]
    assert got[("battery_power_kw", "bess-1")] == dict(zip(times, [-50.0, -49.0, -48.0]))
    assert got[("battery_module_temp_max_c", "bess-1")] == dict.fromkeys(times, 28.25)
    assert got[("genset_coolant_temp_c", "dg 1,a=b")] == dict(zip(times, [80.0, 81.0, 82.0]))
    assert got[("genset_frequency_hz", "dg 1,a=b")] == dict.fromkeys(times, 49.98)
    assert ("genset_oil_pressure_kpa", "dg 1,a=b") not in got       # missing stays missing
    assert len(got) == 6


def test_v2_through_the_spool_survives_an_outage_without_duplicates(victoriametrics, tmp_path):
    vm = victoriametrics()
    spec = f"influx2://127.0.0.1:{vm.port}?org=un&bucket=camp&timeout_s=1"
    with open_historian(spec, env=ENV, spool=tmp_path / "spool.db") as store:
        store.write(_readings(T0, 2))
        assert store.flush(timeout_s=10)
        vm.stop()                                                    # outage
        store.write(_readings(T0 + timedelta(minutes=1), 2))
        assert store.drain_once() == 0 and store.status()["spool_batches"] >= 1
        vm.start()                                                   # same data dir and port
        store.write(_readings(T0 + timedelta(minutes=2), 2))
        assert store.flush(timeout_s=20)
        assert store.status()["spool_batches"] == 0
    got = _series(vm)
    coolant = got[("genset_coolant_temp_c", "dg 1,a=b")]
    want = [T0 + timedelta(minutes=m, seconds=5 * i) for m in range(3) for i in range(2)]
    assert sorted(coolant) == [_ms(t) for t in want]                 # nothing lost, once each


def test_v2_refused_token_and_unreachable_server_are_typed(victoriametrics):
    vm = victoriametrics(auth=("camp", "pass"))
    store = InfluxV2Historian(vm.url, "un", "camp", TOKEN, timeout_s=2)
    try:
        with pytest.raises(HistorianAuthError) as err:
            store.write(_readings(T0, 1))
        assert "HTTP 401" in str(err.value) and TOKEN not in str(err.value)
    finally:
        store.close()
    vm.stop()
    store = InfluxV2Historian(vm.url, "un", "camp", TOKEN, timeout_s=1)
    try:
        with pytest.raises(HistorianUnavailable) as down:
            store.write(_readings(T0, 1))
        assert isinstance(down.value, HistorianError) and TOKEN not in str(down.value)
    finally:
        store.close()
