"""The guards between a plan's setpoints and the plant, and the control chain the service and the
backtest share."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from testkit import EXAMPLE_SITE

from microgrid.config import load_site
from microgrid.plant import CampState, Setpoints, dispatch_step
from microgrid.plant.battery import battery_limits_kw
from optimizer.guards import (
    Measured,
    control_setpoints,
    guard_empty_battery,
    guard_full_battery,
    guard_pv_room,
    guard_reserve,
)
from optimizer.plan import PlanInputs, PlanState
from optimizer.planner import plan as make_plan
from optimizer.setpoints import SOC_FULL_TOL_PCT, setpoints_for_step, step_at


# --- the empty-battery guard -------------------------------------------------------------------
def _all_stopped(site):
    return Setpoints.default(site).with_(genset_mode={g.name: "stop" for g in site.gensets})


def test_guard_starts_the_smallest_covering_genset_when_the_battery_cannot_carry_the_load():
    site = load_site(EXAMPLE_SITE)
    sp = _all_stopped(site)
    # 1000 kWh, min 15 %: at 20 % there are 50 kWh × 0.96 = 48 kWh; 240 kW for 15 min needs 60
    out = guard_empty_battery(site, sp, {"bess-1": 20.0}, net_load_kw=240.0)
    assert out.mode("dg-3") == "run" and out.genset_kw["dg-3"] is None   # 250 kW covers 240
    assert out.mode("dg-1") == "stop" and out.mode("dg-2") == "stop"
    # 300 kW: the 250 kW unit does not cover it, a 400 kW one does
    assert guard_empty_battery(site, sp, {"bess-1": 20.0}, 300.0).mode("dg-1") == "run"


def test_guard_leaves_the_plan_alone_when_the_battery_can_or_a_genset_runs():
    site = load_site(EXAMPLE_SITE)
    sp = _all_stopped(site)
    assert guard_empty_battery(site, sp, {"bess-1": 30.0}, 240.0) == sp    # 144 kWh ≥ 60
    assert guard_empty_battery(site, sp, {"bess-1": 15.0}, -50.0) == sp    # PV surplus
    running = sp.with_(genset_mode={"dg-1": "run"})
    assert guard_empty_battery(site, running, {"bess-1": 15.0}, 240.0) == running


def test_guard_releases_base_loads_and_adds_a_unit_when_the_running_ones_fall_short():
    site = load_site(EXAMPLE_SITE)
    sp = _all_stopped(site).with_(genset_mode={"dg-2": "run"}, genset_kw={"dg-2": 390.0})
    # battery at its minimum, 427 kW net load, dg-2 held at 390 kW: it shares up to 400 kW,
    # and the 27 kW still short start the smallest covering unit, dg-3
    out = guard_empty_battery(site, sp, {"bess-1": 15.0}, 427.0)
    assert out.mode("dg-2") == "run" and out.genset_kw["dg-2"] is None
    assert out.mode("dg-3") == "run" and out.mode("dg-1") == "stop"
    # 395 kW: releasing dg-2's base load is enough, no start
    out = guard_empty_battery(site, sp, {"bess-1": 15.0}, 395.0)
    assert out.genset_kw["dg-2"] is None and out.mode("dg-3") == "stop"
    # a battery that can carry the 37 kW above the base load for 15 min: the plan stands
    assert guard_empty_battery(site, sp, {"bess-1": 20.0}, 427.0) == sp


def test_reserve_guard_starts_a_unit_only_when_the_rule_is_not_held():
    site = load_site(EXAMPLE_SITE)
    sp = _all_stopped(site)
    # battery empty (15 %), 300 kW load, no PV: need 30 kW, hold -300 kW -> 330 short: a 400 kW unit
    assert guard_reserve(site, sp, {"bess-1": 15.0}, 300.0, 0.0).mode("dg-1") == "run"
    # at 60 % the battery can give its 500 kW: 500 - 300 = 200 kW held >= 30 kW
    assert guard_reserve(site, sp, {"bess-1": 60.0}, 300.0, 0.0) == sp
    # dg-3 runs, 15.5 % = 5 kWh × 0.96 over 15 min = 19.2 kW; load 500, PV 400:
    # held 250 + 19.2 - 100 = 169.2 >= need 50 + 100 = 150 -> no start
    dg3 = sp.with_(genset_mode={"dg-3": "run"})
    assert guard_reserve(site, dg3, {"bess-1": 15.5}, 500.0, 400.0) == dg3
    # load 600: held 69.2 < need 160 -> 90.8 kW short, the smallest covering stopped unit starts
    out = guard_reserve(site, dg3, {"bess-1": 15.5}, 600.0, 400.0)
    assert out.mode("dg-1") == "run" and out.mode("dg-2") == "stop" and out.mode("dg-3") == "run"
    # a battery discharge limit set by the plan counts: capped at 0 kW the reserve is short
    capped = sp.with_(battery_discharge_limit_kw={"bess-1": 0.0})
    assert guard_reserve(site, capped, {"bess-1": 60.0}, 300.0, 0.0) != capped
    # nothing measured: nothing to judge by
    assert guard_reserve(site, sp, {"bess-1": 15.0}, math.nan, 0.0) == sp


# --- the chain ------------------------------------------------------------------------------------
def _rule_plan(site):
    t0 = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)
    inputs = PlanInputs.regular(t0, 15, [300.0] * 4, [0.0] * 4)
    return make_plan(site, inputs, PlanState.initial(site, soc_pct=20.0), "load-following")


def test_full_battery_guard_releases_base_loads_only_while_a_battery_is_full():
    site = load_site(EXAMPLE_SITE)
    sp = _all_stopped(site).with_(genset_mode={"dg-1": "run", "dg-3": "run"},
                                  genset_kw={"dg-1": 300.0, "dg-3": None})
    # SOC max 95 %: at 94.5 % (within SOC_FULL_TOL_PCT) the battery is full; dg-1 drops its
    # 300 kW base load and shares the net load, dg-3 already shares, the stopped units stay stopped
    out = guard_full_battery(site, sp, {"bess-1": 95.0 - SOC_FULL_TOL_PCT})
    assert out.genset_kw == {"dg-1": None, "dg-2": None, "dg-3": None}
    assert out.genset_mode == sp.genset_mode
    # below it, or with no measured SOC, the plan's base loads stand
    assert guard_full_battery(site, sp, {"bess-1": 94.0}) == sp
    assert guard_full_battery(site, sp, {}) == sp


def test_full_battery_guard_hands_running_units_to_auto_while_the_pv_covers_the_load():
    site = load_site(EXAMPLE_SITE)
    sp = _all_stopped(site).with_(genset_mode={"dg-1": "run", "dg-3": "run"},
                                  genset_kw={"dg-1": 300.0, "dg-3": None})
    full = {"bess-1": 95.0}
    # PV 20 kW above the load: both running units back to auto, no base load; stopped ones stay
    out = guard_full_battery(site, sp, full, net_load_kw=-20.0)
    assert out.genset_mode == {"dg-1": "auto", "dg-2": "stop", "dg-3": "auto"}
    assert out.genset_kw == {"dg-1": None, "dg-2": None, "dg-3": None}
    # the load above the PV, an unknown net load, or room in the battery: the commitment stands
    for soc, net in ((full, 5.0), (full, math.nan), ({"bess-1": 90.0}, -20.0)):
        assert guard_full_battery(site, sp, soc, net_load_kw=net).genset_mode == sp.genset_mode


def test_chain_stops_a_unit_at_minimum_load_that_would_push_pv_off():
    """Battery full, PV above the load, a planned unit past its minimum run time: the guard hands it
    to auto and the plant's auto logic stops it, so only the PV the load cannot take is curtailed;
    a unit still inside its minimum run time keeps running (its controller's timer)."""
    site = load_site(EXAMPLE_SITE)
    plan = _rule_plan(site)
    index = step_at(plan, plan.time[1])
    planned = setpoints_for_step(site, plan, index)
    running = [g.name for g in site.gensets if planned.mode(g.name) == "run"]
    assert running
    got = control_setpoints(site, plan, index, Measured({"bess-1": 95.0}, 300.0, 360.0), 0.25)
    assert all(got.mode(g) == "auto" for g in running)
    camp = CampState.initial(site)
    pv = {a.name: 360.0 * a.kwp / sum(b.kwp for b in site.pv_arrays) for a in site.pv_arrays}
    on_long = {g.name: g.name in running for g in site.gensets}
    for age, expect_on in ((max(g.min_up_min for g in site.gensets) + 1.0, False), (0.0, True)):
        state = replace(camp, soc_pct={"bess-1": 95.0}, genset_running=on_long,
                        genset_state_min={g.name: age for g in site.gensets})
        _, res = dispatch_step(site, state, 300.0, pv, got, 0.25)
        assert any(res.genset_on.values()) is expect_on
        if not expect_on:
            assert res.pv_curtailed_kw == pytest.approx(60.0, abs=1e-6)
            assert sum(res.fuel_l.values()) == 0.0


def test_chain_releases_base_loads_when_the_battery_is_full():
    site = load_site(EXAMPLE_SITE)
    plan = _rule_plan(site)
    index = step_at(plan, plan.time[1])
    planned = setpoints_for_step(site, plan, index)
    running = [g.name for g in site.gensets if planned.mode(g.name) == "run"]
    assert running and all(planned.genset_kw[g] is not None for g in running)  # base loads planned
    # PV above the load, battery full: the running units share the net load, none stops or starts
    got = control_setpoints(site, plan, index, Measured({"bess-1": 95.0}, 300.0, 250.0), 0.25)
    assert got.genset_mode == planned.genset_mode
    assert all(got.genset_kw[g] is None for g in running)
    # the same camp with room in the battery: the plan's base loads stand
    assert control_setpoints(site, plan, index, Measured({"bess-1": 60.0}, 300.0, 250.0), 0.25) == planned


def test_pv_room_guard_lowers_base_loads_to_what_the_battery_can_take():
    site = load_site(EXAMPLE_SITE)
    bess = site.batteries[0]
    sp = _all_stopped(site).with_(genset_mode={"dg-1": "run", "dg-2": "run"},
                                  genset_kw={"dg-1": 300.0, "dg-2": 200.0})
    # load 300 kW, PV 250 kW: 50 kW net load; at 90 % the battery takes at most the room to 95 %
    # over 15 min: the base loads (500 kW) come down together by the excess
    room_kw = battery_limits_kw(bess, 90.0, 0.25)[0]
    out = guard_pv_room(site, sp, {"bess-1": 90.0}, 50.0, look_ahead_h=0.25)
    assert out.genset_mode == sp.genset_mode
    assert sum(out.genset_kw[g] for g in ("dg-1", "dg-2")) == pytest.approx(50.0 + room_kw)
    assert out.genset_kw["dg-1"] / out.genset_kw["dg-2"] == pytest.approx(1.5)
    # PV above the load (net -30 kW) fills the same room first
    out = guard_pv_room(site, sp, {"bess-1": 90.0}, -30.0, look_ahead_h=0.25)
    assert sum(out.genset_kw[g] for g in ("dg-1", "dg-2")) == pytest.approx(room_kw - 30.0)
    # a charge limit set by the plan counts as the battery's room
    capped = guard_pv_room(site, sp.with_(battery_charge_limit_kw={"bess-1": 100.0}), {"bess-1": 50.0}, 50.0)
    assert sum(capped.genset_kw[g] for g in ("dg-1", "dg-2")) == pytest.approx(150.0)
    # room enough, sharing units only, or nothing measured: unchanged
    assert guard_pv_room(site, sp, {"bess-1": 40.0}, 50.0) == sp
    sharing = sp.with_(genset_kw={"dg-1": None, "dg-2": None})
    assert guard_pv_room(site, sharing, {"bess-1": 90.0}, 50.0) == sharing
    assert guard_pv_room(site, sp, {"bess-1": 90.0}, math.nan) == sp


def test_chain_applies_the_mapping_then_both_guards():
    site = load_site(EXAMPLE_SITE)
    plan = _rule_plan(site)
    index = step_at(plan, plan.time[1])
    # nothing measured: the plan step's setpoints as they are
    assert control_setpoints(site, plan, index, None, 0.25) == setpoints_for_step(site, plan, index)
    # a nearly empty battery under a higher load than planned: the guards start a unit
    stopped = Setpoints.default(site).with_(genset_mode={g.name: "stop" for g in site.gensets})
    expected = guard_reserve(site, guard_empty_battery(site, setpoints_for_step(site, plan, index),
                                                       {"bess-1": 15.0}, 600.0, 0.25),
                             {"bess-1": 15.0}, 600.0, 0.0, 0.25)
    got = control_setpoints(site, plan, index, Measured({"bess-1": 15.0}, 600.0, 0.0), 0.25)
    assert got == expected and got != stopped
    assert sum(got.mode(g.name) == "run" for g in site.gensets) >= 2


def test_outside_the_plan_every_device_is_in_its_own_safe_mode():
    site = load_site(EXAMPLE_SITE)
    plan = _rule_plan(site)
    after = plan.time[-1] + timedelta(hours=1)
    assert step_at(plan, after) is None
    got = control_setpoints(site, plan, None, Measured({"bess-1": 15.0}, 600.0, 0.0), 0.25)
    assert got == Setpoints.default(site)
    assert all(got.mode(g.name) == "auto" for g in site.gensets)
    assert np.isfinite(plan.total_fuel_l) and math.isfinite(plan.objective_l)
