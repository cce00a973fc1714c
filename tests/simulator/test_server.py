"""The virtual camp's Modbus servers, against a real pymodbus client on loopback."""

import asyncio
import dataclasses
import os

import pytest
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusIOException
from testkit import EXAMPLE_SITE, example_site, free_port

from microgrid.simulator.server import serve_camp
from microgrid.site import Battery, Genset, LoadMeter, ModbusEndpoint, PvArray
from telemetry.readplan import merge_results, profile_reads
from telemetry.registers import decode, load_profile, plan_write

pytestmark = pytest.mark.integration


class StandInCamp:
    """device_values()/command() with fixed values, recording commands."""

    def __init__(self):
        self.commands = []
        self.values = {
            "pv-1": {"ac_power_kw": 123.4, "energy_total_kwh": 5000.0, "status": 4,
                     "power_limit_pct": 100.0, "power_limit_revert_s": 0},
            "bess": {"power_kw": -50.0, "soc_pct": 61.5, "charge_limit_kw": None,
                     "discharge_limit_kw": 200.0},
            "dg-1": {"mode": "auto", "running": 0, "power_kw": 0.0, "starts": 3,
                     "run_hours_h": 12.0, "energy_total_kwh": 3000.0, "fuel_level_pct": 70.0},
            "meter": {"power_kw": 412.5, "energy_total_kwh": 99.0},
        }

    def device_values(self, name):
        return dict(self.values[name])

    def command(self, name, point, value):
        if point == "base_load_kw":
            raise ValueError("the stand-in camp has no base-load control")
        self.commands.append((name, point, value))


def _ep(port, profile, unit=1):
    return ModbusEndpoint(host="127.0.0.1", port=port, unit_id=unit, profile=profile)


@dataclasses.dataclass
class TinySite:
    devices: tuple


def _site():
    shared = free_port()
    site = TinySite(devices=(
        PvArray("pv-1", 250, 220, 10, 180, 14, -0.0037, _ep(free_port(), "sunspec_inverter")),
        Battery("bess", 1000, 500, 400, 15, 95, 0.96, 0.96, 0.02, 60, _ep(shared, "sunspec_storage", 1)),
        Genset("dg-1", 400, 30, 0.08, 0.25, 60, 30, 2.0, 2000, _ep(shared, "dse_genset", 2)),
        LoadMeter("meter", _ep(free_port(), "load_meter")),
    ))
    return site


def run_with_camp(scenario):
    """Run ``scenario(site, camp, servers)`` with the servers up, in a fresh event loop."""
    async def main():
        site, camp = _site(), StandInCamp()
        servers = await serve_camp(site, camp)
        try:
            await scenario(site, camp, servers)
        finally:
            await servers.stop()
    asyncio.run(main())


async def _client(device):
    client = AsyncModbusTcpClient("127.0.0.1", port=device.modbus.port, timeout=2, retries=0)
    assert await client.connect()
    return client


async def _poll(client, device):
    profile = load_profile(device.modbus.profile)
    reads, results = profile_reads(profile), []
    read = client.read_input_registers if profile.function == "input" else client.read_holding_registers
    for r in reads:
        rr = await read(r.address, count=r.count, device_id=device.modbus.unit_id)
        results.append(None if rr.isError() else rr.registers)
    return decode(profile, merge_results(reads, results))


def test_sunspec_marker_and_values():
    run_with_camp(_sunspec_marker_and_values)


async def _sunspec_marker_and_values(site, camp, servers):
    pv = site.devices[0]
    client = await _client(pv)
    try:
        rr = await client.read_holding_registers(40000, count=4, device_id=1)
        assert rr.registers == [0x5375, 0x6E53, 1, 66]          # "SunS", model 1, L 66
        rr = await client.read_holding_registers(40084, count=2, device_id=1)
        assert rr.registers == [12340, 1]                       # W = 12340 x 10^1 W
        values = await _poll(client, pv)
        assert values["ac_power_kw"] == 123.4 and values["status"] == 4
        camp.values["pv-1"]["ac_power_kw"] = 99.9               # the camp advances
        assert (await _poll(client, pv))["ac_power_kw"] == 99.9
    finally:
        client.close()


