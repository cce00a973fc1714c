"""The poller against the virtual camp over Modbus TCP on loopback (real pymodbus servers)."""

from __future__ import annotations

import asyncio
import json
import math

import pytest
from poll_testkit import T0, camp_in_thread, polled_camp, standin_camp
from testkit import EXAMPLE_SITE, example_site

from microgrid.clock import ManualClock
from microgrid.simulator.camp import VirtualCamp
from microgrid.simulator.settings import load_simulator_settings
from telemetry.connection import Connections, ModbusExceptionError
from telemetry.poller import Poller

pytestmark = pytest.mark.integration


def _resolution(profile, field):
    """Smallest step of a scaled field: 10^sf × |scale| (the served SF)."""
    p = profile.point(field)
    sf = p.sf_value if p.sf_value is not None else 0
    return 10.0 ** sf * abs(p.scale)


def test_values_match_the_physics_served():
    async def main():
        site = example_site()
        clock = ManualClock(T0)
        camp = VirtualCamp(site, load_simulator_settings(EXAMPLE_SITE), clock)
        async with polled_camp(site, camp, clock=clock) as (servers, poller):
            cycle = await poller.poll_all()
            assert sorted(cycle.values) == sorted(d.name for d in site.devices)
            for d in site.devices:
                served = camp.device_values(d.name)
                got = cycle.values[d.name]
                profile = poller.profile_of(d.name)
                for field, want in served.items():
                    if field not in got or want is None:
                        continue
                    if isinstance(want, str):
                        assert got[field] == want, (d.name, field)
                    elif float(want).is_integer() and _resolution(profile, field) >= 1:
                        assert got[field] == want, (d.name, field)
                    elif profile.point(field).type == "float32":
                        assert got[field] == pytest.approx(want, rel=1e-6), (d.name, field)
                    else:
                        step = _resolution(profile, field)
                        assert abs(got[field] - want) <= step / 2 + 1e-9, (d.name, field, step)
            # the checks above compared something for every device
            assert cycle.values["camp-main"]["power_kw"] > 0
            assert cycle.values["bess-1"]["soc_pct"] == 60.0  # site file initial SOC, 0.1 % SF
    asyncio.run(main())


def test_readings_shape_and_cadence():
    async def main():
        site = example_site(poll_interval_s=5.0)
        clock = ManualClock(T0)
        async with polled_camp(site, clock=clock) as (servers, poller):
            cycle = await poller.poll_due()              # nothing polled yet: all due
            assert len(cycle.readings) == len(site.devices) == 9 and cycle.offline == []
            r = next(r for r in cycle.readings if r.device == "pv-north")
            assert r.measurement == "pv_inverter" and r.time == T0
            assert dict(r.tags) == {"site": "malakal", "device": "pv-north"}
            assert r.fields["online"] == 1 and r.fields["ac_power_kw"] == 123.4
            assert r.fields["status"] == 4
            bess = next(r for r in cycle.readings if r.device == "bess-1")
            assert bess.fields["power_kw"] == -50.0     # + discharge: charging is negative
            genset = next(r for r in cycle.readings if r.device == "dg-1")
            assert "mode" not in genset.fields           # text stays in values, not in fields
            assert cycle.values["dg-1"]["mode"] == "auto"
            clock.advance(4)
            assert (await poller.poll_due()).readings == []   # not due before 5 s
            clock.advance(1)
            again = await poller.poll_due()
            assert len(again.readings) == 9 and again.time == T0.replace(second=5)
            status = poller.status()["dg-1"]
            assert status.online and status.last_ok == again.time and status.failures == 0
            assert (status.next_try - again.time).total_seconds() == 5
    asyncio.run(main())


def test_per_device_intervals():
    async def main():
        site = example_site(poll_interval_s=2.0)
        slow = site.load_meters[0]
        import dataclasses
        site = dataclasses.replace(site, load_meters=(dataclasses.replace(
            slow, modbus=dataclasses.replace(slow.modbus, poll_interval_s=10.0)),))
        clock = ManualClock(T0)
        async with polled_camp(site, clock=clock) as (servers, poller):
            counts = {d.name: 0 for d in site.devices}
            for _ in range(10):                           # 0..9 s, a cycle every second
                for r in (await poller.poll_due()).readings:
                    counts[r.device] += 1
                clock.advance(1)
            assert counts["camp-main"] == 1               # at 0 s (next at 10 s)
            assert all(n == 5 for name, n in counts.items() if name != "camp-main")
    asyncio.run(main())


