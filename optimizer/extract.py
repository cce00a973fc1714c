"""Turn a solved model into a :class:`~optimizer.plan.Plan`, with post-solve checks.

Fuel is recomputed from the extracted genset states with ``Genset.fuel_rate_lph`` (the site's
curve, the same the virtual camp burns by). The battery has no mode binary, so charge and
discharge in the same step are checked; where both exceed the tolerance they are netted and the
SOC trajectory recomputed (and the plan's ``reason`` says so).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pyomo.environ as pyo

from microgrid.plant.battery import battery_limits_kw
from microgrid.site import Battery, Site
from optimizer.plan import Plan, PlanInputs, PlanState
from optimizer.solve import SolveResult

SIMULTANEOUS_TOL_KW = 1e-3


def _values(var: Any, keys: Iterable[Any]) -> np.ndarray:
    return np.array([pyo.value(var[k]) or 0.0 for k in keys], dtype=float)


def extract_plan(m: pyo.ConcreteModel, site: Site, inputs: PlanInputs, state: PlanState,
                 result: SolveResult, strategy: str = "milp") -> Plan:
    """Read the solution loaded in ``m`` into a Plan (``inputs`` on the model's grid)."""
    T = list(m.T)
    on = {g.name: np.round(_values(m.genset_on, [(g.name, t) for t in T])) for g in site.gensets}
    kw = {g.name: np.clip(_values(m.genset_kw, [(g.name, t) for t in T]), 0.0, g.rated_kw) * on[g.name]
          for g in site.gensets}
    pv_used = np.clip(_values(m.pv_used_kw, T), 0.0, inputs.pv_available_kw)
    ch = {b.name: np.clip(_values(m.battery_charge_kw, [(b.name, t) for t in T]), 0.0, None)
          for b in site.batteries}
    dis = {b.name: np.clip(_values(m.battery_discharge_kw, [(b.name, t) for t in T]), 0.0, None)
           for b in site.batteries}
    simultaneous = int(sum(np.sum(np.minimum(ch[b], dis[b]) > SIMULTANEOUS_TOL_KW) for b in ch))
    battery_kw, soc_pct = repair_battery(site, state, inputs.dt_h, ch, dis, pv_used, kw)
    fuel = sum((np.array([g.fuel_rate_lph(kw[g.name][t], on[g.name][t]) for t in T]) * inputs.dt_h
                for g in site.gensets), np.zeros(len(T)))
    below = int(sum(np.sum(kw[g.name] < g.min_kw * on[g.name] - 1e-6) for g in site.gensets))
    reason = (f"simultaneous charge/discharge in {simultaneous} step(s) netted (plan repaired)"
              if simultaneous else "")
    return Plan(time=inputs.time, dt_h=inputs.dt_h, load_kw=inputs.load_kw, pv_used_kw=pv_used,
                pv_curtailed_kw=inputs.pv_available_kw - pv_used, battery_kw=battery_kw, soc_pct=soc_pct,
                genset_on=on, genset_kw=kw, fuel_l=fuel,
                unserved_kw=np.clip(_values(m.unserved_kw, T), 0.0, inputs.load_kw),
                reserve_shortfall_kw=np.clip(_values(m.reserve_shortfall_kw, T), 0.0, None),
                status=result.status, strategy=strategy, reason=reason, objective_l=result.objective_l,
                gap_pct=result.gap_pct, solve_s=result.solve_s,
                extra={"simultaneous_steps": simultaneous, "below_min_steps": below})


def repair_battery(site: Site, state: PlanState, dt_h: np.ndarray, ch: dict[str, np.ndarray],
                   dis: dict[str, np.ndarray], pv_used: np.ndarray,
                   genset_kw: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Net charge and discharge of each step; where the netted charge would overfill the battery
    (the solver used simultaneous charge and discharge as an energy sink), charge only what fits
    and take the rest off PV first, then off the gensets (below their minimum, as the physics
    does as a last resort). Modifies ``pv_used`` and ``genset_kw`` in place.

    Returns
    -------
    battery_kw, soc_pct : dict[str, numpy.ndarray]
        Net power (+ discharge) [kW] and SOC at the end of each step [%], per battery.
    """
    battery_kw = {b.name: dis[b.name] - ch[b.name] for b in site.batteries}
    soc_pct = {}
    for b in site.batteries:
        soc, out = state.soc_pct[b.name], np.empty(len(dt_h))
        for t, dt in enumerate(dt_h):
            p = float(battery_kw[b.name][t])
            if p < 0 and b.soc_after_pct(soc, p, dt) > max(b.soc_max_pct, soc) + 1e-9:
                p_fit = -battery_limits_kw(b, soc, float(dt), charge_limit_kw=-p)[0]
                _shed_supply(genset_kw, pv_used, t, p_fit - p)
                battery_kw[b.name][t] = p = p_fit
            soc = b.soc_after_pct(soc, p, float(dt))
            out[t] = soc
        soc_pct[b.name] = out
    return battery_kw, soc_pct


def _shed_supply(genset_kw: dict[str, np.ndarray], pv_used: np.ndarray, t: int, excess_kw: float) -> None:
    """Remove ``excess_kw`` of supply in step t: PV first, then gensets in proportion."""
    cut = min(excess_kw, pv_used[t])
    pv_used[t] -= cut
    excess_kw -= cut
    total = sum(v[t] for v in genset_kw.values())
    if excess_kw > 0 and total > 0:
        for v in genset_kw.values():
            v[t] -= min(excess_kw, total) * v[t] / total


def soc_trajectory(battery: Battery, soc0_pct: float, battery_kw: np.ndarray, dt_h: np.ndarray) -> np.ndarray:
    """SOC at the end of each step for a net battery power series (+ discharge). [%]"""
    out, soc = np.empty(len(battery_kw)), soc0_pct
    for t, (p, dt) in enumerate(zip(battery_kw, dt_h)):
        soc = battery.soc_after_pct(soc, float(p), float(dt))
        out[t] = soc
    return out
