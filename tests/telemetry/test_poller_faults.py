"""The poller when devices drop, refuse, or answer garbage: offline readings, logs, recovery."""

from __future__ import annotations

import asyncio
import dataclasses
import struct
from datetime import timedelta

import pytest
from poll_testkit import T0, RawModbusServer, polled_camp, raw_site, standin_camp
from testkit import example_site

from microgrid.clock import ManualClock
from telemetry.connection import EndpointConnection, ModbusExceptionError
from telemetry.poller import Poller
from telemetry.registers import decode, encode, load_profile

pytestmark = pytest.mark.integration

METER = {"power_kw": 412.5, "energy_total_kwh": 99.0}
#: What the poller decodes from a meter serving METER (its health points served as NaN: missing).
METER_READ = {**decode(load_profile("load_meter"), {}), **METER}


def _by_device(readings):
    out: dict[str, list] = {}
    for r in readings:
        out.setdefault(r.device, []).append(r)
    return out


def test_device_drop_offline_others_keep_cadence_and_return(caplog):
    """Stop one simulated device mid-run: offline with a reason, the others are read every
    interval, and it is back at the first or second try after it returns."""
    async def main():
        site = example_site(poll_interval_s=2.0, timeout_s=1.0)
        clock = ManualClock(T0)
        readings = []

        async def run_for(seconds):
            for _ in range(seconds):
                readings.extend((await poller.poll_due()).readings)
                clock.advance(1)

        async with polled_camp(site, clock=clock, backoff_cap_s=8.0,
                               cycle_wait_s=None) as (servers, poller):
            with caplog.at_level("INFO"):
                await run_for(4)                                  # t = 0..3
                await servers.stop_device("pv-south")             # drops at t = 4
                await run_for(24)                                 # t = 4..27
                status = poller.status()["pv-south"]
                assert status.online is False and status.failures >= 3
                assert "pv-south" in status.reason or "unit 1" in status.reason
                restart = clock.now()
                await servers.start_device("pv-south")
                await run_for(16)                                 # t = 28..43
            by = _by_device(readings)
            # every other device: a reading every 2 s, all online, from t = 0 to t = 42
            want = [T0 + timedelta(seconds=s) for s in range(0, 44, 2)]
            for name in (d.name for d in site.devices if d.name != "pv-south"):
                assert [r.time for r in by[name]] == want, name
                assert all(r.fields["online"] == 1 for r in by[name])
            south = by["pv-south"]
            offline = [r for r in south if r.fields["online"] == 0]
            assert offline and all(dict(r.fields) == {"online": 0} for r in offline)
            assert offline[0].time == T0 + timedelta(seconds=4)
            # tries while down at 4, 8, 16, 24 s: backoff 2 s x 2, x 4, then the 8 s cap
            tries = [r.time for r in offline]
            gaps = [(b - a).total_seconds() for a, b in zip(tries, tries[1:])]
            assert gaps[:3] == [4.0, 8.0, 8.0]
            after = [r for r in south if r.time >= restart]
            assert after[0].fields["online"] == 1 or after[1].fields["online"] == 1
            assert after[-1].fields["online"] == 1 and after[-1].fields["ac_power_kw"] == 120.0
            back = next(r for r in after if r.fields["online"] == 1)
            assert (back.time - restart).total_seconds() <= 8.0   # within the backoff cap
            assert poller.status()["pv-south"].online is True
            messages = [r.getMessage() for r in caplog.records]
            assert any("pv-south" in m and "offline" in m for m in messages)
            assert any("pv-south" in m and "back online" in m for m in messages)
            # SunSpec devices are rediscovered when they come back
            assert sum("pv-south: SunSpec map at 40000" in m for m in messages) == 2
    asyncio.run(main())