def test_all_profiles_decode_over_modbus():
    run_with_camp(_all_profiles_decode_over_modbus)


async def _all_profiles_decode_over_modbus(site, camp, servers):
    expected = {"bess": {"power_kw": -50.0, "soc_pct": 61.5, "charge_limit_kw": 500.0,
                         "discharge_limit_kw": 200.0, "discharge_rated_kw": 400.0},
                "dg-1": {"mode": "auto", "running": 0, "starts": 3, "run_hours_h": 12.0,
                         "fuel_level_pct": 70.0, "load_pct": None},
                "meter": {"power_kw": 412.5, "energy_total_kwh": 99.0}}
    for device in site.devices[1:]:
        client = await _client(device)
        try:
            values = await _poll(client, device)
        finally:
            client.close()
        for key, want in expected[device.name].items():
            assert values[key] == want, (device.name, key)


def test_writes_reach_the_camp():
    run_with_camp(_writes_reach_the_camp)


async def _writes_reach_the_camp(site, camp, servers):
    pv, bess = site.devices[0], site.devices[1]
    client = await _client(pv)
    try:
        for w in plan_write(load_profile("sunspec_inverter"), "power_limit_pct", 42.5).writes:
            assert not (await client.write_registers(w.address, list(w.registers), device_id=1)).isError()
        rr = await client.write_register(40084, 5, device_id=1)                 # W: read-only
        assert rr.isError() and rr.exception_code == 2                          # ILLEGAL_ADDRESS
        rr = await client.write_register(40127, 1001, device_id=1)              # 100.1 %
        assert rr.isError() and rr.exception_code == 3                          # ILLEGAL_VALUE
    finally:
        client.close()
    client = await _client(bess)
    try:
        for w in plan_write(load_profile("dse_genset"), "mode", "run").writes:
            assert not (await client.write_registers(w.address, list(w.registers), device_id=2)).isError()
        rr = await client.write_registers(4104, [35700, 1], device_id=2)        # bad complement
        assert rr.isError() and rr.exception_code == 3
    finally:
        client.close()
    assert camp.commands == [("pv-1", "power_limit_pct", 42.5), ("dg-1", "mode", "run")]


def test_device_drop_and_return():
    run_with_camp(_device_drop_and_return)


async def _device_drop_and_return(site, camp, servers):
    meter = site.devices[3]
    await servers.stop_device("meter")
    client = AsyncModbusTcpClient("127.0.0.1", port=meter.modbus.port, timeout=0.5, retries=0)
    assert not await client.connect()
    client.close()
    await servers.start_device("meter")
    client = await _client(meter)
    try:
        assert (await _poll(client, meter))["power_kw"] == 412.5
        servers.set_offline("meter")
        rr = await client.read_input_registers(52, count=2, device_id=1)
        assert rr.isError() and rr.exception_code == 0x0B
    finally:
        client.close()


def test_camp_refusal_and_unencodable_values():
    run_with_camp(_camp_refusal_and_unencodable_values)


async def _camp_refusal_and_unencodable_values(site, camp, servers):
    bess = site.devices[1]
    client = await _client(bess)
    try:
        rr = await client.write_register(51200, 1000, device_id=2)      # base_load_kw 100.0
        assert rr.isError() and rr.exception_code == 3                   # camp said no
    finally:
        client.close()
    pv = site.devices[0]
    camp.values["pv-1"].update(status="MPPT", ac_power_kw=1e6)          # cannot be encoded
    servers.refresh()
    client = await _client(pv)
    try:
        values = await _poll(client, pv)
        assert values["status"] is None and values["ac_power_kw"] is None  # missing, not 0
        assert values["energy_total_kwh"] == 5000.0
    finally:
        client.close()


