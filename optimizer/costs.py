"""The dispatch objective evaluated on a finished plan (any strategy), in litres of diesel equivalent.

The same terms as the MILP objective (optimizer/model.py ``define_objective``), so plans of
different strategies are compared on one scale, and the MILP's objective can be checked.
"""

from __future__ import annotations

import numpy as np

from microgrid.site import Site
from optimizer.plan import Plan, PlanState


def genset_starts(plan: Plan, state: PlanState) -> dict[str, int]:
    """Starts per genset over the plan, counting a start in the first step from the initial state."""
    out = {}
    for name, on in plan.genset_on.items():
        prev = np.concatenate([[1.0 if state.genset_on[name] else 0.0], on[:-1]])
        out[name] = int(np.sum((on > 0.5) & (prev < 0.5)))
    return out


def plan_objective_l(site: Site, plan: Plan, state: PlanState) -> float:
    """Fuel + start cost + battery wear + penalties (curtailment, shed, genset below min load,
    reserve shortfall). [L]"""
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
    return total
