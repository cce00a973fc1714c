"""SunSpec discovery against real Modbus TCP peers on loopback."""

from __future__ import annotations

import asyncio

import pytest
from poll_testkit import STANDIN_VALUES, T0, RawModbusServer, raw_site, standin_camp
from testkit import example_site, free_port

from microgrid.clock import ManualClock
from microgrid.simulator.server import DeviceImage, Endpoint, serve_camp
from telemetry.connection import EndpointConnection
from telemetry.discovery import DiscoveryError, discover
from telemetry.poller import Poller
from telemetry.registers import encode, load_profile

pytestmark = pytest.mark.integration

INVERTER_CHAIN = ((1, 66), (103, 50), (123, 24))


def _inverter_at(base: int):
    """The inverter profile laid out with its "SunS" marker at ``base``."""
    return load_profile("sunspec_inverter").with_chain(INVERTER_CHAIN, base)


def test_finds_suns_at_40000_on_the_virtual_camp():
    async def main():
        site = example_site()
        servers = await serve_camp(site, standin_camp())
        pv, bess = site.pv_arrays[0].modbus, site.batteries[0].modbus
        c1, c2 = EndpointConnection(pv.host, pv.port), EndpointConnection(bess.host, bess.port)
        try:
            chain = await discover(c1, 1)
            assert chain.base_address == 40000 and chain.models == INVERTER_CHAIN
            # probe + one 125-register chunk (models 1, 103 and the 123 header) + at the end
            # marker (40148) a 125-register read past the map, refused, then 2 registers
            assert chain.requests == c1.requests == 4
            chain = await discover(c2, 1)
            assert chain.model_ids == (1, 802, 803, 124, 701, 713)
        finally:
            await c1.close()
            await c2.close()
            await servers.stop()
    asyncio.run(main())


@pytest.mark.parametrize("base", [0, 50000])
def test_finds_suns_at_other_bases_and_polls_there(base):
    """A pymodbus server serving the inverter map at 0 or 50000: found after 40000 is refused."""
    async def main():
        port = free_port()
        site = raw_site(example_site(), "pv-north", port)
        image = DeviceImage("pv-north", _inverter_at(base), 1, standin_camp(), {"rated_kw": 220.0})
        ep = Endpoint("127.0.0.1", port, [image])
        await ep.start()
        poller = Poller(site, clock=ManualClock(T0))
        try:
            conn = EndpointConnection("127.0.0.1", port)
            chain = await discover(conn, 1)
            await conn.close()
            assert chain.base_address == base and chain.models == INVERTER_CHAIN
            cycle = await poller.poll_all()
            assert cycle.values["pv-north"]["ac_power_kw"] == 123.4
            assert cycle.values["pv-north"]["energy_total_kwh"] == 5000.0
            assert poller.profile_of("pv-north").base_address == base
        finally:
            await poller.close()
            await ep.stop()
    asyncio.run(main())


def test_a_base_that_times_out_moves_on():
    async def main():
        server = RawModbusServer(encode(_inverter_at(0), {**STANDIN_VALUES["pv-north"],
                                                          "rated_kw": 220.0}))
        server.silent_at = {40000}                  # a gateway that swallows the probe
        await server.start()
        conn = EndpointConnection("127.0.0.1", server.port, timeout_s=0.5)
        try:
            chain = await discover(conn, 1)
            assert chain.base_address == 0 and chain.models == INVERTER_CHAIN
            # probes at 40000 (timeout) and 0, the chunk 2..126, then at the end marker (148)
            # a 125-register read past the map is refused and retried with 2 registers
            assert chain.requests == 5
            assert conn.resets == 1                 # the timeout reset the connection ...
            assert server.connections == 2          # ... and the next probe reconnected
        finally:
            await conn.close()
            await server.stop()
    asyncio.run(main())


def test_no_sunspec_anywhere_is_a_clear_device_error(caplog):
    async def main():
        server = RawModbusServer({a: 0 for a in range(0, 10)})   # registers, but no "SunS"
        await server.start()
        site = raw_site(example_site(), "pv-north", server.port, timeout_s=0.5)
        poller = Poller(site, clock=ManualClock(T0))
        conn = EndpointConnection("127.0.0.1", server.port, timeout_s=0.5)
        try:
            with pytest.raises(DiscoveryError) as err:
                await discover(conn, 1)
            text = str(err.value)
            assert "40000: exception 0x02 ILLEGAL_ADDRESS" in text
            assert "0: no 'SunS' (0x0000 0x0000)" in text and "50000: exception 0x02" in text
            with caplog.at_level("WARNING", logger="telemetry.poller"):
                cycle = await poller.poll_all()
            assert cycle.readings[0].fields == {"online": 0}
            assert "no SunSpec map found" in poller.status()["pv-north"].reason
            assert any("pv-north" in r.message and "no SunSpec map found" in r.message
                       for r in caplog.records)
        finally:
            await conn.close()
            await poller.close()
            await server.stop()
    asyncio.run(main())


def test_malformed_chain_is_rejected():
    """A chain that never ends (header lengths pointing past the address space) is garbage."""
    async def main():
        image = {40000: 0x5375, 40001: 0x6E53, 40002: 1, 40003: 0xFFF0}
        image.update({a: 0 for a in range(40004, 40129)})
        server = await RawModbusServer(image).start()
        conn = EndpointConnection("127.0.0.1", server.port, timeout_s=0.5)
        try:
            with pytest.raises(DiscoveryError, match="no end marker"):
                await discover(conn, 1)
        finally:
            await conn.close()
            await server.stop()
    asyncio.run(main())
