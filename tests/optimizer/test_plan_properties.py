"""Property tests: every plan on random small inputs satisfies the physics and accounting."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from optimizer_testkit import battery, check_min_up_down, check_plan, genset, site

from optimizer.costs import plan_objective_l
from optimizer.plan import PlanInputs, PlanState
from optimizer.planner import make_planner

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
SITE = site(gensets=[genset("dg-1", 200, min_up_min=30, min_down_min=30, start_cost_l=1.0),
                     genset("dg-2", 200, min_up_min=30, min_down_min=30, start_cost_l=1.0),
                     genset("dg-3", 120, f0=0.085, f1=0.255, min_up_min=60, min_down_min=15, start_cost_l=0.5)],
            batteries=[battery(capacity_kwh=300, power_kw=150, soc_min_pct=15, soc_max_pct=95,
                               eff_ch=0.95, eff_dis=0.94, wear=0.02)],
            reserve=(10.0, 25.0), fine_horizon_h=1.0, curtail_penalty_l_per_kwh=0.0001)

cases = st.fixed_dictionaries({
    "load": st.lists(st.floats(0, 550), min_size=2, max_size=8),
    "pv_frac": st.lists(st.floats(0, 1.2), min_size=8, max_size=8),
    "soc": st.floats(15, 95),
    "on": st.tuples(st.booleans(), st.booleans(), st.booleans()),
    "minutes": st.tuples(*[st.sampled_from([0.0, 15.0, 45.0, 1e6])] * 3),
})


def _case(c):
    n = len(c["load"])
    inputs = PlanInputs.regular(T0, 15, c["load"], [f * 400 for f in c["pv_frac"][:n]])
    names = [g.name for g in SITE.gensets]
    state = PlanState({"bess-1": c["soc"]}, dict(zip(names, c["on"])), dict(zip(names, c["minutes"])))
    return inputs, state


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases)
# all units just stopped, an empty battery and 408 kW for one step: starting all three covers it
# with reserve, but their min up time then holds 156 kW of minimum load against 5 kW of load and
# 150 kW of charging; a plan may not choose a start it cannot load (it charges the battery with
# one unit earlier instead)
@example({"load": [0.0, 0.0, 408.0, 5.0], "pv_frac": [0.0] * 8, "soc": 15.0, "on": (False, False, False),
          "minutes": (0.0, 0.0, 0.0)})
def test_milp_plan_is_physical_and_its_objective_adds_up(c):
    inputs, state = _case(c)
    p = make_planner(SITE, "milp").plan(inputs, state)
    assert p.status == "optimal", p.reason
    # below minimum load only as the penalised slack, when a unit is held on by its initial state
    check_plan(SITE, p, state, min_load=p.extra["below_min_steps"] == 0)
    if not any(state.genset_on.values()):
        assert p.extra["below_min_steps"] == 0
    check_min_up_down(SITE, p, state)
    if p.extra["simultaneous_steps"] == 0:  # (else the solver's objective is of the unrepaired plan)
        assert plan_objective_l(SITE, p, state) == pytest.approx(p.objective_l, rel=1e-6, abs=1e-4)


@settings(max_examples=15, deadline=None)
@given(cases, st.sampled_from(["load-following", "cycle-charging"]))
def test_rule_plans_are_physical(c, strategy):
    inputs, state = _case(c)
    p = make_planner(SITE, strategy).plan(inputs, state)
    assert p.status == "feasible" and p.strategy == strategy
    check_plan(SITE, p, state, min_load=False)
    assert plan_objective_l(SITE, p, state) == pytest.approx(p.objective_l)
