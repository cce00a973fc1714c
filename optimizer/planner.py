"""Planning strategies behind one interface: ``planner.plan(inputs, state) -> Plan``.

``"milp"`` (:class:`MilpPlanner`) builds the dispatch model once per grid shape and, on later
calls (the rolling-horizon case: call ``plan`` again with the forecast one step later and the
camp state then), only updates its mutable parameters (load, PV, initial SOC, genset states),
warm-starts from the previous plan shifted to the new start time and re-solves in place with the
persistent HiGHS interface. The hourly blocks are clock-aligned (:func:`optimizer.grid.coarsen`),
so the shifted previous plan is an exact, feasible-in-spirit seed. Any failure gives the
fallback plan.
``"load-following"`` and ``"cycle-charging"`` are HOMER's rules (:mod:`optimizer.baselines`).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

import numpy as np
import pyomo.environ as pyo

from microgrid.errors import PlanError
from microgrid.site import Site
from optimizer.baselines import RuleOptions, rule_plan
from optimizer.completion import complete_plan
from optimizer.extract import extract_plan
from optimizer.fallback import fallback_plan
from optimizer.grid import planning_grid
from optimizer.model import MilpOptions, build_model, grid_signature, set_inputs, set_state
from optimizer.model_gensets import seed_in_symmetry_order, seed_within_min_times
from optimizer.plan import Plan, PlanInputs, PlanState
from optimizer.solve import make_solver, solve

log = logging.getLogger(__name__)

STRATEGIES = ("milp", "load-following", "cycle-charging")

#: Models kept by a MilpPlanner, one per grid shape (a rolling 15-min re-plan cycles through 4).
MAX_MODELS = 6
#: Solves after which a model gets a fresh persistent HiGHS solver. One HiGHS instance re-solved
#: in place slowed down steadily: in a 30-day hourly backtest its mean MIP time went from
#: 0.055 s to 0.14 s after ~300 re-solves, while fresh instances stayed at ~0.06 s. Loading the
#: model into a new instance takes ~0.15 s.
SOLVER_REFRESH = 100


class Planner(Protocol):
    """A dispatch strategy: a plan for a forecast, from a camp state."""

    name: str

    def plan(self, inputs: PlanInputs, state: PlanState) -> Plan: ...


class RulePlanner:
    """HOMER load following or cycle charging (with setpoint SOC) on the inputs' own grid."""

    def __init__(self, site: Site, cycle_charging: bool = False, setpoint_soc_pct: float = 80.0):
        self.site = site
        self.name = "cycle-charging" if cycle_charging else "load-following"
        self.options = RuleOptions(cycle_charging=cycle_charging, setpoint_soc_pct=setpoint_soc_pct)

    def plan(self, inputs: PlanInputs, state: PlanState) -> Plan:
        return rule_plan(self.site, inputs, state, self.options, strategy=self.name)