def test_exception_response_is_logged_and_reported_offline(caplog):
    async def main():
        site = example_site(poll_interval_s=5.0)
        clock = ManualClock(T0)
        async with polled_camp(site, clock=clock) as (servers, poller):
            servers.set_offline("dg-1")
            with caplog.at_level("WARNING", logger="telemetry.poller"):
                cycle = await poller.poll_all()
            reading = next(r for r in cycle.readings if r.device == "dg-1")
            assert dict(reading.fields) == {"online": 0}
            assert "dg-1" not in cycle.values and cycle.offline == ["dg-1"]
            reason = cycle.status["dg-1"].reason
            assert "exception 0x0B GATEWAY_NO_RESPONSE" in reason and "unit 1" in reason
            port = site.gensets[0].modbus.port
            line = next(r for r in caplog.records if "dg-1" in r.getMessage())
            assert line.levelname == "WARNING"
            assert line.getMessage().startswith(f"device dg-1 (127.0.0.1:{port} unit 1) offline: ")
            assert "GATEWAY_NO_RESPONSE" in line.getMessage()
            assert all(r.fields["online"] == 1 for r in cycle.readings if r.device != "dg-1")
            servers.set_offline("dg-1", False)
            clock.advance(10)                                     # past the 2 x 5 s backoff
            cycle = await poller.poll_due()
            assert cycle.values["dg-1"]["starts"] == 3
    asyncio.run(main())


def test_sentinels_decode_as_missing_never_zero():
    async def main():
        site = example_site()
        camp = standin_camp()
        camp.values["bess-1"]["soc_pct"] = None
        camp.values["dg-1"]["fuel_level_pct"] = None
        camp.values["pv-north"]["energy_total_kwh"] = None
        conn = EndpointConnection("127.0.0.1", site.gensets[0].modbus.port)
        try:
            async with polled_camp(site, camp, clock=ManualClock(T0)) as (servers, poller):
                assert await conn.read(1, 1027, 1) == [0xFFFF]        # DSE "unimplemented"
                cycle = await poller.poll_all()
                assert cycle.values["bess-1"]["soc_pct"] is None
                assert cycle.values["dg-1"]["fuel_level_pct"] is None
                assert cycle.values["pv-north"]["energy_total_kwh"] is None
                by = {r.device: r for r in cycle.readings}
                assert "soc_pct" not in by["bess-1"].fields and by["bess-1"].fields["soh_pct"] == 98.0
                assert "fuel_level_pct" not in by["dg-1"].fields and by["dg-1"].fields["starts"] == 3
                assert "energy_total_kwh" not in by["pv-north"].fields
                assert by["pv-north"].fields["ac_power_kw"] == 123.4 and by["pv-north"].fields["online"] == 1
        finally:
            await conn.close()
    asyncio.run(main())


@pytest.mark.parametrize("mode", ["garbage", "wrong_tid", "truncated", "short"])
def test_bad_frames_reset_the_connection_and_recover(mode, caplog):
    """One bad answer: the retry on a fresh connection reads the device. Two: offline with a
    clear reason; the next try (after the backoff) reads it again. Never wedged."""
    async def main():
        server = await RawModbusServer(encode(load_profile("load_meter"), METER)).start()
        site = raw_site(example_site(), "camp-main", server.port, timeout_s=0.5,
                        poll_interval_s=5.0)
        clock = ManualClock(T0)
        poller = Poller(site, clock=clock, cycle_wait_s=None)
        conn = poller.connections.for_device(site.load_meters[0])
        try:
            server.misbehave(mode, faults=1)
            cycle = await poller.poll_all()
            assert cycle.values["camp-main"] == METER_READ
            assert conn.resets == 1 and server.connections == 2
            server.misbehave(mode, faults=2)
            with caplog.at_level("WARNING", logger="telemetry.poller"):
                clock.advance(5)
                cycle = await poller.poll_due()
            assert cycle.offline == ["camp-main"]
            reason = poller.status()["camp-main"].reason
            assert f"127.0.0.1:{server.port} unit 1" in reason and "connection reset" in reason
            assert ("registers, expected 68" if mode == "short" else "no valid answer") in reason
            assert any("camp-main" in r.getMessage() and "offline" in r.getMessage()
                       for r in caplog.records)
            assert conn.resets == 3
            clock.advance(10)                                     # 2 x 5 s backoff
            cycle = await poller.poll_due()
            assert cycle.values["camp-main"] == METER_READ and conn.resets == 3
            assert server.connections == 4
        finally:
            await poller.close()
            await server.stop()
    asyncio.run(main())


