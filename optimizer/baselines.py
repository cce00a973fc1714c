"""HOMER's rule-based dispatch strategies, step by step: load following and cycle charging.

Each step: PV first; the battery serves the net load when it can also hold the operating
reserve (above its SOC guard); otherwise the least-fuel set of free gensets whose rating covers
the net load (and, with the battery's available discharge, the reserve) runs. Load following:
gensets make only what the load needs (at least their minimum load; a surplus charges the
battery or curtails PV). Cycle charging: running gensets run flat out, the surplus charging the
battery, and keep running until the battery reaches the setpoint SOC. Min up time is always
respected; min down time too, unless a start is the only way to serve the load.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from microgrid.plant.battery import battery_flows_kw, battery_limits_kw, battery_reserve_kw, soc_step_pct
from microgrid.plant.gensets import genset_headroom_kw, least_fuel_units, share_by_rating
from microgrid.plant.reserve import reserve_required_kw, reserve_shortfall_kw
from microgrid.site import Site
from optimizer.costs import plan_objective_l
from optimizer.plan import Plan, PlanInputs, PlanState, PlanStatus


@dataclass(frozen=True)
class RuleOptions:
    """Knobs of the rule-based strategies.

    Attributes
    ----------
    cycle_charging : bool
        Cycle charging instead of load following.
    setpoint_soc_pct : float
        Cycle charging: charge until this SOC once the gensets run. [%]
    soc_guard_pct : float or None
        The battery does not discharge below this SOC (None = each battery's ``soc_min_pct``). [%]
    """

    cycle_charging: bool = False
    setpoint_soc_pct: float = 80.0
    soc_guard_pct: float | None = None


def rule_plan(site: Site, inputs: PlanInputs, state: PlanState, options: RuleOptions, strategy: str,
              status: PlanStatus = "feasible", reason: str = "") -> Plan:
    """Simulate the rule step by step over ``inputs`` and return the plan."""
    n = len(inputs)
    on = {g.name: bool(state.genset_on[g.name]) for g in site.gensets}
    age_min = {g.name: float(state.genset_state_min[g.name]) for g in site.gensets}
    soc = {b.name: float(state.soc_pct[b.name]) for b in site.batteries}
    out = {k: np.zeros(n) for k in ("pv", "unserved", "short", "fuel")}
    g_on = {g.name: np.zeros(n) for g in site.gensets}
    g_kw = {g.name: np.zeros(n) for g in site.gensets}
    b_kw = {b.name: np.zeros(n) for b in site.batteries}
    b_soc = {b.name: np.zeros(n) for b in site.batteries}
    for t in range(n):
        dt, load, pv = float(inputs.dt_h[t]), float(inputs.load_kw[t]), float(inputs.pv_available_kw[t])
        gen = _step_gensets(site, options, on, age_min, soc, dt, load, pv)
        bat, pv_used, unserved = _step_battery(site, soc, dt, load - sum(gen.values()), pv)
        excess = sum(gen.values()) + pv_used + sum(bat.values()) + unserved - load
        if excess > 1e-9:  # gensets at min load, battery full, no PV left to curtail: follow the load
            gen = {k: v * (1 - excess / sum(gen.values())) for k, v in gen.items()}
        for g in site.gensets:
            now_on = g.name in gen
            age_min[g.name] = age_min[g.name] + dt * 60 if now_on == on[g.name] else dt * 60
            on[g.name] = now_on
            g_on[g.name][t], g_kw[g.name][t] = float(now_on), gen.get(g.name, 0.0)
            out["fuel"][t] += g.fuel_rate_lph(g_kw[g.name][t], now_on) * dt
        headroom = sum(genset_headroom_kw(g, gen[g.name]) for g in site.gensets if g.name in gen)
        for b in site.batteries:
            p = bat[b.name]
            soc[b.name] = soc_step_pct(b, soc[b.name], p, dt)
            b_kw[b.name][t], b_soc[b.name][t] = p, soc[b.name]
            headroom += battery_reserve_kw(b, soc[b.name], p, dt)
        out["pv"][t], out["unserved"][t] = pv_used, unserved
        out["short"][t] = reserve_shortfall_kw(site.reserve, load, pv_used, headroom)
    plan = Plan(time=inputs.time, dt_h=inputs.dt_h, load_kw=inputs.load_kw, pv_used_kw=out["pv"],
                pv_curtailed_kw=inputs.pv_available_kw - out["pv"], battery_kw=b_kw, soc_pct=b_soc,
                genset_on=g_on, genset_kw=g_kw, fuel_l=out["fuel"], unserved_kw=out["unserved"],
                reserve_shortfall_kw=out["short"], status=status, strategy=strategy, reason=reason,
                gap_pct=math.nan, solve_s=0.0)
    plan.objective_l = plan_objective_l(site, plan, state)
    return plan


def _step_gensets(site: Site, options: RuleOptions, on: dict, age_min: dict, soc: dict,
                  dt: float, load: float, pv: float) -> dict[str, float]:
    """Which gensets run this step and at what power. [kW]"""
    forced = [g for g in site.gensets if on[g.name] and age_min[g.name] < g.min_up_min - 1e-9]
    blocked = [g for g in site.gensets if not on[g.name] and age_min[g.name] < g.min_down_min - 1e-9]
    free = [g for g in site.gensets if g not in forced and g not in blocked]
    dis_max = ch_max = ch_set = 0.0
    for b in site.batteries:
        guard = b.soc_min_pct if options.soc_guard_pct is None else max(b.soc_min_pct, options.soc_guard_pct)
        c, d = battery_limits_kw(b, soc[b.name], dt, floor_pct=guard)
        dis_max, ch_max = dis_max + d, ch_max + c
        ch_set += battery_limits_kw(b, soc[b.name], dt, floor_pct=guard,
                                    ceil_pct=min(options.setpoint_soc_pct, b.soc_max_pct))[0]
    net = load - pv
    reserve = reserve_required_kw(site.reserve, load, min(pv, load + ch_max))
    cycling = options.cycle_charging and any(on.values()) and ch_set > 1e-6
    if net + reserve <= dis_max + 1e-9 and not cycling:
        units = forced
    else:
        need = max(net, net + reserve - dis_max)
        keep = [g for g in free if on[g.name]] if cycling else []
        units = least_fuel_units([g for g in free if g not in keep], forced + keep, need, max(net, 0.0))
        if sum(g.rated_kw for g in units) < net - dis_max - 1e-9:  # emergency: ignore min down time
            units = least_fuel_units(free + blocked, forced, need, max(net, 0.0))
    if not units:
        return {}
    target = max(net, 0.0) + (ch_set if options.cycle_charging else 0.0)
    if not options.cycle_charging and net > sum(g.rated_kw for g in units):
        target = net
    return share_by_rating(units, target)


def _step_battery(site: Site, soc: dict, dt: float, residual_kw: float, pv: float
                  ) -> tuple[dict[str, float], float, float]:
    """Battery power per unit (+ discharge), PV used and unserved load for the residual after gensets.

    ``residual_kw`` = load − genset output; PV covers it first, then the batteries.
    """
    limits = {b.name: battery_limits_kw(b, soc[b.name], dt) for b in site.batteries}
    need = residual_kw - pv
    out = battery_flows_kw(site.batteries, limits, need)
    if need >= 0:
        return out, pv, max(0.0, need - sum(d for _, d in limits.values()))
    surplus, room = -need, sum(c for c, _ in limits.values())
    return out, max(0.0, pv - max(0.0, surplus - room)), 0.0