# ------------------------------------------------------------------ with the real virtual camp

#: Resolution of each served field (scale factors of the profiles), for comparisons.
RESOLUTION = {"ac_power_kw": 0.01, "energy_total_kwh": 1.0, "power_kw": 0.1, "soc_pct": 0.1,
              "soh_pct": 0.1, "voltage_v": 0.1, "temp_c": 0.1, "load_pct": 0.1,
              "fuel_rate_lph": 0.1, "run_hours_h": 1 / 3600, "base_load_kw": 0.1,
              # plant health: SunSpec SFs of the profiles, DSE 0.1 V / 0.1 A / 0.1 Hz / 1 degC
              "frequency_hz": 0.1, "voltage_l1_l2_v": 0.1, "voltage_l2_l3_v": 0.1,
              "voltage_l3_l1_v": 0.1, "current_l1_a": 0.1, "current_l2_a": 0.1,
              "current_l3_a": 0.1, "power_factor": 0.001, "reactive_power_kvar": 0.01,
              "current_a": 0.1, "cell_voltage_max_v": 0.001, "cell_voltage_min_v": 0.001,
              "module_temp_max_c": 0.1, "module_temp_min_c": 0.1, "charge_current_limit_a": 1.0,
              "discharge_current_limit_a": 1.0, "oil_pressure_kpa": 1.0, "coolant_temp_c": 1.0,
              "engine_battery_v": 0.1,
              # the bulk tank's gauge (Victron GX tank: 0.1 % and 1/10 L)
              "level_pct": 0.1, "volume_l": 0.1, "capacity_l": 0.1}


def test_virtual_camp_served_over_modbus():
    from datetime import datetime, timezone

    from microgrid.clock import SimClock
    from microgrid.simulator.camp import VirtualCamp
    from microgrid.simulator.settings import load_simulator_settings

    site = example_site()
    clock = SimClock(datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc), wall=lambda: 0.0)
    camp = VirtualCamp(site, load_simulator_settings(EXAMPLE_SITE), clock)

    async def main():
        servers = await serve_camp(site, camp)
        try:
            for device in site.devices:
                client = await _client(device)
                try:
                    served = await _poll(client, device)
                finally:
                    client.close()
                truth = camp.device_values(device.name)
                for key, value in served.items():
                    if key in truth and truth[key] is not None and not isinstance(truth[key], str):
                        tol = RESOLUTION.get(key, 0.0) / 2 + 1e-9
                        assert value == pytest.approx(truth[key], abs=tol), (device.name, key)
                        if "energy" not in key:
                            assert value is not None, (device.name, key)
            pv, dg = site.pv_arrays[0], site.gensets[0]
            client = await _client(pv)
            try:
                for w in plan_write(load_profile("sunspec_inverter"), "power_limit_pct", 50).writes:
                    assert not (await client.write_registers(w.address, list(w.registers), device_id=1)).isError()
                assert (await _poll(client, pv))["power_limit_pct"] == 50.0
            finally:
                client.close()
            client = await _client(dg)
            try:
                for w in plan_write(load_profile("dse_genset"), "mode", "run").writes:
                    assert not (await client.write_registers(w.address, list(w.registers), device_id=1)).isError()
                assert (await _poll(client, dg))["mode"] == "run"
            finally:
                client.close()
        finally:
            await servers.stop()
    asyncio.run(main())
    assert camp.setpoints.pv_limit_pct["pv-north"] == 50.0


# ------------------------------------------------------------------ serial lines and RTU over TCP

