"""PollPipeline: site totals and 15-min roll-ups from poll cycles (hand-checked numbers)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from poll_testkit import STANDIN_VALUES, T0, standin_camp
from testkit import EXAMPLE_SITE, example_site

from microgrid.clock import ManualClock
from microgrid.config import load_site
from microgrid.readings import Reading
from microgrid.simulator.server import serve_camp
from telemetry.pipeline import PollPipeline
from telemetry.poller import PollCycle, Poller, numeric

SITE = load_site(EXAMPLE_SITE)  # poll interval 5 s everywhere -> values held 15 s


def _cycle(time, values):
    readings = [Reading(time, "x", {"site": SITE.name, "device": n}, {"online": 1, **numeric(v)})
                for n, v in values.items()]
    return PollCycle(time, {n: dict(v) for n, v in values.items()}, readings, {})


def _camp(readings):
    return next(r for r in readings if r.measurement == "camp")


def test_camp_totals_of_one_cycle():
    pipe = PollPipeline(SITE, poller=None)
    out = pipe.ingest(_cycle(T0, STANDIN_VALUES))
    assert len(out) == len(SITE.devices) + 1 == 9 + 1
    camp = _camp(out)
    assert camp.time == T0 and dict(camp.tags) == {"site": "malakal"}
    assert camp.fields["pv_kw"] == pytest.approx(123.4 + 120.0 + 50.0)
    assert camp.fields["genset_kw"] == 200.0 and camp.fields["battery_kw"] == -50.0
    assert camp.fields["load_kw"] == 412.5 and camp.fields["soc_pct"] == 61.5
    assert camp.fields["gensets_online"] == 1
    assert camp.fields["renewable_share_pct"] == pytest.approx(100 * (1 - 200 / 412.5))


def test_last_good_values_held_for_three_intervals_then_missing():
    pipe = PollPipeline(SITE, poller=None)
    pipe.ingest(_cycle(T0, STANDIN_VALUES))
    meter_only = {"camp-main": {"power_kw": 400.0, "energy_total_kwh": 100.0}}
    held = _camp(pipe.ingest(_cycle(T0 + timedelta(seconds=15), meter_only)))
    assert held.fields["pv_kw"] == pytest.approx(293.4) and held.fields["load_kw"] == 400.0
    gone = _camp(pipe.ingest(_cycle(T0 + timedelta(seconds=16), meter_only)))
    assert gone.fields == {"load_kw": 400.0}          # 16 s > 3 x 5 s: the rest is missing
    assert sorted(pipe.latest) == ["camp-main"]
    assert pipe.ingest(_cycle(T0 + timedelta(seconds=17), {})) == []   # nothing polled


def test_energy_rollup_from_counters_per_15_min():
    """Counters advance by hand-picked amounts each minute; the bucket 10:00-10:15 closes at
    10:15 with their deltas, fuel from the metered rate and CO2 from the site factor."""
    pipe = PollPipeline(SITE, poller=None)
    rollups = []
    for minute in range(16):
        values = {k: dict(v) for k, v in STANDIN_VALUES.items()}
        values["camp-main"]["energy_total_kwh"] = 99.0 + 2.0 * minute      # 2 kWh/min
        for pv in ("pv-north", "pv-south", "pv-carport"):
            values[pv]["energy_total_kwh"] += 1.0 * minute                  # 1 kWh/min each
        values["dg-1"]["energy_total_kwh"] = 3000.0 + 3.0 * minute          # 3 kWh/min
        out = pipe.ingest(_cycle(T0 + timedelta(minutes=minute), values))
        rollups += [r for r in out if r.measurement in ("energy", "genset_energy")]
    energy = next(r for r in rollups if r.measurement == "energy")
    assert energy.time == T0
    f = energy.fields
    assert f["load_kwh"] == pytest.approx(30.0) and f["pv_kwh"] == pytest.approx(45.0)
    assert f["genset_kwh"] == pytest.approx(45.0)
    assert f["battery_charge_kwh"] == pytest.approx(12.5)                 # 50 kW x 0.25 h
    assert f["battery_discharge_kwh"] == 0.0
    assert f["fuel_l"] == pytest.approx(82.0 * 0.25)                      # metered 82 L/h
    assert f["co2_kg"] == pytest.approx(82.0 * 0.25 * 2.68)
    assert f["coverage_pct"] == pytest.approx(100.0)
    dg1 = next(r for r in rollups if r.measurement == "genset_energy" and r.device == "dg-1")
    assert dg1.fields["genset_kwh"] == pytest.approx(45.0)
    assert pipe.flush() == []            # 10:15 opened the next bucket; nothing integrated yet


@pytest.mark.integration
def test_pipeline_cycle_over_modbus():
    async def main():
        site = example_site()
        clock = ManualClock(T0)
        servers = await serve_camp(site, standin_camp())
        poller = Poller(site, clock=clock)
        pipe = PollPipeline(site, poller)
        try:
            out = await pipe.cycle()
            assert [r.measurement for r in out].count("camp") == 1
            assert len(out) == len(site.devices) + 1 == 10
            camp = _camp(out)
            assert camp.fields["load_kw"] == 412.5 and camp.fields["genset_kw"] == 200.0
            assert pipe.latest["bess-1"]["soc_pct"] == 61.5
            clock.advance(1)
            assert await pipe.cycle() == []                 # nothing due, nothing new
        finally:
            await poller.close()
            await servers.stop()
    asyncio.run(main())
