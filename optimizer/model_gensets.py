"""Genset family of the dispatch model: commitment, power, min load, min up/down, starts, fuel.

Variables: ``genset_on[g,t]`` (binary), ``genset_kw[g,t]``, ``genset_below_min_kw[g,t]`` (penalised
slack, only over the steps a unit may be held on by its initial state), ``genset_start[g,t]`` and
``genset_stop[g,t]`` (continuous in [0, 1]; binary in the naive formulation).
Constraints: ``genset_min_kw``, ``genset_max_kw``, ``genset_below_min_held`` (the slack only while
the initial state holds the unit on), ``genset_transition``, ``genset_min_up``,
``genset_min_down`` (turn-on / turn-off inequalities: the starts in the last min-up time ≤ on;
only where that window holds more than the step itself),
``genset_must_on`` / ``genset_must_off`` (obligations carried in from the initial state, over the
steps within the min up / min down time from the start),
``genset_symmetry`` (identical units with the same history: on[a] ≥ on[b]).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pyomo.environ as pyo

from microgrid.site import Genset, Site
from optimizer.plan import PlanState

_EPS = 1e-9


def _same_unit(a: Genset, b: Genset) -> bool:
    keys = ("rated_kw", "min_load_pct", "fuel_f0_l_per_kwh_rated", "fuel_f1_l_per_kwh",
            "min_up_min", "min_down_min", "start_cost_l")
    return all(getattr(a, k) == getattr(b, k) for k in keys)


def symmetry_pairs(site: Site) -> list[tuple[str, str]]:
    """Every pair (a, b) of identical gensets, a before b in site order."""
    return [(a.name, b.name) for a, b in itertools.combinations(site.gensets, 2) if _same_unit(a, b)]


def obligations(genset: Genset, on: bool, state_min: float, start_h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Steps the unit must stay on (min up) or off (min down) because of its initial state.

    Returns
    -------
    must_on, must_off : numpy.ndarray
        0/1 per step.
    """
    need_h = (genset.min_up_min if on else genset.min_down_min) / 60.0
    remaining_h = max(0.0, need_h - state_min / 60.0)
    forced = (start_h < remaining_h - _EPS).astype(float)
    zero = np.zeros_like(forced)
    return (forced, zero) if on else (zero, forced)


def symmetry_relax(site: Site, state: PlanState, start_h: np.ndarray) -> dict[tuple[str, str], float]:
    """0 (active) / 1 (relaxed) per identical pair: active for consecutive units of the same history.

    Two identical units are interchangeable only when they start in the same state with the same
    remaining obligations; among those, ``on[a] ≥ on[b]`` cuts off no optimum when the units have
    no min up time longer than a step. With one, it can: runs that overlap only partly (a 1-h run
    of each, staggered by 30 min) cannot be ordered, and the nearest ordered schedule runs one unit
    longer (docs/architecture.md §7, known limits).
    """
    def history(g: Genset) -> tuple:
        on = bool(state.genset_on[g.name])
        must_on, must_off = obligations(g, on, state.genset_state_min[g.name], start_h)
        return on, tuple(must_on), tuple(must_off)

    relax = {pair: 1.0 for pair in symmetry_pairs(site)}
    by_name = {g.name: g for g in site.gensets}
    for a, b in relax:
        between = [g for g in site.gensets
                   if site.gensets.index(by_name[a]) < site.gensets.index(g) < site.gensets.index(by_name[b])]
        same = history(by_name[a]) == history(by_name[b])
        if same and not any(_same_unit(g, by_name[a]) and history(g) == history(by_name[a]) for g in between):
            relax[(a, b)] = 0.0
    return relax


def window_starts(start_h: np.ndarray, length_h: float) -> np.ndarray:
    """Per step t, the first step k of its look-back window: steps k..t started less than
    ``length_h`` before step t starts (t included; none when ``length_h`` is 0). One binary
    search per step, so a model's construction grows linearly with its steps. [index]"""
    start_h = np.asarray(start_h, dtype=float)
    return np.searchsorted(start_h, start_h - length_h + _EPS, side="right")


