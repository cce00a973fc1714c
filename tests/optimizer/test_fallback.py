"""Never no plan: a failing MILP gives the rule-based plan, flagged with the reason."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
from optimizer_testkit import battery, check_plan, genset, site

from optimizer.model import MilpOptions
from optimizer.plan import PlanInputs, PlanState
from optimizer.planner import MilpPlanner

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
SITE = site(gensets=[genset("dg-1", 200, min_up_min=60), genset("dg-2", 200, min_up_min=60)],
            batteries=[battery(capacity_kwh=300, power_kw=150, eff_ch=0.95, eff_dis=0.95)], reserve=(10.0, 25.0))
HOURS = np.arange(0, 24, 0.25)
INPUTS = PlanInputs.regular(T0, 15, 150 + 150 * np.exp(-((HOURS - 14) / 4) ** 2),
                            np.clip(np.sin((HOURS - 6) / 12 * np.pi), 0, None) * 250)
STATE = PlanState.initial(SITE)


def test_forced_infeasible_gives_flagged_load_following_plan():
    p = MilpPlanner(SITE, MilpOptions(force_infeasible=True)).plan(INPUTS, STATE)
    assert p.status == "fallback" and p.strategy == "load-following"
    assert "infeasible" in p.reason
    assert len(p.time) == len(INPUTS)  # on the forecast's own grid
    check_plan(SITE, p, STATE, min_load=False)
    assert np.all(p.unserved_kw == 0.0)


def test_forced_timeout_without_incumbent_gives_fallback():
    p = MilpPlanner(SITE, MilpOptions(time_limit_s=0.0)).plan(INPUTS, STATE)
    assert p.status == "fallback"
    assert "maxTimeLimit" in p.reason
    check_plan(SITE, p, STATE, min_load=False)


def test_exception_gives_fallback_and_the_next_solve_recovers():
    planner = MilpPlanner(SITE)
    bad = PlanState({"bess-1": 60.0}, {"dg-1": False, "dg-2": False}, {"dg-1": 1e6})  # dg-2 age missing
    p = planner.plan(INPUTS, bad)
    assert p.status == "fallback" and "dg-2" in p.reason
    assert planner.plan(INPUTS, STATE).status in ("optimal", "feasible")


def test_fallback_keeps_the_soc_guard():
    low = PlanState({"bess-1": 25.0}, {"dg-1": False, "dg-2": False}, {"dg-1": 1e6, "dg-2": 1e6})
    p = MilpPlanner(SITE, MilpOptions(force_infeasible=True)).plan(INPUTS, low)
    # guard = soc_min (10 %) + 5: the battery is not discharged below 15 % by the rule
    assert p.soc_pct["bess-1"].min() >= 15.0 - 1e-9
