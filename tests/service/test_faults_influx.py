"""InfluxDB goes away for an hour of simulated time and comes back: nothing the service produced is
lost, nothing is duplicated.

The service runs against the virtual camp (Modbus TCP on loopback) on an event clock for 3
simulated hours, storing into a private, real influxd through the durable spool; the driver stops
that influxd at 1 h and starts it again (same port, same data directory) at 2 h.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import timedelta

import pytest
from service_testkit import START, camp_site, grid, influx_rows, ns, run_camp_service

from microgrid.service.wiring import open_store

pytestmark = pytest.mark.integration

DOWN, UP, END = timedelta(hours=1), timedelta(hours=2), timedelta(hours=3)
DB = "camp"


def _series_times(readings) -> dict[tuple, set[int]]:
    """``{(measurement, tags): {time ns}}`` of what the service wrote."""
    out: dict[tuple, set[int]] = defaultdict(set)
    for r in readings:
        out[(r.measurement, tuple(sorted(r.tags.items())))].add(ns(r.time))
    return out


def test_influxdb_down_for_an_hour_nothing_lost_nothing_duplicated(influxd_factory, tmp_path):
    server = influxd_factory()
    server.create_database(DB)
    site = camp_site()

    async def outage(run):
        await asyncio.to_thread(server.stop)

    async def back(run):
        await asyncio.to_thread(server.start)

    store = open_store(f"influx1://127.0.0.1:{server.http_port}/{DB}?timeout_s=5",
                       spool=tmp_path / "spool.db")
    run = asyncio.run(run_camp_service(site, store, END / timedelta(hours=1),
                                       events={DOWN: outage, UP: back}))
    state = run.service.state
    assert state.errors == []

    # the outage happened as the service saw it: store unreachable, the spool filling up
    spool = {t: st["spool"] for t, st in run.samples}
    during = [s for t, s in spool.items() if START + DOWN + timedelta(minutes=5) <= t <= START + UP]
    assert during and all(not s["store_reachable"] for s in during)
    depths = [s["spool_points"] for s in during]
    assert depths == sorted(depths) and depths[-1] > depths[0] > 0
    after = [s for t, s in spool.items() if t >= START + UP + timedelta(minutes=5)]
    assert after and all(s["store_reachable"] for s in after)
    assert all(s["dropped_points"] == 0 and s["rejected_batches"] == 0 for s in spool.values())

    # every camp point the service produced is in InfluxDB exactly once, with its values
    camp = run.store.of("camp")
    # the start-up poll's totals, then every poll but the service's first (nothing was due yet)
    assert len({r.time for r in camp}) == len(camp) == state.polls
    rows = influx_rows(server.url, DB, 'SELECT * FROM "camp"')
    assert [r["time"] for r in rows] == [ns(r.time) for r in camp]
    assert [r["load_kw"] for r in rows] == pytest.approx([r.fields["load_kw"] for r in camp])
    in_outage = [r for r in camp if START + DOWN < r.time < START + UP]
    assert len(in_outage) == (UP - DOWN) / timedelta(minutes=1) - 1

    # the 15-min energy roll-ups: every bucket of the run, each once (the open one at the end
    # is flushed at shutdown)
    energy = run.store.of("energy")
    quarter = timedelta(minutes=15)
    assert [r.time for r in energy] == grid(START, quarter, END / quarter)
    rows = influx_rows(server.url, DB, 'SELECT * FROM "energy"')
    assert [r["time"] for r in rows] == [ns(r.time) for r in energy]
    assert [r["load_kwh"] for r in rows] == pytest.approx([r.fields["load_kwh"] for r in energy])

    # and so for every series of every measurement: as many points as distinct instants written
    for (measurement, tags), written in sorted(_series_times(run.store.written).items()):
        where = " AND ".join(f""""{k}" = '{v}'""" for k, v in tags)
        got = [r["time"] for r in influx_rows(server.url, DB,
                                               f'SELECT * FROM "{measurement}" WHERE {where}')]
        assert sorted(got) == sorted(written), (measurement, tags)