def test_shared_endpoint_two_units_and_connection_reuse():
    """Two devices behind one gateway (two unit ids): one connection, both read."""
    async def main():
        import dataclasses
        site = example_site()
        gw = site.gensets[0].modbus
        moved = tuple(dataclasses.replace(g, modbus=dataclasses.replace(gw, unit_id=i + 1))
                      for i, g in enumerate(site.gensets))
        site = dataclasses.replace(site, gensets=moved)
        clock = ManualClock(T0)
        connections = Connections(site)
        try:
            async with polled_camp(site, clock=clock, connections=connections) as (servers, poller):
                assert len(connections) == 7                  # 3 PV + 1 BESS + 1 gateway + 1 meter + 1 tank
                cycle = await poller.poll_all()
                assert [cycle.values[g]["starts"] for g in ("dg-1", "dg-2", "dg-3")] == [3, 5, 7]
                gateway = connections.for_device(site.gensets[0])
                # pages 3, 4, 6 (one read: the 20-register gap <= 24), 7, 8 (alarms) and the vendor area
                assert gateway.resets == 0 and gateway.requests == 6 * 3
                # a shared connection keeps working for others (e.g. the setpoint writer)
                regs = await gateway.read(2, 1808, 2)
                assert regs == [0, 5]
                with pytest.raises(ModbusExceptionError) as err:
                    await gateway.read(2, 30000, 2)
                assert err.value.code == 2 and "unit 2" in str(err.value)
        finally:
            await connections.close_all()
    asyncio.run(main())


def test_pause_between_requests_for_slow_gateways():
    """A gateway-level pause: the genset's 6 reads arrive at least that far apart."""
    from poll_testkit import RawModbusServer, raw_site

    from telemetry.registers import encode, load_profile

    async def main():
        image = encode(load_profile("dse_genset"), standin_camp().values["dg-1"])
        server = await RawModbusServer(image).start()
        site = raw_site(example_site(), "dg-1", server.port)
        poller = Poller(site, clock=ManualClock(T0),
                        request_pause_s={f"127.0.0.1:{server.port}": 0.02})
        try:
            cycle = await poller.poll_all()
            assert cycle.values["dg-1"]["power_kw"] == 200.0 and cycle.requests == 6
            gaps = [b - a for a, b in zip(server.arrivals, server.arrivals[1:])]
            assert len(gaps) == 5 and min(gaps) >= 0.018
        finally:
            await poller.close()
            await server.stop()
    asyncio.run(main())


