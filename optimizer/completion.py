"""Whole units in a plan's far horizon: the part the MILP relaxed, dispatched by the better rule.

Beyond ``optimizer.integer_horizon_h`` the MILP lets gensets run in fractions (an LP
relaxation, docs/architecture.md §7): the far horizon still prices the stored energy and the
energy the camp will need, and the solve does not spend its time on the whole-unit choices of
hours that are re-planned long before they come. Only the plan's near part is carried out, but
its tail is what a camp engineer reads in a plan file and what the next re-plan is seeded from,
so it must be a dispatch a camp could run: :func:`complete_plan` replaces it by HOMER's load
following or cycle charging (whichever costs less there), run from the state the plan's
whole-unit part leaves the camp in.
"""

from __future__ import annotations

import numpy as np

from microgrid.site import Site
from optimizer.baselines import RuleOptions, rule_plan
from optimizer.costs import plan_objective_l
from optimizer.plan import Plan, PlanInputs, PlanState


def complete_plan(site: Site, plan: Plan, state: PlanState, relaxed: np.ndarray) -> Plan:
    """``plan`` with its ``relaxed`` steps (a tail) dispatched by the cheaper rule.

    Parameters
    ----------
    site : Site
    plan : Plan
        The extracted MILP plan; its relaxed steps are not a dispatch with whole units.
    state : PlanState
        The camp's state at the plan's start.
    relaxed : numpy.ndarray of bool
        Steps whose commitment the MILP relaxed (all after the first relaxed one).

    Returns
    -------
    Plan
        Whole units in every step; ``objective_l`` recomputed over the whole plan
        (:func:`~optimizer.costs.plan_objective_l`), ``gap_pct`` the solve's own; ``extra`` gains
        ``relaxed_from_step`` and ``tail_rule``.
    """
    if not relaxed.any():
        return plan
    h = int(np.argmax(relaxed))
    tail_inputs = PlanInputs(plan.time[h:], plan.dt_h[h:], plan.load_kw[h:],
                             plan.pv_used_kw[h:] + plan.pv_curtailed_kw[h:])
    start = state_after(site, plan, state, h)
    tails = {name: rule_plan(site, tail_inputs, start, RuleOptions(cycle_charging=cc), strategy=name)
             for name, cc in (("load-following", False), ("cycle-charging", True))}
    tail = min(tails.values(), key=lambda p: p.objective_l)

    def join(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.concatenate([a[:h], b])

    out = Plan(time=plan.time, dt_h=plan.dt_h, load_kw=plan.load_kw,
               pv_used_kw=join(plan.pv_used_kw, tail.pv_used_kw),
               pv_curtailed_kw=join(plan.pv_curtailed_kw, tail.pv_curtailed_kw),
               battery_kw={k: join(v, tail.battery_kw[k]) for k, v in plan.battery_kw.items()},
               soc_pct={k: join(v, tail.soc_pct[k]) for k, v in plan.soc_pct.items()},
               genset_on={k: join(v, tail.genset_on[k]) for k, v in plan.genset_on.items()},
               genset_kw={k: join(v, tail.genset_kw[k]) for k, v in plan.genset_kw.items()},
               fuel_l=join(plan.fuel_l, tail.fuel_l), unserved_kw=join(plan.unserved_kw, tail.unserved_kw),
               reserve_shortfall_kw=join(plan.reserve_shortfall_kw, tail.reserve_shortfall_kw),
               status=plan.status, strategy=plan.strategy, reason=plan.reason, gap_pct=plan.gap_pct,
               solve_s=plan.solve_s,
               extra={**plan.extra, "relaxed_from_step": h, "tail_rule": tail.strategy})
    out.objective_l = plan_objective_l(site, out, state)
    return out


def state_after(site: Site, plan: Plan, state: PlanState, steps: int) -> PlanState:
    """The camp's state after the plan's first ``steps`` steps: SOC, units running and since when."""
    if steps <= 0:
        return state
    elapsed_min = float(np.sum(plan.dt_h[:steps])) * 60.0
    start_min = np.concatenate([[0.0], np.cumsum(plan.dt_h[:steps])]) * 60.0
    on, age = {}, {}
    for g in site.gensets:
        run = plan.genset_on[g.name][:steps] > 0.5
        on[g.name] = bool(run[-1])
        changed = np.flatnonzero(run != np.concatenate([[bool(state.genset_on[g.name])], run[:-1]]))
        age[g.name] = (state.genset_state_min[g.name] + elapsed_min if not len(changed)
                       else elapsed_min - start_min[changed[-1]])
    return PlanState({b.name: float(plan.soc_pct[b.name][steps - 1]) for b in site.batteries}, on, age)
