"""EndpointConnection / Connections against the virtual camp's pymodbus servers on loopback."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from poll_testkit import standin_camp
from testkit import example_site, free_port

from microgrid.errors import DeviceError
from microgrid.simulator.server import serve_camp
from microgrid.site import SerialLine
from telemetry.connection import Connections, DeviceConnectionError, EndpointConnection, ModbusExceptionError
from telemetry.registers import load_profile, plan_write

pytestmark = pytest.mark.integration


def test_reads_writes_and_exception_codes():
    async def main():
        site = example_site()
        camp = standin_camp()
        servers = await serve_camp(site, camp)
        connections = Connections(site)
        pv, meter = site.pv_arrays[0], site.load_meters[0]
        c = connections.for_device(pv)
        try:
            assert connections.for_device(pv) is c and len(connections) == len(site.devices) == 9
            assert await c.read(1, 40000, 2) == [0x5375, 0x6E53]             # "SunS"
            assert len(await connections.for_device(meter).read(1, 52, 2, function="input")) == 2
            for w in plan_write(load_profile("sunspec_inverter"), "power_limit_pct", 42.5).writes:
                await c.write(1, w.address, list(w.registers))               # FC6 / FC16
            assert ("pv-north", "power_limit_pct", 42.5) in camp.commands
            with pytest.raises(ModbusExceptionError) as err:
                await c.write(1, 40084, [5])                                  # W is read-only
            assert err.value.code == 2
            assert str(err.value) == (f"device '127.0.0.1:{pv.modbus.port} unit 1': exception "
                                      "0x02 ILLEGAL_ADDRESS to write 40084+1")
            with pytest.raises(ValueError):
                await c.read(1, 0, 126)
            with pytest.raises(ValueError):
                await c.write(1, 0, [70000])
            assert c.resets == 0
        finally:
            await connections.close_all()
            await servers.stop()
    asyncio.run(main())


def test_refused_connection_names_the_endpoint_and_reopens_later():
    async def main():
        port = free_port()
        c = EndpointConnection("127.0.0.1", port, timeout_s=0.5, name="gateway-A")
        with pytest.raises(DeviceConnectionError) as err:
            await c.read(3, 0, 1)
        assert isinstance(err.value, DeviceError)
        assert str(err.value).startswith("device 'gateway-A unit 3': cannot connect")
        site = example_site()
        servers = await serve_camp(site, standin_camp())
        try:
            c2 = EndpointConnection("127.0.0.1", site.load_meters[0].modbus.port, timeout_s=0.5)
            assert len(await c2.read(1, 52, 2, function="input")) == 2
            await servers.stop_device("camp-main")
            with pytest.raises(DeviceError):
                await c2.read(1, 52, 2, function="input")
            await servers.start_device("camp-main")
            regs = None
            for attempt in range(2):              # at most one failure: the stale socket
                try:
                    regs = await c2.read(1, 52, 2, function="input")
                    break
                except DeviceError:
                    assert attempt == 0
            assert regs is not None and len(regs) == 2 and c2.connected
            await c2.close()
            assert not c2.connected
        finally:
            await servers.stop()
    asyncio.run(main())


def test_missing_serial_port_names_the_link():
    async def main():
        c = EndpointConnection("", 0, serial=SerialLine("/dev/ttyNOPE-camp"), timeout_s=0.3)
        assert c.key == "serial:/dev/ttyNOPE-camp" and c.framer == "rtu"
        with pytest.raises(DeviceConnectionError) as err:
            await c.read(7, 52, 2, function="input")
        assert str(err.value).startswith("device 'serial:/dev/ttyNOPE-camp unit 7': cannot ")
    asyncio.run(main())


def test_devices_on_one_link_share_its_connection():
    site = example_site()
    a, b = site.gensets[0], site.gensets[1]
    gateway = dataclasses.replace(a.modbus, framer="rtu", timeout_s=0.5, request_pause_s=0.02)
    b_same = dataclasses.replace(gateway, unit_id=2, timeout_s=0.8)
    connections = Connections()
    first = connections.for_modbus(gateway)
    assert connections.for_modbus(b_same) is first and len(connections) == 1
    assert (first.timeout_s, first.pause_s, first.gap_s) == (0.8, 0.02, 0.02)   # the longest
    tcp = connections.for_modbus(dataclasses.replace(b.modbus, port=a.modbus.port))
    assert tcp is not first and tcp.key == f"127.0.0.1:{a.modbus.port}"   # other framing