def test_cli_poll_once_json(capsys):
    from microgrid.cli import main
    site = example_site()
    toml = _site_file(site)
    with camp_in_thread(site, standin_camp()):
        rc = main(["poll", "--site", str(toml), "--once", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert [item["device"] for item in out] == [d.name for d in site.devices]
    pv = out[0]
    assert pv["measurement"] == "pv_inverter" and pv["fields"]["ac_power_kw"] == 123.4
    assert pv["time"].endswith("Z") and pv["fields"]["online"] == 1
    meter, tank = out[-2:]
    assert meter["measurement"] == "load_meter" and meter["fields"]["power_kw"] == 412.5
    assert tank["measurement"] == "fuel_tank" and tank["fields"]["volume_l"] == 41234.5
    assert all(not math.isnan(v) for item in out for v in item["fields"].values())


def test_cli_poll_once_table_and_exit_codes(capsys, tmp_path):
    from microgrid.cli import main
    site = example_site(timeout_s=1.0)
    toml = _site_file(site, tmp_path)
    camp = standin_camp()
    with camp_in_thread(site, camp) as servers:
        servers.set_offline("dg-2")
        rc = main(["poll", "--site", str(toml), "--once"])
    text = capsys.readouterr().out
    assert rc == 0
    assert "8 of 9 devices answered; 1 offline: dg-2" in text
    line = next(x for x in text.splitlines() if x.startswith("dg-2"))
    assert "OFFLINE" in line and "0x0B GATEWAY_NO_RESPONSE" in line
    assert "soc_pct=61.5" in text
    # nothing listening: every device offline -> exit 1
    assert main(["poll", "--site", str(toml), "--once"]) == 1
    assert "0 of 9 devices answered" in capsys.readouterr().out
    # a bad site file -> exit 2
    bad = tmp_path / "bad.toml"
    bad.write_text("[site]\nname = 1\n")
    assert main(["poll", "--site", str(bad), "--once"]) == 2


def test_cli_poll_continuous_json_lines(capsys):
    from microgrid.cli import main
    site = example_site(poll_interval_s=0.5)
    toml = _site_file(site)
    with camp_in_thread(site, standin_camp()):
        rc = main(["poll", "--site", str(toml), "--json", "--cycles", "2"])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert rc == 0 and len(lines) >= 2 * 8
    assert {x["device"] for x in lines} == {d.name for d in site.devices}
    assert all(x["fields"]["online"] == 1 for x in lines)


def _site_file(site, folder=None):
    """The example site file with the devices' ports replaced by the test's free ports."""
    import re
    import tempfile
    from pathlib import Path

    from testkit import EXAMPLE_SITE
    text = EXAMPLE_SITE.read_text()
    for d in site.devices:
        text = re.sub(rf'(name = "{re.escape(d.name)}"[^\[]*?port = )\d+',
                      rf"\g<1>{d.modbus.port}", text, count=1, flags=re.S)
        text = re.sub(rf'(name = "{re.escape(d.name)}"[^\[]*?unit_id = \d+, profile = "\w+")',
                      rf"\g<1>, timeout_s = {d.modbus.timeout_s}, "
                      rf"poll_interval_s = {d.modbus.poll_interval_s}", text, count=1, flags=re.S)
    folder = Path(folder or tempfile.mkdtemp())
    path = folder / "site.toml"
    path.write_text(text)
    return path


#: Plant-health fields (docs/architecture.md §4) each device kind of the example camp reports.
HEALTH = {
    "pv_inverter": ("frequency_hz", "voltage_l1_l2_v", "current_l1_a", "power_factor",
                    "reactive_power_kvar"),
    "battery": ("soh_pct", "current_a", "cell_voltage_max_v", "module_temp_max_c",
                "module_temp_min_c", "charge_current_limit_a", "discharge_current_limit_a",
                "frequency_hz", "voltage_l1_l2_v", "current_l1_a", "power_factor"),
    "genset": ("oil_pressure_kpa", "coolant_temp_c", "engine_battery_v", "frequency_hz",
               "voltage_l1_l2_v", "current_l1_a", "load_pct"),
    "load_meter": ("frequency_hz", "voltage_l1_l2_v", "voltage_l3_l1_v", "current_l3_a",
                   "power_factor", "reactive_power_kvar"),
    "fuel_tank": ("volume_l", "level_pct", "capacity_l"),  # the bulk tank's gauge (its status: an alarm)
}


@pytest.mark.integration
def test_virtual_camp_health_points_reach_the_store(influx_database):
    """The real virtual camp, polled over Modbus, written by the project's InfluxDB writer:
    every device's plant-health fields are in the reading and in the store."""
    from telemetry.historian.influx import InfluxV1Historian

    url, db = influx_database
    site = example_site()
    camp_clock = ManualClock(T0)
    camp = VirtualCamp(site, load_simulator_settings(EXAMPLE_SITE), camp_clock)
    camp.command("dg-1", "mode", "run")                 # one set running, two stopped
    camp_clock.advance(120)

    async def main():
        async with polled_camp(site, camp, clock=ManualClock(T0), cycle_wait_s=None) as (_, poller):
            return await poller.poll_all()
    cycle = asyncio.run(main())
    for r in cycle.readings:
        missing = [f for f in HEALTH[r.measurement] if f not in r.fields]
        assert r.fields["online"] == 1 and not missing, (r.device, missing)
    by = {r.device: r.fields for r in cycle.readings}
    assert 49.5 < by["camp-main"]["frequency_hz"] <= 50.0 and 380 < by["camp-main"]["voltage_l1_l2_v"] < 410
    running = [g.name for g in site.gensets if by[g.name]["running"] == 1]
    stopped = [g.name for g in site.gensets if by[g.name]["running"] == 0]
    assert running == ["dg-1"] and len(stopped) == 2
    assert all(by[n]["oil_pressure_kpa"] > 250 and by[n]["coolant_temp_c"] > 70 for n in running)
    assert 49.5 < by["dg-1"]["frequency_hz"] <= 50.0 and by["dg-1"]["current_l1_a"] > 0
    assert all(by[n]["oil_pressure_kpa"] == 0 and by[n]["frequency_hz"] == 0 for n in stopped)
    with InfluxV1Historian(url, db) as store:
        store.write(cycle.readings)
        for kind, fields in HEALTH.items():
            select = ", ".join(f'last("{f}") AS "{f}"' for f in fields)
            (result,) = store.raw_influxql(f'SELECT {select} FROM "{kind}" GROUP BY "device"')
            for series in result["series"]:
                row = dict(zip(series["columns"], series["values"][0]))
                device = series["tags"]["device"]
                for f in fields:
                    assert row[f] == pytest.approx(by[device][f]), (device, f)