def window_ends(start_h: np.ndarray, length_h: float) -> np.ndarray:
    """Per step t, one past the last step k > t that starts less than ``length_h`` after step t. [index]"""
    start_h = np.asarray(start_h, dtype=float)
    return np.maximum(np.searchsorted(start_h, start_h + length_h - _EPS, side="left"),
                      np.arange(len(start_h)) + 1)


def relaxed_steps(site: Site, start_h: np.ndarray, naive: bool = False) -> np.ndarray:
    """Steps whose commitment is relaxed: those starting at or after ``integer_horizon_h``."""
    lp_from_h = site.optimizer.integer_horizon_h
    if lp_from_h is None or naive:
        return np.zeros(len(start_h), dtype=bool)
    return np.asarray(start_h) >= lp_from_h - _EPS


def define_gensets(m: pyo.ConcreteModel, site: Site, start_h: np.ndarray, naive: bool) -> None:
    """Add the genset variables, parameters and constraints to ``m`` (sets ``G``, ``T``)."""
    gens = {g.name: g for g in site.gensets}
    T = list(m.T)
    m.genset_on0 = pyo.Param(m.G, mutable=True, initialize=0.0, within=pyo.Reals)
    # an obligation carried in from the initial state lasts at most the min up (down) time
    m.genset_may_run = pyo.Set(dimen=2, initialize=[(g.name, t) for g in site.gensets for t in T
                                                    if start_h[t] < g.min_up_min / 60 - _EPS])
    m.genset_may_stop = pyo.Set(dimen=2, initialize=[(g.name, t) for g in site.gensets for t in T
                                                     if start_h[t] < g.min_down_min / 60 - _EPS])
    m.genset_must_on_p = pyo.Param(m.genset_may_run, mutable=True, initialize=0.0, within=pyo.Reals)
    m.genset_must_off_p = pyo.Param(m.genset_may_stop, mutable=True, initialize=0.0, within=pyo.Reals)
    m.genset_on = pyo.Var(m.G, m.T, domain=pyo.Binary)
    m.genset_relaxed = relaxed_steps(site, start_h, naive)
    for t in np.flatnonzero(m.genset_relaxed):  # the far horizon as a relaxation
        for g in m.G:
            m.genset_on[g, int(t)].domain = pyo.UnitInterval
    m.genset_kw = pyo.Var(m.G, m.T, domain=pyo.NonNegativeReals, bounds=lambda _, g, t: (0, gens[g].rated_kw))
    dom = pyo.Binary if naive else pyo.UnitInterval
    m.genset_start = pyo.Var(m.G, m.T, domain=dom)
    m.genset_stop = pyo.Var(m.G, m.T, domain=dom)

    # below-minimum operation only as a penalised slack, and only for a unit its initial state
    # holds on (its min up time with nothing to absorb its output: it follows the load, as it
    # physically would); a start the plan chooses must be one the camp can load
    m.genset_below_min_kw = pyo.Var(m.genset_may_run, bounds=lambda _, g, t: (0, gens[g].min_kw))
    m.genset_below_min_held = pyo.Constraint(m.genset_may_run, rule=lambda m, g, t: (
        m.genset_below_min_kw[g, t] <= gens[g].min_kw * m.genset_must_on_p[g, t]))
    m.genset_min_kw = pyo.Constraint(m.G, m.T, rule=lambda m, g, t: (
        m.genset_kw[g, t] + below_min_kw(m, g, t) >= gens[g].min_kw * m.genset_on[g, t]))
    m.genset_max_kw = pyo.Constraint(m.G, m.T, rule=lambda m, g, t: (
        m.genset_kw[g, t] <= gens[g].rated_kw * m.genset_on[g, t]))

    def transition(m: pyo.ConcreteModel, g: str, t: int) -> Any:
        prev = m.genset_on0[g] if t == T[0] else m.genset_on[g, t - 1]
        return m.genset_on[g, t] - prev == m.genset_start[g, t] - m.genset_stop[g, t]
    m.genset_transition = pyo.Constraint(m.G, m.T, rule=transition)
    m.genset_must_on = pyo.Constraint(m.genset_may_run, rule=lambda m, g, t: (
        m.genset_on[g, t] >= m.genset_must_on_p[g, t]))
    m.genset_must_off = pyo.Constraint(m.genset_may_stop, rule=lambda m, g, t: (
        m.genset_on[g, t] <= 1 - m.genset_must_off_p[g, t]))
    if naive:
        _define_pairwise_min_updown(m, gens, start_h)
    else:
        # a window of the step alone says start ≤ on, which the transition and the start cost
        # already hold: only longer windows are constraints
        up = {g: window_starts(start_h, gens[g].min_up_min / 60) for g in gens}
        down = {g: window_starts(start_h, gens[g].min_down_min / 60) for g in gens}
        m.genset_min_up = pyo.Constraint(m.G, m.T, rule=lambda m, g, t: pyo.quicksum(
            m.genset_start[g, k] for k in range(up[g][t], t + 1)) <= m.genset_on[g, t]
            if up[g][t] < t else pyo.Constraint.Skip)
        m.genset_min_down = pyo.Constraint(m.G, m.T, rule=lambda m, g, t: pyo.quicksum(
            m.genset_stop[g, k] for k in range(down[g][t], t + 1)) <= 1 - m.genset_on[g, t]
            if down[g][t] < t else pyo.Constraint.Skip)
        pairs = symmetry_pairs(site)
        m.genset_pairs = pyo.Set(initialize=pairs, dimen=2)
        m.genset_symmetry_relax = pyo.Param(m.genset_pairs, mutable=True, initialize=1.0, within=pyo.Reals)
        m.genset_symmetry = pyo.Constraint(m.genset_pairs, m.T, rule=lambda m, a, b, t: (
            m.genset_on[a, t] - m.genset_on[b, t] + m.genset_symmetry_relax[a, b] >= 0))


