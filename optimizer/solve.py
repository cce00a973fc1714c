"""Solve the dispatch model with HiGHS through Pyomo's persistent APPSI interface."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Literal

import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC
from pyomo.contrib.appsi.base import TerminationCondition
from pyomo.contrib.appsi.solvers import Highs

from microgrid.errors import PlanError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SolveResult:
    """Outcome of one solve.

    Attributes
    ----------
    status : str
        ``"optimal"`` (within the gap) or ``"feasible"`` (incumbent at the time limit).
    objective_l : float
        Objective of the solution loaded into the model. [L]
    gap_pct : float
        Relative gap between incumbent and bound. [%]
    solve_s : float
        Wall time of the solve call (model update + HiGHS). [s]
    bound_l : float
        Best lower bound on the objective. [L]
    """

    status: Literal["optimal", "feasible"]
    objective_l: float
    gap_pct: float
    solve_s: float
    bound_l: float = math.nan


def make_solver(mip_rel_gap: float, time_limit_s: float, threads: int | None = None) -> Highs:
    """A persistent HiGHS solver, quiet, that keeps the incumbent on time limit.

    HiGHS's symmetry detection is off: with it on, identical re-solves in separate processes
    returned different plans within the gap (up to ~2 % of a day's fuel in repeated backtests),
    and it made them no faster. Our formulation breaks genset symmetry itself.

    HiGHS's root reduced-cost heuristic is off: in rolling re-solves whose warm start had gone
    stale (the forecast moved), it spent most of the solve time; without it the slow re-solves
    (over 0.15 s) fell from 23-36 % to 3-22 % of all re-solves, and the solve time of 3- to
    5-day backtests by 13-35 % (three seasons, HiGHS 1.15). RINS and RENS still run.
    """
    solver = Highs()
    solver.highs_options = {"mip_detect_symmetry": False,  # repeatable plans
                            "mip_heuristic_run_root_reduced_cost": False}
    if threads is not None:
        solver.highs_options["threads"] = int(threads)
    # a built model only ever changes its mutable parameters (the planner's rule): re-solves
    # push the parameters and skip walking the model for new or changed components
    uc = solver.update_config
    uc.check_for_new_or_removed_constraints = uc.check_for_new_or_removed_vars = False
    uc.check_for_new_or_removed_params = uc.check_for_new_objective = False
    uc.update_constraints = uc.update_vars = uc.update_named_expressions = uc.update_objective = False
    uc.update_params = True
    solver.config.mip_gap = mip_rel_gap
    solver.config.time_limit = time_limit_s
    solver.config.load_solution = False
    solver.config.stream_solver = False
    solver.config.log_level = logging.DEBUG
    return solver


def solve(model: pyo.ConcreteModel, solver: Highs, warm_start: bool = False) -> SolveResult:
    """Solve (or re-solve in place) and load the best solution found into the model.

    Raises
    ------
    PlanError
        Infeasible, unbounded, error, or no incumbent when the time limit struck.
    """
    solver.config.warmstart = warm_start
    t0 = time.perf_counter()
    with PauseGC():  # loading a model walks every constraint: the collector's passes cost more
        res = solver.solve(model)
    elapsed = time.perf_counter() - t0
    tc = res.termination_condition
    if res.best_feasible_objective is None:
        limit = f" after {elapsed:.2f} s (time limit)" if tc == TerminationCondition.maxTimeLimit else ""
        raise PlanError(f"HiGHS found no plan: {tc.name}{limit}")
    if tc not in (TerminationCondition.optimal, TerminationCondition.maxTimeLimit,
                  TerminationCondition.maxIterations, TerminationCondition.objectiveLimit):
        raise PlanError(f"HiGHS ended with {tc.name}")
    res.solution_loader.load_vars()
    obj = float(res.best_feasible_objective)
    bound = math.nan if res.best_objective_bound is None else float(res.best_objective_bound)
    status: Literal["optimal", "feasible"] = "optimal" if tc == TerminationCondition.optimal else "feasible"
    log.debug("solved: %s obj %.4f gap %.3f%% in %.3fs", status, obj, _gap_pct(obj, bound), elapsed)
    return SolveResult(status, obj, _gap_pct(obj, bound), elapsed, bound)


def _gap_pct(objective: float, bound: float) -> float:
    return abs(objective - bound) / max(abs(objective), 1e-9) * 100.0
