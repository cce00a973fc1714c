"""A MILP plan carried out by the virtual camp's physics gives the plan's SOC, fuel and flows."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest
from testkit import example_camp

from microgrid.plant import CampState, Setpoints, dispatch_step
from microgrid.plant.conditions import pv_column
from microgrid.simulator.conditions import generate_conditions
from optimizer.plan import PlanInputs, PlanState
from optimizer.planner import make_planner

START = datetime(2026, 3, 2, 4, tzinfo=timezone.utc)


def test_physics_reproduces_the_plan():
    site, sim = example_camp()
    df = generate_conditions(site, sim, START, 32, step_min=15, seed=3)  # 8 h, all fine steps
    pv_cap = {a.name: np.minimum(df[pv_column(a.name)].to_numpy(), a.inverter_kw) for a in site.pv_arrays}
    pv_total = sum(pv_cap.values())
    inputs = PlanInputs.regular(START, 15, df["load_kw"].to_numpy(), pv_total)
    camp = CampState.initial(site)
    plan = make_planner(site, "milp").plan(inputs, PlanState.from_camp_state(camp))
    assert plan.status in ("optimal", "feasible") and len(plan.time) == 32
    for t in range(32):
        share = plan.pv_used_kw[t] / pv_total[t] if pv_total[t] > 0 else 1.0
        sp = Setpoints.default(site).with_(
            genset_mode={g: "run" if plan.genset_on[g][t] else "stop" for g in plan.genset_on},
            genset_kw={g: float(plan.genset_kw[g][t]) for g in plan.genset_kw},
            pv_limit_pct={a.name: 100.0 * pv_cap[a.name][t] * share / a.inverter_kw for a in site.pv_arrays})
        camp, res = dispatch_step(site, camp, float(inputs.load_kw[t]),
                                  {a.name: float(pv_cap[a.name][t]) for a in site.pv_arrays}, sp, 0.25)
        assert res.unserved_kw == pytest.approx(plan.unserved_kw[t], abs=1e-6)
        assert res.pv_kw == pytest.approx(plan.pv_used_kw[t], abs=1e-4)
        assert res.battery_kw["bess-1"] == pytest.approx(plan.battery_kw["bess-1"][t], abs=1e-4)
        assert res.soc_pct["bess-1"] == pytest.approx(plan.soc_pct["bess-1"][t], abs=1e-6)
        assert sum(res.fuel_l.values()) == pytest.approx(plan.fuel_l[t], abs=1e-6)
