"""Modbus RTU for real: on a serial line (two joined pseudo-terminals) and over TCP gateways.

The peers are the virtual camp's pymodbus servers: a ``ModbusSerialServer`` on one end of a
:class:`~telemetry.testing.serial_link.VirtualSerialLink` (the poller opens the other end as
its serial port), and a ``ModbusTcpServer`` with the RTU framer (a serial-to-Ethernet gateway).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import struct
import subprocess
import sys
import time

import pytest
from poll_testkit import T0, standin_camp
from testkit import EXAMPLE_SITE, ROOT, free_port, free_ports

from microgrid.clock import ManualClock
from microgrid.config import load_site
from microgrid.simulator.server import serve_camp
from microgrid.site import ModbusEndpoint, SerialLine
from telemetry.connection import EndpointConnection, inter_frame_delay_s
from telemetry.poller import Poller
from telemetry.testing.serial_link import VirtualSerialLink


def _meter_site(base, link: str, unit_id: int = 7, **modbus):
    """``base`` reduced to its load meter, on the serial line ``link`` (RTU, 9600 8N1)."""
    meter = base.load_meters[0]
    m = ModbusEndpoint(host="", port=0, unit_id=unit_id, profile="load_meter", framer="rtu",
                       serial=SerialLine(link), **modbus)
    return dataclasses.replace(base, pv_arrays=(), batteries=(), gensets=(), fuel_tanks=(),
                               load_meters=(dataclasses.replace(meter, modbus=m),))


def _example():
    return load_site(EXAMPLE_SITE)


def test_inter_frame_delay_follows_the_serial_line_standard():
    # 3.5 characters of start + data + parity + stop bits; fixed 1.75 ms above 19200 bit/s
    assert inter_frame_delay_s(SerialLine("/dev/x")) == pytest.approx(3.5 * 10 / 9600)
    assert inter_frame_delay_s(SerialLine("/dev/x", 19200, "E", 1, 8)) == pytest.approx(3.5 * 11 / 19200)
    assert inter_frame_delay_s(SerialLine("/dev/x", 9600, "N", 2, 8)) == pytest.approx(3.5 * 11 / 9600)
    assert inter_frame_delay_s(SerialLine("/dev/x", 38400)) == 0.00175
    assert inter_frame_delay_s(SerialLine("/dev/x", 115200)) == 0.00175


@pytest.mark.integration
def test_load_meter_on_a_pseudo_terminal_rtu_9600_8n1():
    async def main():
        with VirtualSerialLink() as link:
            camp = standin_camp()
            served = _meter_site(_example(), link.server_path)
            site = _meter_site(_example(), link.client_path)
            assert site.load_meters[0].modbus.link == f"serial:{link.client_path}"
            servers = await serve_camp(served, camp)
            poller = Poller(site, clock=ManualClock(T0), cycle_wait_s=None)
            try:
                cycle = await poller.poll_all()
            finally:
                await poller.close()
                await servers.stop()
        (reading,) = cycle.readings
        assert reading.fields["online"] == 1 and reading.fields["power_kw"] == 412.5
        assert reading.fields["energy_total_kwh"] == 99.0
        assert cycle.status["camp-main"].endpoint == f"serial:{link.client_path}"
        assert cycle.status["camp-main"].unit_id == 7
    asyncio.run(main())


@pytest.mark.integration
def test_two_devices_on_one_bus_one_dead_the_other_read_every_cycle():
    """Meter B (unit 8, first in the site file) is on the bus but silent (nobody serves unit 8:
    no answer at all, as on RS-485); meter A (unit 7) answers. A failed try of B takes 2 x
    0.25 s, longer than a cycle waits (0.3 s): A is still read in every cycle, because it is
    read before B (it answered last time) and handed out as soon as it is read."""
    async def main():
        with VirtualSerialLink() as link:
            base = _example()
            alive = _meter_site(base, link.client_path, 7, timeout_s=0.25, poll_interval_s=1.0)
            a = alive.load_meters[0]
            b = dataclasses.replace(a, name="meter-b", modbus=dataclasses.replace(a.modbus, unit_id=8))
            site = dataclasses.replace(alive, load_meters=(b, a))
            servers = await serve_camp(_meter_site(base, link.server_path, 7), standin_camp())
            clock = ManualClock(T0)
            poller = Poller(site, clock=clock, cycle_wait_s=0.3)
            assert poller.connections.for_device(a) is poller.connections.for_device(b)  # one bus
            cycles = []
            try:
                first = await poller.poll_all()           # commissioning: both tried, B fails
                for _ in range(6):
                    clock.advance(1.0)
                    start = time.monotonic()
                    cycles.append(await poller.poll_due())
                    await asyncio.sleep(max(0.0, 0.7 - (time.monotonic() - start)))
            finally:
                await poller.close()
                await servers.stop()
        assert first.offline == ["meter-b"] and first.values["camp-main"]["power_kw"] == 412.5
        for cycle in cycles:
            got = {r.device: r.fields for r in cycle.readings}
            assert got["camp-main"]["online"] == 1 and got["camp-main"]["power_kw"] == 412.5
        b_tries = [r for c in cycles for r in c.readings if r.device == "meter-b"]
        assert b_tries and all(r.fields == {"online": 0} for r in b_tries)
        assert len(b_tries) < len(cycles)                  # backed off (2x, 4x its interval)
        assert "no valid answer" in cycles[-1].status["meter-b"].reason
    asyncio.run(main())


class _TimedCamp:
    """A stand-in camp that notes when the server reads a device (once per request)."""

    def __init__(self):
        self.inner = standin_camp()
        self.reads: list[float] = []

    def device_values(self, name):
        self.reads.append(time.monotonic())
        return self.inner.device_values(name)

    def command(self, name, point, value):
        self.inner.command(name, point, value)


@pytest.mark.integration
def test_requests_on_a_serial_link_keep_the_inter_frame_delay_and_the_pause():
    async def main():
        with VirtualSerialLink() as link:
            camp = _TimedCamp()
            servers = await serve_camp(_meter_site(_example(), link.server_path), camp)
            conn = EndpointConnection("", 0, serial=SerialLine(link.client_path), pause_s=0.03)
            try:
                await conn.read(7, 52, 2, function="input")
                camp.reads.clear()
                for _ in range(5):
                    await conn.read(7, 52, 2, function="input")
            finally:
                await conn.close()
                await servers.stop()
        gaps = [b - a for a, b in zip(camp.reads, camp.reads[1:])]
        assert len(gaps) == 4 and min(gaps) >= 0.03 + inter_frame_delay_s(SerialLine("x")) - 0.002
        assert conn.gap_s == pytest.approx(0.03 + 3.5 * 10 / 9600)
    asyncio.run(main())


def _crc16(frame: bytes) -> bytes:
    crc = 0xFFFF
    for byte in frame:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return struct.pack("<H", crc)


@pytest.mark.integration
def test_genset_behind_an_rtu_over_tcp_gateway():
    async def main():
        base = _example()
        dg = base.gensets[0]
        m = dataclasses.replace(dg.modbus, host="127.0.0.1", port=free_port(), framer="rtu",
                                unit_id=5)
        site = dataclasses.replace(base, pv_arrays=(), batteries=(), load_meters=(),
                                   gensets=(dataclasses.replace(dg, modbus=m),))
        servers = await serve_camp(site, standin_camp())
        poller = Poller(site, clock=ManualClock(T0), cycle_wait_s=None)
        try:
            cycle = await poller.poll_all()
            # the wire carries RTU frames (unit, function, data, CRC), no MBAP header
            reader, writer = await asyncio.open_connection("127.0.0.1", m.port)
            request = struct.pack(">BBHH", 5, 3, 1808, 2)
            writer.write(request + _crc16(request))
            answer = await asyncio.wait_for(reader.readexactly(9), 2)
            writer.close()
        finally:
            await poller.close()
            await servers.stop()
        values = cycle.values["dg-1"]
        assert values["starts"] == 3 and values["power_kw"] == 200.0 and values["mode"] == "auto"
        assert cycle.status["dg-1"].endpoint == f"rtu+tcp://127.0.0.1:{m.port}"
        assert answer[:3] == bytes([5, 3, 4]) and struct.unpack(">I", answer[3:7])[0] == 3
        assert answer[7:] == _crc16(answer[:7])
    asyncio.run(main())


SERIAL_SITE = """\
[site]
name = "serial-camp"
headcount = 100
location = {{ latitude = 9.53, longitude = 31.66, timezone = "Africa/Juba" }}

