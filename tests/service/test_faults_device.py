"""A device dies mid-run and comes back: shown offline (with the reason) then online again, its
readings say ``online = 0`` through the gap, the other devices keep their cadence, the plan
keeps coming every 15 min, and nothing crashes.

The virtual camp is served over Modbus TCP on loopback; the service runs against it on an event
clock for 3 simulated hours; the driver drops dg-2's TCP server at 1 h and brings it back at 2 h.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from service_testkit import POLL_S, START, camp_site, grid, run_camp_service, times

from microgrid.service.wiring import open_store
from telemetry.historian import open_historian

pytestmark = pytest.mark.integration

DEAD = "dg-2"
DOWN, UP, END = timedelta(hours=1), timedelta(hours=2), timedelta(hours=3)


def test_device_dies_mid_run_and_returns(tmp_path):
    site = camp_site()

    async def kill(run):
        await run.servers.stop_device(DEAD)

    async def revive(run):
        await run.servers.start_device(DEAD)

    spec = f"sqlite:///{tmp_path / 'h.sqlite'}"
    run = asyncio.run(run_camp_service(site, open_store(spec), END / timedelta(hours=1),
                                       events={DOWN: kill, UP: revive}))
    state = run.service.state
    t_down, t_up, poll = START + DOWN, START + UP, timedelta(seconds=POLL_S)

    # no crash: every loop ran to the end, nothing reached the error list
    assert state.errors == []
    assert state.polls == END / poll  # one poll tick per simulated minute, 3 h long
    assert state.last_poll == START + END - poll

    # the status: offline with a reason through the gap, online before and after
    for t, st in run.samples:
        dev = st["devices"][DEAD]
        if t_down + 5 * poll <= t <= t_up:
            assert dev["online"] is False, (t, dev)
            assert "cannot connect" in dev["reason"], (t, dev)
        elif t < t_down or t >= t_up + 5 * poll:
            assert dev["online"] is True and dev["reason"] is None, (t, dev)
        if t >= t_up + 5 * poll:
            assert st["healthy"] is True, (t, st["reasons"])

    # its readings: online = 0 in the gap (nothing else in them), resumed at every poll after
    dead = run.store.of("genset", device=DEAD)
    gap = [r for r in dead if t_down < r.time < t_up]
    assert len(gap) >= 30 and all(r.fields == {"online": 0} for r in gap)
    after = [r for r in dead if r.time >= t_up + 5 * poll]
    assert times(after) == grid(t_up + 5 * poll, poll, len(after))
    assert len(after) == (END - UP) / poll - 5
    assert all(r.fields["online"] == 1 and "power_kw" in r.fields for r in after)
    before = [r for r in dead if r.time < t_down]
    # (the start-up poll at START is wire_service's and is stored; the service's own polls follow)
    assert times(before) == grid(START, poll, DOWN / poll)
    assert all(r.fields["online"] == 1 for r in before)

    # ... and that is what the store holds
    with open_historian(spec) as h:  # the service closed its own at the end
        online = h.query("genset", "online", START, START + END,
                         tags={"site": site.name, "device": DEAD})
    in_gap = online[(online.index > t_down) & (online.index < t_up)]["online"]
    assert len(in_gap) == len(gap) and set(in_gap) == {0.0}
    assert set(online[online.index >= t_up + 5 * poll]["online"]) == {1.0}

    # every other device kept its cadence: one good reading per poll, all run long
    for d in site.devices:
        if d.name == DEAD:
            continue
        rs = [r for r in run.store.written if r.tags.get("device") == d.name
              and r.measurement not in ("setpoint", "genset_energy", "plan_genset")]
        assert times(rs) == grid(START, poll, state.polls), d.name
        assert all(r.fields["online"] == 1 for r in rs), d.name

    # the plan kept coming every 15 min, through the gap too
    opt = run.store.of("optimizer")
    quarter = timedelta(minutes=15)
    assert times(opt) == grid(START, quarter, state.plans)
    assert state.plans == END / quarter + 1 and state.fallbacks == 0
    plans = run.store.of("plan")
    assert {r.time for r in plans} >= set(grid(START, quarter, state.plans))
    # ... and the camp kept being supplied
    assert run.camp.totals["unserved_kwh"] == pytest.approx(0.0, abs=1e-6)
