"""Tiny dispatch cases whose optimal objective is checked by hand."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from optimizer_testkit import battery, check_plan, genset, site

from optimizer.grid import coarsen, planning_grid
from optimizer.model import MilpOptions
from optimizer.plan import PlanInputs, PlanState
from optimizer.planner import MilpPlanner, plan

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _state(s, soc=None, on=False, minutes=math.inf):
    return PlanState({b.name: soc if soc is not None else b.initial_soc_pct for b in s.batteries},
                     {g.name: on for g in s.gensets}, {g.name: minutes for g in s.gensets})


def test_one_genset_one_hour_burns_the_curve():
    # F = F0·Prated + F1·P = 0.08·200 + 0.25·100 = 41 L over one hour
    s = site(gensets=[genset()])
    p = plan(s, PlanInputs.regular(T0, 60, [100.0], [0.0]), _state(s, on=True))
    assert p.status == "optimal"
    assert p.objective_l == pytest.approx(41.0, abs=1e-6)
    assert p.total_fuel_l == pytest.approx(41.0, abs=1e-6)
    assert p.genset_kw["dg-1"][0] == pytest.approx(100.0)


def test_same_hour_in_four_quarter_steps_with_a_start_cost():
    # 4 × 15 min at 100 kW = 41 L, plus one start (unit off before) at 2 L
    s = site(gensets=[genset(start_cost_l=2.0, min_up_min=60)])
    p = plan(s, PlanInputs.regular(T0, 15, [100.0] * 4, [0.0] * 4), _state(s))
    assert p.objective_l == pytest.approx(43.0, abs=1e-6)
    assert p.fuel_l == pytest.approx([10.25] * 4)
    assert p.genset_on["dg-1"].tolist() == [1, 1, 1, 1]


def test_battery_cheaper_than_genset_discharges():
    # genset would burn ≥ 0.08·200 + 0.25·50 = 28.5 L; the battery serves 50 kWh for 0.01 L/kWh wear = 0.5 L.
    # Discharge efficiency 0.9: storage gives 50/0.9 kWh = 27.78 % of 200 kWh; terminal SOC set to 20 %.
    s = site(gensets=[genset()], batteries=[battery(eff_dis=0.9)], terminal_soc_pct=20.0)
    st = _state(s, soc=60.0)
    p = plan(s, PlanInputs.regular(T0, 30, [50.0, 50.0], [0.0, 0.0]), st)
    assert p.objective_l == pytest.approx(0.5, abs=1e-6)
    assert p.total_fuel_l == 0.0
    assert p.battery_kw["bess-1"] == pytest.approx([50.0, 50.0])
    assert p.soc_pct["bess-1"][-1] == pytest.approx(60.0 - 100 * 50 / 0.9 / 200)
    check_plan(s, p, st)


def test_stored_energy_left_at_the_end_is_worth_the_marginal_fuel():
    # One hour at 100 kW, the genset running. Each stored kWh is worth F1 / charge efficiency
    # = 0.25 / 0.95 L: discharging 1 kWh (1/0.95 stored, 0.277 L) to save 0.25 L of fuel does not
    # pay, nor charging (0.25 L + wear for 0.95 kWh stored worth 0.25 L). So the genset serves the
    # load: 0.08·200 + 0.25·100 = 41 L, and the objective adds the worth of the room left at the
    # end (SOC 50 % of 90 %: 80 kWh · 0.25 / 0.95 = 21.05 L).
    s = site(gensets=[genset()], batteries=[battery(eff_ch=0.95, eff_dis=0.95)])
    st = _state(s, soc=50.0, on=True)
    p = plan(s, PlanInputs.regular(T0, 60, [100.0], [0.0]), st)
    assert p.total_fuel_l == pytest.approx(41.0, abs=1e-6)
    assert p.objective_l == pytest.approx(41.0 + 80.0 * 0.25 / 0.95, abs=1e-6)
    assert p.soc_pct["bess-1"][0] == pytest.approx(50.0)


def test_start_soc_end_makes_genset_recharge():
    # horizon_end = "start_soc": the end SOC must be the start SOC. The genset serves the load (41 L)
    # rather than the battery, which the same genset would have to refill, with losses and wear.
    s = site(gensets=[genset()], batteries=[battery(eff_ch=0.95, eff_dis=0.95)], horizon_end="start_soc")
    st = _state(s, soc=50.0, on=True)
    p = plan(s, PlanInputs.regular(T0, 60, [100.0], [0.0]), st)
    assert p.objective_l == pytest.approx(41.0, abs=1e-6)
    assert p.soc_pct["bess-1"][0] == pytest.approx(50.0)


@pytest.mark.parametrize("horizon_end", ["value", "start_soc"])
def test_surplus_pv_is_stored_when_stored_energy_is_worth_something(horizon_end):
    # 150 kW PV, 100 kW load for 1 h, genset off, no curtailment penalty. Storing the 50 kW surplus
    # keeps 47.5 kWh (charge efficiency 0.95) worth 47.5 · 0.25 / 0.95 = 12.5 L, for 0.5 L of wear:
    # with the end valued it is stored (objective: wear + the room left, (180 − 147.5) kWh · 0.25 /
    # 0.95 L). With the start-SOC rule the stored energy is worth nothing and wear makes
    # curtailing cheaper (objective 0).
    s = site(gensets=[genset()], batteries=[battery(eff_ch=0.95, eff_dis=0.95)], horizon_end=horizon_end)
    p = plan(s, PlanInputs.regular(T0, 60, [100.0], [150.0]), _state(s, soc=50.0))
    check_plan(s, p, _state(s, soc=50.0))
    if horizon_end == "value":
        assert p.battery_kw["bess-1"][0] == pytest.approx(-50.0) and p.pv_curtailed_kw[0] == pytest.approx(0.0)
        assert p.objective_l == pytest.approx(0.5 + (180.0 - 147.5) * 0.25 / 0.95, abs=1e-6)
    else:
        assert p.battery_kw["bess-1"][0] == pytest.approx(0.0) and p.pv_curtailed_kw[0] == pytest.approx(50.0)
        assert p.objective_l == pytest.approx(0.0, abs=1e-6)


def test_surplus_pv_is_curtailed_with_its_penalty():
    # 150 kW PV, 100 kW load, no storage: 50 kW curtailed for 1 h at 0.001 L/kWh = 0.05 L
    s = site(gensets=[genset()], curtail_penalty_l_per_kwh=0.001)
    p = plan(s, PlanInputs.regular(T0, 60, [100.0], [150.0]), _state(s))
    assert p.objective_l == pytest.approx(0.05, abs=1e-9)
    assert p.pv_curtailed_kw[0] == pytest.approx(50.0) and p.genset_on["dg-1"][0] == 0


def test_reserve_shortfall_is_penalised_when_nothing_can_hold_it():
    # PV alone covers 100 kW of load, but the reserve is 25 % of PV. Genset off: shortfall 25 kW for
    # 1 h at 2 L/kWh = 50 L. Genset on at its 60 kW minimum with 40 kW of PV (60 curtailed):
    # fuel 0.08·200 + 0.25·60 = 31 L, headroom 140 kW ≥ 10 kW. 31 L < 50 L: it runs.
    s = site(gensets=[genset()], reserve=(0.0, 25.0))
    p = plan(s, PlanInputs.regular(T0, 60, [100.0], [100.0]), _state(s))
    assert p.objective_l == pytest.approx(31.0, abs=1e-6)
    assert p.genset_kw["dg-1"][0] == pytest.approx(60.0)
    check_plan(s, p, _state(s))


def test_load_shed_only_as_last_resort():
    # 250 kW load, one 200 kW genset: 50 kW unserved at 10 L/kWh = 500 L, fuel 0.08·200 + 0.25·200 = 66 L
    s = site(gensets=[genset()])
    p = plan(s, PlanInputs.regular(T0, 60, [250.0], [0.0]), _state(s, on=True))
    assert p.objective_l == pytest.approx(566.0, abs=1e-6)
    assert p.unserved_kw[0] == pytest.approx(50.0)


def test_min_down_time_carried_in_from_the_initial_state():
    # Genset stopped 15 min ago with 30 min min down time: it cannot run in the first 15-min step,
    # so the first step's 100 kW is shed (10 L/kWh · 25 kWh = 250 L) and the second burns 10.25 L.
    s = site(gensets=[genset(min_down_min=30)])
    p = plan(s, PlanInputs.regular(T0, 15, [100.0, 100.0], [0.0, 0.0]), _state(s, on=False, minutes=15))
    assert p.genset_on["dg-1"].tolist() == [0, 1]
    assert p.objective_l == pytest.approx(250.0 + 10.25, abs=1e-6)


def test_coarsen_keeps_energy_and_makes_hourly_blocks():
    inp = PlanInputs.regular(T0, 15, np.arange(16.0), np.zeros(16))
    g = coarsen(inp, fine_horizon_h=2.0)
    assert g.dt_h.tolist() == [0.25] * 8 + [1.0, 1.0]
    assert g.load_kw[8:].tolist() == [9.5, 13.5]
    assert np.dot(g.load_kw, g.dt_h) == pytest.approx(np.dot(inp.load_kw, inp.dt_h))


def test_coarse_blocks_are_clock_aligned():
    # starting 00:30 with a 1 h fine part: fine up to the next whole hour after 01:30 (02:00),
    # then whole-hour blocks; the last block (03:00-03:30) is short
    inp = PlanInputs.regular(T0 + timedelta(minutes=30), 15, np.arange(12.0), np.zeros(12))
    g = coarsen(inp, fine_horizon_h=1.0)
    assert [t.strftime("%H:%M") for t in g.time] == [
        "00:30", "00:45", "01:00", "01:15", "01:30", "01:45", "02:00", "03:00"]
    assert g.dt_h.tolist() == [0.25] * 6 + [1.0, 0.5]
    assert g.load_kw[6:].tolist() == [7.5, 10.5]


def test_planning_grid_adds_two_hour_blocks_after_the_hourly_part():
    # 24 h of 15-min steps from 01:00: 15 min up to 03:00, hourly up to the first even hour at or
    # after 09:00 (10:00), then 2-h blocks on even hours (the last, 00:00-01:00, is short)
    inp = PlanInputs.regular(T0 + timedelta(hours=1), 15, np.arange(96.0), np.zeros(96))
    g = planning_grid(inp, fine_horizon_h=2.0, hourly_horizon_h=8.0)
    assert g.dt_h.tolist() == [0.25] * 8 + [1.0] * 7 + [2.0] * 7 + [1.0]
    assert [t.hour for t in g.time[15:]] == [10, 12, 14, 16, 18, 20, 22, 0]
    assert np.dot(g.load_kw, g.dt_h) == pytest.approx(np.dot(inp.load_kw, inp.dt_h))
    # one hour later the 2-h blocks keep their clock alignment: a different shape
    later = planning_grid(PlanInputs.regular(T0 + timedelta(hours=2), 15, np.arange(96.0), np.zeros(96)),
                          fine_horizon_h=2.0, hourly_horizon_h=8.0)
    assert later.dt_h.tolist() == [0.25] * 8 + [1.0] * 6 + [2.0] * 8
    assert planning_grid(inp, 2.0).dt_h.tolist() == coarsen(inp, 2.0).dt_h.tolist()


def test_variable_step_lengths_account_energy_per_step():
    # from 00:30, fine part of 0.5 h: 2 × 15 min, then the 01:00-02:00 block, all at 100 kW:
    # fuel = 41 L/h · (0.25 + 0.25 + 1) h = 61.5 L
    s = site(gensets=[genset()], fine_horizon_h=0.5)
    p = plan(s, PlanInputs.regular(T0 + timedelta(minutes=30), 15, [100.0] * 6, [0.0] * 6), _state(s, on=True))
    assert p.dt_h.tolist() == [0.25, 0.25, 1.0]
    assert p.total_fuel_l == pytest.approx(61.5)


def test_identical_gensets_symmetry_broken_and_planner_reused():
    s = site(gensets=[genset("dg-1", start_cost_l=1.0), genset("dg-2", start_cost_l=1.0)])
    planner = MilpPlanner(s, MilpOptions())
    st = _state(s)
    inp = PlanInputs.regular(T0, 60, [100.0, 300.0], [0.0, 0.0])
    p = planner.plan(inp, st)
    # one unit for 100 kW (41 L + start), two for 300 kW (2·16 + 0.25·300 = 107 L + one more start)
    assert p.objective_l == pytest.approx(41 + 107 + 2, abs=1e-6)
    assert p.genset_on["dg-1"].tolist() == [1, 1]  # the first identical unit is the one that runs
    p2 = planner.plan(PlanInputs.regular(T0, 60, [300.0, 100.0], [0.0, 0.0]), st)
    assert planner.builds == 1
    # two units for 300 kW then one stops: 107 + 41 + 2 starts
    assert p2.objective_l == pytest.approx(107 + 41 + 2, abs=1e-6)


def test_planner_loads_its_model_into_a_fresh_solver_every_solver_refresh_solves(monkeypatch):
    import optimizer.planner as planner_module
    monkeypatch.setattr(planner_module, "SOLVER_REFRESH", 2)
    s = site(gensets=[genset("dg-1", start_cost_l=1.0), genset("dg-2", start_cost_l=1.0)])
    planner = MilpPlanner(s, MilpOptions())
    st = _state(s)
    inp = PlanInputs.regular(T0, 60, [100.0, 300.0], [0.0, 0.0])
    first = planner.plan(inp, st)
    solver = planner._solver
    assert planner.plan(inp, st).objective_l == pytest.approx(first.objective_l, abs=1e-6)
    assert planner._solver is solver                       # second solve: same instance
    third = planner.plan(inp, st)
    assert planner._solver is not solver and planner.builds == 1   # same model, new instance
    assert third.objective_l == pytest.approx(41 + 107 + 2, abs=1e-6) and third.status == "optimal"


def test_unit_held_on_with_nowhere_to_put_its_output_stays_physical():
    # dg-1 just started (min up 60 min), no load, battery 1 % below full: 60 kW minimum load has no
    # sink. Whether the solver dumps it by cycling the battery or runs the unit below its minimum
    # (penalised), the plan keeps the balance and the SOC window, the unit following the load.
    s = site(gensets=[genset(min_up_min=60)], batteries=[battery(soc_max_pct=90, eff_ch=0.95, eff_dis=0.95)])
    st = _state(s, soc=89.0, on=True, minutes=0.0)
    p = plan(s, PlanInputs.regular(T0, 15, [0.0, 0.0], [0.0, 0.0]), st)
    check_plan(s, p, st, min_load=False)
    assert p.genset_on["dg-1"].tolist() == [1, 1]
    assert p.soc_pct["bess-1"].max() <= 90.0 + 1e-9
    assert p.extra["below_min_steps"] >= 1