[[genset]]
name = "dg-gateway"
rated_kw = 400
fuel_f0_l_per_kwh_rated = 0.08
fuel_f1_l_per_kwh = 0.25
modbus = {{ host = "127.0.0.1", port = {port}, framer = "rtu", unit_id = 5, profile = "dse_genset", timeout_s = 0.5 }}

[[battery]]
name = "bess-1"
capacity_kwh = 1000
charge_power_kw = 500
discharge_power_kw = 500
soc_min_pct = 15
soc_max_pct = 95
charge_efficiency = 0.95
discharge_efficiency = 0.95
modbus = {{ host = "127.0.0.1", port = {bess_port}, unit_id = 1, profile = "sunspec_storage" }}

[[load_meter]]
name = "meter-rs485"
modbus = {{ serial = "{serial}", baudrate = 9600, parity = "N", stopbits = 1, bytesize = 8, \
unit_id = 7, profile = "load_meter", timeout_s = 0.5 }}
"""


@pytest.mark.integration
def test_cli_poll_reads_a_serial_meter_and_a_gateway_genset_from_simulate_camp(tmp_path):
    """`microgrid simulate-camp --virtual-serial` serves the site file's RS-485 line on a virtual
    cable (the site file's path links to its other end) and the genset on an RTU-over-TCP port;
    `microgrid poll --once --json` reads both from the same site file."""
    port, bess_port = free_ports(2)
    serial = tmp_path / "camp-rs485"
    site_file = tmp_path / "site.toml"
    site_file.write_text(SERIAL_SITE.format(port=port, bess_port=bess_port, serial=serial))
    sim = subprocess.Popen([sys.executable, "-m", "microgrid.cli", "simulate-camp", "--site",
                            str(site_file), "--virtual-serial", "--print-every", "0",
                            "--start", "2026-10-01T10:00:00Z", "--duration", "60"],
                           cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        for line in sim.stdout:
            lines.append(line)
            if "serving" in line:
                break
        assert serial.is_symlink(), "".join(lines)
        poll = subprocess.run([sys.executable, "-m", "microgrid.cli", "poll", "--site",
                               str(site_file), "--once", "--json"], cwd=ROOT, capture_output=True,
                              text=True, timeout=60)
    finally:
        sim.terminate()
        sim.wait(15)
    assert poll.returncode == 0, poll.stdout + poll.stderr
    out = {item["device"]: item["fields"] for item in json.loads(poll.stdout)}
    meter, dg = out["meter-rs485"], out["dg-gateway"]
    assert meter["online"] == 1 and meter["power_kw"] > 0 and 49 < meter["frequency_hz"] <= 50
    assert 300 < meter["voltage_l1_l2_v"] < 420 and meter["current_l1_a"] > 0
    assert dg["online"] == 1 and dg["starts"] >= 900 and "coolant_temp_c" in dg
    assert out["bess-1"]["online"] == 1
    assert not serial.exists()             # the link is removed when the camp stops
