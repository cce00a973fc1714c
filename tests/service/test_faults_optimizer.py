"""The optimizer fails (infeasible) or times out without an incumbent every cycle: the service uses
the rule-based fallback plan every time, flags it (``optimizer.status`` 2, the plan's status and
reason in the status endpoint), still writes the setpoints, and the camp is fully supplied.

The real MILP (Pyomo + HiGHS) replaces the planner ``wire_service`` built; the service runs against
the virtual camp over Modbus TCP on an event clock for 2 simulated hours.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from service_testkit import START, camp_site, grid, run_camp_service

from microgrid.service.wiring import open_store
from optimizer.model import MilpOptions
from optimizer.planner import make_planner

pytestmark = pytest.mark.integration

END = timedelta(hours=2)
CASES = {
    "infeasible": (MilpOptions(force_infeasible=True), "infeasible"),
    # no warm start: nothing to keep as the incumbent when the limit strikes
    "timeout": (MilpOptions(time_limit_s=1e-3, warm_start=False), "time limit"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_failing_optimizer_gives_the_flagged_fallback_plan_every_cycle(case, tmp_path):
    options, why = CASES[case]
    site = camp_site()
    planner = make_planner(site, "milp", milp_options=options)
    store = open_store(f"sqlite:///{tmp_path / 'h.sqlite'}")
    run = asyncio.run(run_camp_service(site, store, END / timedelta(hours=1), strategy="milp",
                                       planner=planner))
    state = run.service.state
    assert state.errors == []

    # a plan every 15 min, every one the fallback
    quarter = timedelta(minutes=15)
    assert state.plans == END / quarter + 1
    assert state.fallbacks == state.plans
    assert state.plan.status == "fallback" and why in state.plan.reason

    # flagged in the store: optimizer status 2 for every planning run, and the plan points exist
    opt = run.store.of("optimizer")
    assert [r.time for r in opt] == grid(START, quarter, state.plans)
    assert [r.fields["status"] for r in opt] == [2.0] * state.plans
    plan_times = {r.time for r in run.store.of("plan")}
    assert set(grid(START, quarter, state.plans)) <= plan_times
    assert max(plan_times) >= START + END + timedelta(hours=12)  # a horizon, not one step

    # ... and in the status endpoint
    for t, st in run.samples:
        if t > START:
            assert st["plan"]["status"] == "fallback" and why in st["plan"]["reason"], t
            assert st["fallbacks"] == st["plans"] >= 1, t

    # the setpoints were still written and confirmed, on every device kind control drives
    written = [r for r in run.store.of("setpoint") if r.fields["accepted"] == 1
               and r.fields["dry_run"] == 0]
    assert {r.tags["device"] for r in written} >= {"dg-1", "dg-2", "dg-3", "pv-north", "bess-1"}
    assert all(r.fields["fault"] == 0 for r in written)
    modes = [r for r in written if r.tags["point"] == "mode"]
    assert modes and run.service.controller.status()["faults"] == {}

    # the camp was supplied all along
    assert run.camp.totals["unserved_kwh"] == pytest.approx(0.0, abs=1e-6)
    assert run.camp.totals["load_kwh"] > 0