def test_virtual_serial_link_carries_bytes_both_ways_and_attach_keeps_real_files(tmp_path):
    from microgrid.errors import ConfigError
    from telemetry.testing.serial_link import VirtualSerialLink, attach

    with VirtualSerialLink() as link:
        client = os.open(link.client_path, os.O_RDWR | os.O_NOCTTY)
        server = os.open(link.server_path, os.O_RDWR | os.O_NOCTTY)
        try:
            os.write(client, b"\x07\x04\x00\x34\x00\x02")
            assert _read_exactly(server, 6) == b"\x07\x04\x00\x34\x00\x02"
            os.write(server, bytes(range(256)))                      # raw: every byte value
            assert _read_exactly(client, 256) == bytes(range(256))
        finally:
            os.close(client)
            os.close(server)
        path = attach(str(tmp_path / "rs485"), link)
        assert path.is_symlink() and os.readlink(path) == link.client_path
        real = tmp_path / "ttyUSB0"
        real.write_text("a device")
        with pytest.raises(ConfigError, match="is not a symlink"):
            attach(str(real), link)


def _read_exactly(fd, n, timeout_s=2.0):
    import select
    out = b""
    while len(out) < n:
        ready, _, _ = select.select([fd], [], [], timeout_s)
        assert ready, f"only {len(out)} of {n} bytes arrived"
        out += os.read(fd, n - len(out))
    return out


def test_serial_line_serves_rtu_and_absent_or_dead_units_stay_silent():
    from pymodbus.client import AsyncModbusSerialClient

    from microgrid.site import SerialLine
    from telemetry.testing.serial_link import VirtualSerialLink

    async def main():
        with VirtualSerialLink() as link:
            line = SerialLine("/dev/ttyUSB-site", 19200)          # a pty takes no parity bit
            m = ModbusEndpoint(host="", port=0, unit_id=7, profile="load_meter", framer="rtu",
                               serial=line)
            pv = ModbusEndpoint(host="", port=0, unit_id=3, profile="sunspec_inverter",
                                framer="rtu", serial=line)
            site = TinySite(devices=(LoadMeter("meter", m), PvArray("pv-1", 250, 220, 10, 180, 14,
                                                                    -0.0037, pv)))
            servers = await serve_camp(site, StandInCamp(),
                                       serve_paths={line.port: link.server_path})
            assert list(servers.endpoints) == ["serial:/dev/ttyUSB-site"]   # one bus, one server
            client = AsyncModbusSerialClient(link.client_path, baudrate=19200,
                                             timeout=0.3, retries=0)
            await client.connect()
            try:
                r = await client.read_input_registers(52, count=2, device_id=7)
                assert not r.isError() and r.registers[0] << 16 | r.registers[1] == 0x48C96A80
                r = await client.read_holding_registers(40000, count=2, device_id=3)
                assert r.registers == [0x5375, 0x6E53]
                with pytest.raises(ModbusIOException):              # unit 9: nobody answers
                    await client.read_input_registers(52, count=2, device_id=9)
                servers.set_offline("meter")
                with pytest.raises(ModbusIOException):              # a dead unit is silent
                    await client.read_input_registers(52, count=2, device_id=7)
            finally:
                client.close()
                await servers.stop()
    asyncio.run(main())


def test_rtu_framer_over_tcp_like_a_gateway():
    from pymodbus.framer import FramerType

    async def main():
        port = free_port()
        m = ModbusEndpoint(host="127.0.0.1", port=port, unit_id=5, profile="dse_genset", framer="rtu")
        servers = await serve_camp(TinySite(devices=(Genset("dg-1", 400, 30, 0.08, 0.25, 60, 30,
                                                            0, 1000, m),)), StandInCamp())
        rtu = AsyncModbusTcpClient("127.0.0.1", port=port, framer=FramerType.RTU, timeout=1,
                                   retries=0)
        mbap = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=0.5, retries=0)
        try:
            assert await rtu.connect() and await mbap.connect()
            r = await rtu.read_holding_registers(1808, count=2, device_id=5)
            assert r.registers == [0, 3]                              # starts, over RTU frames
            with pytest.raises(ModbusIOException):                    # an MBAP frame is not RTU
                await mbap.read_holding_registers(1808, count=2, device_id=5)
        finally:
            rtu.close()
            mbap.close()
            await servers.stop()
    asyncio.run(main())