def symmetry_groups(m: pyo.ConcreteModel) -> list[list[str]]:
    """Identical units whose symmetry is broken in the model (``genset_symmetry`` active), each
    group in site order: every unit's commitment bounds the next one's."""
    if not hasattr(m, "genset_pairs"):
        return []
    parent = {g: g for g in m.G}

    def root(g: str) -> str:
        while parent[g] != g:
            g = parent[g]
        return g
    for a, b in m.genset_pairs:
        if pyo.value(m.genset_symmetry_relax[a, b]) < 0.5:
            parent[root(b)] = root(a)
    groups: dict[str, list[str]] = {}
    for g in m.G:
        groups.setdefault(root(g), []).append(g)
    return [units for units in groups.values() if len(units) > 1]


def seed_in_symmetry_order(m: pyo.ConcreteModel, on: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A commitment seed that the symmetry breaking accepts: within each group of interchangeable
    units (:func:`symmetry_groups`: identical, same history), the schedules are handed out again
    so that the first unit runs whenever the next one does — the schedules themselves when they
    nest (the units are interchangeable, so any of them may carry any schedule), else the number
    of units each step needs, stacked. A seed that breaks ``genset_symmetry`` is one HiGHS drops.
    """
    out = dict(on)
    for units in symmetry_groups(m):
        mine = sorted((on[g] for g in units), key=lambda a: (float(a.sum()), tuple(a)), reverse=True)
        if not all(np.all(hi >= lo) for hi, lo in zip(mine, mine[1:])):
            count = np.sum(mine, axis=0)
            mine = [(count > i).astype(float) for i in range(len(units))]
        out.update(zip(units, mine))
    return out


def seed_within_min_times(site: Site, on: dict[str, np.ndarray], state: PlanState,
                          start_h: np.ndarray) -> dict[str, np.ndarray]:
    """A commitment seed with every run and every stop held at least its unit's min up / min down
    time, counted from the initial state: a change that comes too early waits until it may
    happen. A seed shifted from the previous plan can break them where that plan's tail (a rule's
    dispatch, :mod:`optimizer.completion`) meets its whole-unit part; HiGHS drops such a seed.

    Parameters
    ----------
    on : dict[str, numpy.ndarray]
        0/1 per unit over the first ``len(values)`` steps of the model.
    start_h : numpy.ndarray
        Start of every model step from the plan's start. [h]
    """
    out = {}
    for g in site.gensets:
        seed = on[g.name]
        cur = bool(state.genset_on[g.name])
        since_h = -state.genset_state_min[g.name] / 60.0
        fixed = np.empty(len(seed))
        for t, want in enumerate(seed > 0.5):
            held_h = start_h[t] - since_h
            if want != cur and held_h >= (g.min_up_min if cur else g.min_down_min) / 60.0 - _EPS:
                cur, since_h = want, start_h[t]
            fixed[t] = float(cur)
        out[g.name] = fixed
    return out


def _define_pairwise_min_updown(m: pyo.ConcreteModel, gens: dict[str, Genset], start_h: np.ndarray) -> None:
    """Textbook (weak) min up/down: a start at t forces on in every step of its min-up window."""
    T = list(m.T)
    up_end = {g: window_ends(start_h, gens[g].min_up_min / 60) for g in gens}
    down_end = {g: window_ends(start_h, gens[g].min_down_min / 60) for g in gens}
    up = [(g, t, k) for g in gens for t in T for k in range(t + 1, up_end[g][t])]
    down = [(g, t, k) for g in gens for t in T for k in range(t + 1, down_end[g][t])]
    m.genset_min_up = pyo.ConstraintList()
    m.genset_min_down = pyo.ConstraintList()
    for g, t, k in up:
        m.genset_min_up.add(m.genset_on[g, k] >= m.genset_start[g, t])
    for g, t, k in down:
        m.genset_min_down.add(1 - m.genset_on[g, k] >= m.genset_stop[g, t])


def set_genset_state(m: pyo.ConcreteModel, site: Site, state: PlanState, start_h: np.ndarray) -> None:
    """Update the mutable initial-state parameters (on/off, carried-in obligations, symmetry)."""
    for g in site.gensets:
        on = bool(state.genset_on[g.name])
        m.genset_on0[g.name] = 1.0 if on else 0.0
        must_on, must_off = obligations(g, on, state.genset_state_min[g.name], start_h)
        for t in m.T:
            if (g.name, t) in m.genset_may_run:
                m.genset_must_on_p[g.name, t] = must_on[t]
            if (g.name, t) in m.genset_may_stop:
                m.genset_must_off_p[g.name, t] = must_off[t]
    if hasattr(m, "genset_symmetry_relax"):
        for pair, val in symmetry_relax(site, state, start_h).items():
            m.genset_symmetry_relax[pair] = val


def below_min_kw(m: pyo.ConcreteModel, g: str, t: int) -> Any:
    """The below-minimum slack of unit ``g`` in step ``t`` (0 where it may not be held on). [kW]"""
    return m.genset_below_min_kw[g, t] if (g, t) in m.genset_may_run else 0.0


def genset_fuel_l(m: pyo.ConcreteModel, g: Genset, t: int) -> Any:
    """Fuel unit ``g`` burns in step ``t``: the site's curve (:meth:`~microgrid.site.Genset.fuel_l`)
    on the step's energy and run time, a linear expression. [L]"""
    dt = m.dt_h[t]
    return g.fuel_l(dt * m.genset_kw[g.name, t], dt * m.genset_on[g.name, t])
