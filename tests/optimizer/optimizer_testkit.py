"""Hand-built sites and plan checks shared by the optimizer tests (no config file involved)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from microgrid.site import (
    Battery,
    Climate,
    Genset,
    Location,
    ModbusEndpoint,
    OptimizerSettings,
    ReserveRule,
    Site,
)
from optimizer.extract import soc_trajectory
from optimizer.plan import Plan, PlanState

EP = ModbusEndpoint(host="127.0.0.1", port=15000, unit_id=1, profile="dse_genset")
TOL = 1e-4


def genset(name="dg-1", rated_kw=200.0, min_load_pct=30.0, f0=0.08, f1=0.25, min_up_min=0.0,
           min_down_min=0.0, start_cost_l=0.0) -> Genset:
    return Genset(name=name, rated_kw=rated_kw, min_load_pct=min_load_pct, fuel_f0_l_per_kwh_rated=f0,
                  fuel_f1_l_per_kwh=f1, min_up_min=min_up_min, min_down_min=min_down_min,
                  start_cost_l=start_cost_l, tank_l=1000.0, modbus=EP)


def battery(name="bess-1", capacity_kwh=200.0, power_kw=100.0, soc_min_pct=10.0, soc_max_pct=90.0,
            eff_ch=1.0, eff_dis=1.0, wear=0.01, soc0=60.0) -> Battery:
    return Battery(name=name, capacity_kwh=capacity_kwh, charge_power_kw=power_kw, discharge_power_kw=power_kw,
                   soc_min_pct=soc_min_pct, soc_max_pct=soc_max_pct, charge_efficiency=eff_ch,
                   discharge_efficiency=eff_dis, wear_cost_l_per_kwh=wear, initial_soc_pct=soc0, modbus=EP)


def site(gensets=(), batteries=(), reserve=(0.0, 0.0), **opt) -> Site:
    settings = OptimizerSettings(horizon_h=48, step_min=15, fine_horizon_h=12, mip_rel_gap=1e-6,
                                 time_limit_s=30, terminal_soc_pct=None, shed_penalty_l_per_kwh=10,
                                 curtail_penalty_l_per_kwh=0.0, reserve_shortfall_penalty_l_per_kwh=2)
    return Site(name="test", mission="TEST", headcount=10, location=Location(9.5, 31.7, 390, "Africa/Juba"),
                emission_factor_kg_per_l=2.68, reserve=ReserveRule(*reserve), control_mode="dry_run",
                pv_arrays=(), batteries=tuple(batteries), gensets=tuple(gensets), load_meters=(),
                climate=Climate(0.8, 0.15, 30.0),
                optimizer=replace(settings, **opt))


def check_plan(s: Site, plan: Plan, state: PlanState, *, min_load: bool = True) -> None:
    """Assert the physics and accounting every plan must satisfy (any strategy)."""
    dt = plan.dt_h
    supply = plan.pv_used_kw + plan.genset_total_kw + plan.battery_total_kw + plan.unserved_kw
    np.testing.assert_allclose(supply, plan.load_kw, atol=TOL, err_msg="power balance")
    assert np.all(plan.pv_used_kw <= plan.pv_used_kw + plan.pv_curtailed_kw + TOL)
    assert np.all(plan.pv_curtailed_kw >= -TOL) and np.all(plan.unserved_kw >= -TOL)
    fuel = np.zeros(len(dt))
    headroom = np.zeros(len(dt))
    for g in s.gensets:
        on, kw = plan.genset_on[g.name], plan.genset_kw[g.name]
        assert set(np.unique(on)) <= {0.0, 1.0}
        assert np.all(kw <= g.rated_kw * on + TOL), f"{g.name} above rating or running while off"
        if min_load:
            assert np.all(kw >= g.min_kw * on - TOL), f"{g.name} below minimum load"
        fuel += np.array([g.fuel_rate_lph(p, o) for p, o in zip(kw, on)]) * dt
        headroom += g.rated_kw * on - kw
    np.testing.assert_allclose(fuel, plan.fuel_l, atol=TOL, err_msg="fuel from the site curve")
    for b in s.batteries:
        p = plan.battery_kw[b.name]
        assert np.all(p <= b.discharge_power_kw + TOL) and np.all(-p <= b.charge_power_kw + TOL)
        soc = soc_trajectory(b, state.soc_pct[b.name], p, dt)
        np.testing.assert_allclose(plan.soc_pct[b.name], soc, atol=TOL, err_msg="SOC with efficiencies")
        assert np.all(soc >= min(b.soc_min_pct, state.soc_pct[b.name]) - TOL)
        assert np.all(soc <= max(b.soc_max_pct, state.soc_pct[b.name]) + TOL)
        energy = (soc - b.soc_min_pct) / 100 * b.capacity_kwh * b.discharge_efficiency / dt
        headroom += np.maximum(0.0, np.minimum(b.discharge_power_kw - p, energy))
    need = s.reserve.load_pct / 100 * plan.load_kw + s.reserve.pv_pct / 100 * plan.pv_used_kw
    assert np.all(headroom + plan.reserve_shortfall_kw >= need - 1e-3), "reserve (or shortfall accounted)"


def check_min_up_down(s: Site, plan: Plan, state: PlanState) -> None:
    """Every run lasts at least min up time, every stop at least min down time (within the plan)."""
    start_h = np.concatenate([[0.0], np.cumsum(plan.dt_h)[:-1]])
    for g in s.gensets:
        on = plan.genset_on[g.name] > 0.5
        prev = bool(state.genset_on[g.name])
        since_h = -state.genset_state_min[g.name] / 60.0  # start of the current state
        for t in range(len(on)):
            if on[t] != prev:
                held_h = start_h[t] - since_h
                need_h = (g.min_up_min if prev else g.min_down_min) / 60.0
                assert held_h >= need_h - 1e-6, f"{g.name} changed state at step {t} after {held_h} h"
                prev, since_h = on[t], start_h[t]
