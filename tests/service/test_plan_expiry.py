"""A plan is used only while fresh: when no new plan comes for longer than the configured age,
the service hands the plant back to its own automatic mode (gensets auto, limits released),
raises the ``plan_expired`` alarm in the store and the status, and resumes with the next fresh
plan (issue 12, docs/architecture.md §8).

The virtual camp is served over Modbus TCP on loopback; the service runs against it on an event
clock; the planner fails (an exception, as a crashed solver process would) from 0:40 to 2:40,
so the last good plan, issued at 0:30, passes its default age of 1 h at 1:30.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from service_testkit import START, camp_site, run_camp_service
from testkit import EXAMPLE_SITE

from microgrid.config import load_site
from microgrid.service.freshness import plan_expiry
from microgrid.service.runner import ServiceOptions
from microgrid.service.wiring import open_store
from optimizer.plan import PlanInputs, PlanState
from optimizer.planner import make_planner

pytestmark = pytest.mark.integration

FAIL_FROM, FAIL_UNTIL, END = timedelta(minutes=40), timedelta(minutes=160), timedelta(hours=3, minutes=15)
LAST_GOOD = timedelta(minutes=30)
MAX_AGE = ServiceOptions().max_plan_age_s


class PlannerOutage:
    """The real planner, failing for plans that start in ``[fail_from, fail_until)``."""

    def __init__(self, inner, fail_from, fail_until):
        self.inner, self.fail_from, self.fail_until = inner, fail_from, fail_until

    def plan(self, inputs, state):
        if self.fail_from <= inputs.time[0] < self.fail_until:
            raise RuntimeError("the solver process died")
        return self.inner.plan(inputs, state)


def test_default_max_age_is_four_replan_periods():
    assert MAX_AGE == 3600.0 and ServiceOptions(plan_every_s=600).max_plan_age_s == 2400.0
    assert ServiceOptions(plan_max_age_s=120).max_plan_age_s == 120.0


def test_a_stale_plan_hands_the_plant_back_and_raises_the_alarm(tmp_path):
    site = camp_site()
    planner = PlannerOutage(make_planner(site, "load-following"), START + FAIL_FROM, START + FAIL_UNTIL)
    seen: dict[str, object] = {}

    async def look(run):  # deep in the outage: what the devices were told
        seen["setpoints"] = run.camp.setpoints
        seen["status"] = run.service.status()

    expired_at = START + LAST_GOOD + timedelta(seconds=MAX_AGE)
    run = asyncio.run(run_camp_service(site, open_store(f"sqlite:///{tmp_path / 'h.sqlite'}"),
                                       END / timedelta(hours=1), planner=planner,
                                       events={timedelta(hours=2, minutes=30): look}))

    # the alarm: raised at the first control tick past the age, stored at every tick while
    # active, cleared once by the first fresh plan after the outage
    alarms = run.store.of("alarm", device="service", code="plan_expired")
    active = [r for r in alarms if r.fields["active"] == 1]
    assert active, "no plan_expired alarm was stored"
    assert expired_at < active[0].time <= expired_at + timedelta(minutes=1)
    assert all(r.fields["severity"] == 1 for r in alarms)
    assert all(r.fields["value"] > MAX_AGE for r in active)  # the plan's age [s]
    ticks = [(b.time - a.time) for a, b in zip(active, active[1:])]
    assert set(ticks) == {timedelta(minutes=1)}
    cleared = [r for r in alarms if r.fields["active"] == 0]
    resumed = START + FAIL_UNTIL + timedelta(minutes=5)  # the first plan after the outage
    assert len(cleared) == 1 and resumed <= cleared[0].time <= resumed + timedelta(minutes=1)
    assert active[-1].time < cleared[0].time

    # meanwhile the devices were in their own automatic mode: gensets auto, no limits
    sp = seen["setpoints"]
    assert set(sp.genset_mode.values()) == {"auto"}
    assert set(sp.pv_limit_pct.values()) == {100.0}
    for b in site.batteries:
        assert sp.battery_charge_limit_kw.get(b.name) in (None, b.charge_power_kw)
        assert sp.battery_discharge_limit_kw.get(b.name) in (None, b.discharge_power_kw)
    status = seen["status"]
    assert status["healthy"] is False and any("plan_expired" in r for r in status["reasons"])
    [alarm] = status["alarms"]
    assert (alarm["code"], alarm["device"], alarm["active"]) == ("plan_expired", "service", True)
    assert "min old" in alarm["message"] and status["plan"]["fresh"] is False

    # ... and afterwards a fresh plan drives it again: no active alarm, the status is healthy
    last_time, last = run.samples[-1]
    assert last_time > cleared[0].time and last["alarms"] == [] and last["plan"]["fresh"] is True
    assert last["healthy"] is True, last["reasons"]
    assert run.camp.totals["unserved_kwh"] == pytest.approx(0.0, abs=1e-6)


def test_plan_expiry_rules():
    site = load_site(EXAMPLE_SITE)
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    plan = make_planner(site, "load-following").plan(PlanInputs.regular(t0, 15, [300.0] * 8, [0.0] * 8),
                                                      PlanState.initial(site))  # 2 h
    assert plan_expiry(plan, t0, t0 + timedelta(minutes=59), 3600) is None
    assert "61 min old (at most 60 min" in plan_expiry(plan, t0, t0 + timedelta(minutes=61), 3600)
    assert "outside the plan" in plan_expiry(plan, t0, t0 + timedelta(hours=2), 3 * 3600)
    assert "outside the plan" in plan_expiry(plan, t0, t0 - timedelta(seconds=1), 3600)
