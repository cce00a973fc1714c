"""The dispatch objective evaluated on a finished plan (any strategy), in litres of diesel equivalent.

The same terms as the MILP objective (optimizer/model.py ``define_objective``), so plans of
different strategies are compared on one scale, and the MILP's objective can be checked; and the
worth of the energy a plan leaves stored at its end (:func:`stored_energy_value`).
"""

from __future__ import annotations

import numpy as np

from microgrid.plant.battery import energy_to_restore_kwh, energy_window_kwh, stored_energy_kwh
from microgrid.plant.gensets import marginal_fuel_l_per_kwh
from microgrid.site import Site
from optimizer.plan import Plan, PlanState


def genset_starts(plan: Plan, state: PlanState) -> dict[str, int]:
    """Starts per genset over the plan, counting a start in the first step from the initial state."""
    out = {}
    for name, on in plan.genset_on.items():
        prev = np.concatenate([[1.0 if state.genset_on[name] else 0.0], on[:-1]])
        out[name] = int(np.sum((on > 0.5) & (prev < 0.5)))
    return out


def stored_energy_value(site: Site) -> dict[str, float]:
    """Diesel worth of a kWh stored at the horizon's end, per battery; 0 with a hard end target
    (``terminal_soc_pct``, or ``horizon_end = "start_soc"``).

    Default: the fuel a running genset burns at the margin
    (:func:`~microgrid.plant.gensets.marginal_fuel_l_per_kwh`) for the energy it takes to store
    that kWh (:func:`~microgrid.plant.battery.energy_to_restore_kwh`), which is how the backtest
    counts the stored energy a run used up (:func:`optimizer.backtest.soc_change_l`). [L/kWh stored]
    """
    opt = site.optimizer
    if opt.terminal_soc_pct is not None or opt.horizon_end != "value" or not site.gensets:
        return {b.name: 0.0 for b in site.batteries}
    if opt.stored_energy_value_l_per_kwh is not None:
        return {b.name: float(opt.stored_energy_value_l_per_kwh) for b in site.batteries}
    marginal = marginal_fuel_l_per_kwh(site.gensets)
    return {b.name: marginal * energy_to_restore_kwh(b, 1.0) for b in site.batteries}


def plan_objective_l(site: Site, plan: Plan, state: PlanState) -> float:
    """Fuel + start cost + battery wear + penalties (curtailment, shed, genset below min load,
    reserve shortfall) + the worth of the room left in the batteries at the plan's end. [L]"""
    opt = site.optimizer
    dt = plan.dt_h
    starts = genset_starts(plan, state)
    total = plan.total_fuel_l + sum(g.start_cost_l * starts[g.name] for g in site.gensets)
    total += sum(b.wear_cost_l_per_kwh * float(np.sum(np.abs(plan.battery_kw[b.name]) * dt))
                 for b in site.batteries)
    total += opt.curtail_penalty_l_per_kwh * float(np.sum(plan.pv_curtailed_kw * dt))
    total += opt.shed_penalty_l_per_kwh * float(np.sum(plan.unserved_kw * dt))
    below = sum((np.maximum(0.0, g.min_kw * plan.genset_on[g.name] - plan.genset_kw[g.name])
                 for g in site.gensets), np.zeros(len(dt)))
    total += opt.shed_penalty_l_per_kwh * float(np.sum(below * dt))
    total += opt.reserve_shortfall_penalty_l_per_kwh * float(np.sum(plan.reserve_shortfall_kw * dt))
    value = stored_energy_value(site)
    for b in site.batteries:
        if len(dt) and b.name in plan.soc_pct:
            room_kwh = energy_window_kwh(b)[1] - stored_energy_kwh(b, float(plan.soc_pct[b.name][-1]))
            total += value[b.name] * room_kwh
    return total