class MilpPlanner:
    """The dispatch MILP, kept between calls for cheap rolling re-solves.

    Parameters
    ----------
    site : Site
    options : MilpOptions
        Formulation and solve options (gap and time limit default to ``site.optimizer``).
    """

    name = "milp"

    def __init__(self, site: Site, options: MilpOptions = MilpOptions()):
        self.site, self.options = site, options
        self.model: pyo.ConcreteModel | None = None
        self._solver = None
        self._models: dict[tuple, list] = {}  # grid shape -> [model, persistent solver, solves]
        self._last: Plan | None = None
        self.builds = 0

    def plan(self, inputs: PlanInputs, state: PlanState) -> Plan:
        """Optimal (or incumbent) plan on the coarsened grid; the fallback plan on any failure."""
        t0 = time.perf_counter()
        try:
            if state.missing(self.site):
                raise PlanError(f"camp state lacks device(s) {', '.join(state.missing(self.site))}")
            opt = self.site.optimizer
            grid = planning_grid(inputs, opt.fine_horizon_h, opt.hourly_horizon_h) if self.options.coarsen else inputs
            model = self._prepare(grid, state)
            warm = self.options.warm_start
            if warm:  # seed: the previous plan, or for a cold start the cheaper rule's plan
                self._warm_start(model, grid, state, self._last or self._rule_seed(grid, state))
            result = solve(model, self._solver, warm_start=warm)
            plan = extract_plan(model, self.site, grid, state, result, strategy=self.name)
            plan = complete_plan(self.site, plan, state, model.genset_relaxed)
            self._last = plan
            return plan
        except Exception as exc:  # never no plan: any failure → rule-based plan, flagged
            self._last = None
            if not isinstance(exc, PlanError):
                log.exception("optimizer failed")
            plan = fallback_plan(self.site, inputs, state, reason=f"{type(exc).__name__}: {exc}")
            plan.solve_s = time.perf_counter() - t0
            return plan

    def _prepare(self, grid: PlanInputs, state: PlanState) -> pyo.ConcreteModel:
        """The model for this grid shape: built once (kept per shape), else parameters updated.
        Its persistent solver is replaced every :data:`SOLVER_REFRESH` solves."""
        sig = grid_signature(grid)
        if not self.options.persistent or sig not in self._models:
            model = build_model(self.site, grid, state, self.options)
            if len(self._models) >= MAX_MODELS:
                self._models.pop(next(iter(self._models)))
            self._models[sig] = [model, self._new_solver(), 0]
            self.builds += 1
        else:
            model = self._models[sig][0]
            set_inputs(model, grid)
            set_state(model, self.site, state)
            if self._models[sig][2] >= SOLVER_REFRESH:
                self._models[sig][1:] = [self._new_solver(), 0]
        entry = self._models[sig]
        entry[2] += 1
        self.model, self._solver = model, entry[1]
        return model

    def _rule_seed(self, grid: PlanInputs, state: PlanState) -> Plan:
        """Load following or cycle charging on the planning grid, whichever costs less by the
        MILP's objective (a cold start's first incumbent)."""
        plans = [rule_plan(self.site, grid, state, RuleOptions(cycle_charging=cc), strategy="seed")
                 for cc in (False, True)]
        return min(plans, key=lambda p: p.objective_l)

    def _new_solver(self) -> Any:
        opt, o = self.site.optimizer, self.options
        return make_solver(opt.mip_rel_gap if o.mip_rel_gap is None else o.mip_rel_gap,
                           opt.time_limit_s if o.time_limit_s is None else o.time_limit_s, threads=o.threads)

    def _warm_start(self, m: pyo.ConcreteModel, grid: PlanInputs, state: PlanState, last: Plan) -> None:
        """Seed the whole-unit commitment with a plan (the previous one), shifted: a genset runs
        in a new step if it ran in any plan step overlapping it (past the plan's horizon: in its
        last hour), so the seed rarely lacks capacity. HiGHS completes the seed by solving the
        linear program with these values fixed, so the continuous variables need no seed."""
        starts = np.array([t.timestamp() for t in last.time])
        ends = starts + last.dt_h * 3600
        tail_from = int(np.searchsorted(ends, ends[-1] - 3600, side="right"))
        whole = np.flatnonzero(~m.genset_relaxed)
        on = {g.name: np.zeros(len(whole)) for g in self.site.gensets}
        for i, t in enumerate(whole):
            s = grid.time[t].timestamp()
            k = min(int(np.searchsorted(ends, s, side="right")), len(last.time) - 1)
            lo, hi = (k, int(np.searchsorted(starts, s + grid.dt_h[t] * 3600, side="left"))) \
                if s < ends[-1] else (tail_from, len(last.time))
            for g in self.site.gensets:
                on[g.name][i] = float(np.max(last.genset_on[g.name][lo:max(hi, lo + 1)]))
        start_h = np.asarray(grid.start_h)
        on = seed_within_min_times(self.site, on, state, start_h)
        on = seed_within_min_times(self.site, seed_in_symmetry_order(m, on), state, start_h)
        for name, values in on.items():
            for i, t in enumerate(whole):
                m.genset_on[name, int(t)].set_value(float(values[i]))


def make_planner(site: Site, strategy: str = "milp", *, milp_options: MilpOptions | None = None,
                 setpoint_soc_pct: float = 80.0) -> Planner:
    """The planner for a strategy name (one of :data:`STRATEGIES`)."""
    if strategy == "milp":
        return MilpPlanner(site, milp_options or MilpOptions())
    if strategy in ("load-following", "cycle-charging"):
        return RulePlanner(site, cycle_charging=strategy == "cycle-charging", setpoint_soc_pct=setpoint_soc_pct)
    raise PlanError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")


def plan(site: Site, inputs: PlanInputs, state: PlanState, strategy: str = "milp", **kw: Any) -> Plan:
    """One-shot plan with a fresh planner (see :func:`make_planner` for keywords)."""
    return make_planner(site, strategy, **kw).plan(inputs, state)