def test_exception_code_from_a_raw_device_keeps_the_connection():
    async def main():
        server = await RawModbusServer(encode(load_profile("load_meter"), METER)).start()
        conn = EndpointConnection("127.0.0.1", server.port, timeout_s=0.5)
        try:
            server.misbehave("exception", faults=1)
            with pytest.raises(ModbusExceptionError) as err:
                await conn.read(1, 52, 2, function="input")
            assert err.value.code == 4 and "0x04 DEVICE_FAILURE" in str(err.value)
            regs = await conn.read(1, 52, 2, function="input")
            assert struct.unpack(">f", struct.pack(">2H", *regs)) == (412500.0,)  # [W]
            assert conn.resets == 0 and server.connections == 1
        finally:
            await conn.close()
            await server.stop()
    asyncio.run(main())


def test_refused_block_leaves_its_fields_missing(caplog):
    """A controller without the vendor area (ILLEGAL_ADDRESS there): the rest is read."""
    async def main():
        profile = load_profile("dse_genset")
        image = encode(profile, {**standin_camp().values["dg-1"]})
        image = {a: v for a, v in image.items() if a < 51200}
        server = await RawModbusServer(image).start()
        site = raw_site(example_site(), "dg-1", server.port, timeout_s=0.5)
        poller = Poller(site, clock=ManualClock(T0))
        try:
            with caplog.at_level("WARNING", logger="telemetry.poller"):
                cycle = await poller.poll_all()
                await poller.poll_all()
            values = cycle.values["dg-1"]
            assert values["base_load_kw"] is None and values["fuel_rate_lph"] is None
            assert values["power_kw"] == 200.0 and values["running"] == 1
            assert cycle.readings[0].fields["online"] == 1
            refused = [r for r in caplog.records if "refused" in r.getMessage()]
            assert len(refused) == 1 and "51200+2" in refused[0].getMessage()  # logged once
        finally:
            await poller.close()
            await server.stop()
    asyncio.run(main())


def test_a_silent_endpoint_does_not_hold_up_the_others():
    """A device that never answers: poll_due returns the others' readings without waiting
    for its timeouts; its offline reading arrives in a later cycle."""
    async def main():
        silent = await RawModbusServer({}).start()
        silent.misbehave("silent")
        site = example_site(poll_interval_s=1.0)
        dg = site.gensets[0]
        site = dataclasses.replace(site, gensets=(dataclasses.replace(
            dg, modbus=dataclasses.replace(dg.modbus, port=silent.port, timeout_s=1.0)),
            *site.gensets[1:]))
        clock = ManualClock(T0)
        served = dataclasses.replace(site, gensets=site.gensets[1:])   # dg-1 is the silent one
        try:
            async with polled_camp(site, serve=served, clock=clock,
                                   cycle_wait_s=0.2) as (servers, poller):
                first = await poller.poll_due()
                assert sorted(first.polled) == sorted(d.name for d in site.devices if d.name != "dg-1")
                assert poller.status()["dg-1"].online is None            # still in flight
                seen_offline = False
                for _ in range(15):                                       # ~2 s wall: timeout + retry
                    clock.advance(1)
                    cycle = await poller.poll_due()
                    assert len([n for n in cycle.polled if n != "dg-1"]) == 8   # others every cycle
                    if "dg-1" in cycle.offline:
                        seen_offline = True
                        r = next(r for r in cycle.readings if r.device == "dg-1")
                        assert r.time == T0 and dict(r.fields) == {"online": 0}  # time it started
                        break
                assert seen_offline
        finally:
            await silent.stop()
    asyncio.run(main())
