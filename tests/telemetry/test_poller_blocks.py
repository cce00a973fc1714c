"""The poller's read blocks against the virtual camp over Modbus TCP on loopback (real pymodbus
servers): a genset's alarm page is read only while its page 3 flags say so, an alarm raised on
the virtual genset reaches the alarm engine on the poll it is raised and clears on the poll it
clears, and the storage's 713 status arrives at its cadence, carried between reads with its
read time."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from poll_testkit import T0, polled_camp
from testkit import EXAMPLE_SITE, example_site

from microgrid.clock import ManualClock
from microgrid.simulator.camp import VirtualCamp
from microgrid.simulator.settings import load_simulator_settings
from telemetry.alarms.device import device_alarms
from telemetry.alarms.engine import AlarmEngine
from telemetry.readblocks import device_plan

pytestmark = pytest.mark.integration

PAGE_8 = {f"alarm_conditions_{n}" for n in range(1, 16)}


def _camp():
    site = example_site()
    clock = ManualClock(T0)
    return site, clock, VirtualCamp(site, load_simulator_settings(EXAMPLE_SITE), clock)


async def _poll(poller, clock, engine=None):
    """One poll 5 s on; with an engine, the device alarms fed to it as the service does."""
    clock.advance(5)
    cycle = await poller.poll_all()
    update = None
    if engine is not None:
        raised, cleared = [], []
        for name, values in cycle.values.items():
            for group, active in device_alarms(poller.profile_of(name), values, name).items():
                u = engine.update(cycle.time, group, active)
                raised += [(a.device, a.code) for a in u.raised]
                cleared += [(a.device, a.code) for a in u.cleared]
        update = (raised, cleared)
    return cycle, update


def test_steady_state_reads_no_alarm_page_and_carries_it_with_its_read_time():
    async def main():
        site, clock, camp = _camp()
        gensets = [g.name for g in site.gensets]
        async with polled_camp(site, camp, clock=clock) as (_servers, poller):
            first = await poller.poll_all()
            assert all(PAGE_8 <= set(first.values[g]) for g in gensets)
            assert first.carried == {}                                 # the first poll reads everything
            cycle, _ = await _poll(poller, clock)
            for g in gensets:
                assert set(cycle.carried[g]) == PAGE_8 and set(cycle.carried[g].values()) == {T0}
                assert cycle.values[g]["alarm_conditions_1"] == first.values[g]["alarm_conditions_1"]
                reading = next(r for r in cycle.readings if r.device == g)
                assert not PAGE_8 & set(reading.fields) and "alarm_flags" not in reading.fields
            # requests: every device's base reads, nothing of the gensets' page 8
            base = sum(len(device_plan(poller.profile_of(d.name)).base) for d in site.devices)
            assert cycle.requests <= base + 1                          # + a 713 read on its own phase
    asyncio.run(main())


def test_a_genset_alarm_raises_on_the_poll_it_is_flagged_and_clears_on_the_poll_it_clears():
    async def main():
        site, clock, camp = _camp()
        engine = AlarmEngine(site.name)
        async with polled_camp(site, camp, clock=clock) as (_servers, poller):
            await _poll(poller, clock, engine)
            quiet, (raised, cleared) = await _poll(poller, clock, engine)
            assert raised == [] and cleared == [] and "dg-1" in quiet.carried

            camp.raise_alarm("dg-1", "dse_low_oil_pressure", 2)
            cycle, (raised, cleared) = await _poll(poller, clock, engine)
            assert ("dg-1", "dse_low_oil_pressure") in raised          # the same poll
            assert "dg-1" not in cycle.carried and "dg-2" in cycle.carried
            assert engine.get("dg-1", "dse_low_oil_pressure").severity == 2

            cycle, (raised, cleared) = await _poll(poller, clock, engine)   # still flagged: read again
            assert "dg-1" not in cycle.carried and raised == [] and cleared == []

            camp.clear_alarm("dg-1")
            cycle, (raised, cleared) = await _poll(poller, clock, engine)   # the closing read
            assert ("dg-1", "dse_low_oil_pressure") in cleared and "dg-1" not in cycle.carried
            assert not engine.get("dg-1", "dse_low_oil_pressure").active

            cycle, (raised, cleared) = await _poll(poller, clock, engine)   # quiet again
            assert set(cycle.carried["dg-1"]) == PAGE_8 and raised == [] and cleared == []
            assert not any(a.device == "dg-1" for a in engine.active())
    asyncio.run(main())


def test_the_storage_713_status_arrives_at_its_cadence_with_its_read_time():
    async def main():
        site, clock, camp = _camp()
        bess = site.batteries[0].name
        engine = AlarmEngine(site.name)
        async with polled_camp(site, camp, clock=clock) as (_servers, poller):
            first, _ = await _poll(poller, clock, engine)
            assert first.values[bess]["storage_status"] == 0 and bess not in first.carried
            camp.raise_alarm(bess, "sunspec_warning", 1)
            read_on, raised_on = [], None
            for i in range(1, 14):                                     # 13 polls of 5 s: 65 s
                cycle, (raised, _cleared) = await _poll(poller, clock, engine)
                if "storage_status" in cycle.carried.get(bess, {}):
                    assert cycle.carried[bess]["storage_status"] < cycle.time   # its own read time
                    assert "storage_status" in cycle.values[bess]                # carried, not missing
                else:
                    read_on.append(i)
                if (bess, "sunspec_warning") in raised:
                    raised_on = i
            # every 60 s at 5-s polls is every 12 polls: read once or twice in 13, never more
            assert 1 <= len(read_on) <= 2 and raised_on == read_on[0]
            assert engine.get(bess, "sunspec_warning").active
    asyncio.run(main())


def test_the_sites_block_every_s_overrides_the_profiles_cadence():
    async def main():
        site, clock, camp = _camp()
        bess = site.batteries[0]
        fast = dataclasses.replace(bess, modbus=dataclasses.replace(bess.modbus, block_every_s=5.0))
        site = dataclasses.replace(site, batteries=(fast,) + site.batteries[1:])
        async with polled_camp(site, camp, clock=clock) as (_servers, poller):
            for _ in range(4):                                         # every 5-s poll reads 713
                cycle, _ = await _poll(poller, clock)
                assert bess.name not in cycle.carried and "storage_status" in cycle.values[bess.name]
    asyncio.run(main())
