"""The dispatch MILP (docs/architecture.md §7), built in named steps, one function per device family.

``build_model(site, inputs, state, options)`` → Pyomo model with mutable parameters (load, PV,
initial SOC, initial genset states) so a persistent solver re-solves it in place after
``set_inputs`` / ``set_state``. Steps may have different lengths: every energy term uses ``dt_h``.

Objective [L diesel equivalent]: Σ_t (fuel + dt·(wear·(charge + discharge)
+ curtail penalty·curtailed + shed penalty·(unserved + genset below min load)
+ reserve penalty·shortfall)) + Σ start cost·starts + the worth of the battery room left at the end.

The plant's rules are the kernel's (:mod:`microgrid.plant`), stated on the model's variables: the
fuel curve (:meth:`~microgrid.site.Genset.fuel_l`), the battery's energy, window and reserve
(:mod:`optimizer.model_battery`), the reserve rule (:func:`~microgrid.plant.reserve.reserve_required_kw`)
with the genset headroom (:func:`~microgrid.plant.gensets.genset_headroom_kw`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC

from microgrid.plant.battery import energy_window_kwh
from microgrid.plant.gensets import genset_headroom_kw
from microgrid.plant.reserve import reserve_required_kw
from microgrid.site import Site
from optimizer.costs import stored_energy_value
from optimizer.model_battery import define_battery, set_battery_state
from optimizer.model_gensets import below_min_kw, define_gensets, genset_fuel_l, set_genset_state
from optimizer.plan import PlanInputs, PlanState


@dataclass(frozen=True)
class MilpOptions:
    """How the MILP is formulated and solved.

    The defaults are the fast formulation; :meth:`naive` gives the textbook one for comparison.

    Attributes
    ----------
    coarsen : bool
        Merge steps beyond ``site.optimizer.fine_horizon_h`` into hourly blocks.
    naive : bool
        Battery mode binary, binary starts, pairwise min up/down, no symmetry breaking.
    persistent : bool
        Keep the model and the solver between solves and update parameters in place.
    warm_start : bool
        Start the MIP from the previous plan shifted to the new start time.
    mip_rel_gap, time_limit_s : float or None
        Override ``site.optimizer`` values. [fraction], [s]
    threads : int or None
        HiGHS threads (default: HiGHS's choice, all cores); 1 when several solves run in parallel
        processes.
    force_infeasible : bool
        Add a constraint no plan can meet (tests the fallback path).
    """

    coarsen: bool = True
    naive: bool = False
    persistent: bool = True
    warm_start: bool = True
    mip_rel_gap: float | None = None
    time_limit_s: float | None = None
    threads: int | None = None
    force_infeasible: bool = False

    @classmethod
    def naive_formulation(cls, **kw: Any) -> "MilpOptions":
        """The naive formulation, all fine steps, rebuilt for every solve."""
        return cls(coarsen=False, naive=True, persistent=False, warm_start=False, **kw)


def build_model(site: Site, inputs: PlanInputs, state: PlanState,
                options: MilpOptions = MilpOptions()) -> pyo.ConcreteModel:
    """Create the model for ``inputs``' time grid (used as given: coarsen before if wanted)."""
    with PauseGC():  # the collector's passes over a growing model cost more than the build itself
        return _build(site, inputs, state, options)


def _build(site: Site, inputs: PlanInputs, state: PlanState, options: MilpOptions) -> pyo.ConcreteModel:
    m = pyo.ConcreteModel(name=f"dispatch[{site.name}]")
    m.T = pyo.Set(initialize=range(len(inputs)), ordered=True)
    m.G = pyo.Set(initialize=[g.name for g in site.gensets], ordered=True)
    m.B = pyo.Set(initialize=[b.name for b in site.batteries], ordered=True)
    m.dt_h = {t: float(inputs.dt_h[t]) for t in m.T}
    start_h = inputs.start_h
    m.start_h = start_h
    define_gensets(m, site, start_h, options.naive)
    define_battery(m, site, inputs.dt_h, options.naive)
    define_pv(m)
    define_balance(m)
    define_reserve(m, site)
    define_objective(m, site)
    if options.force_infeasible:
        m.force_infeasible = pyo.Constraint(expr=pyo.quicksum(m.unserved_kw[t] for t in m.T) <= -1.0)
    set_inputs(m, inputs)
    set_state(m, site, state)
    return m


def define_pv(m: pyo.ConcreteModel) -> None:
    """PV pool: ``pv_used_kw ≤ pv_available_kw`` (constraint ``pv_limit``); the rest is curtailed."""
    m.pv_available_kw = pyo.Param(m.T, mutable=True, initialize=0.0, within=pyo.Reals)
    m.pv_used_kw = pyo.Var(m.T, domain=pyo.NonNegativeReals)
    m.pv_limit = pyo.Constraint(m.T, rule=lambda m, t: m.pv_used_kw[t] <= m.pv_available_kw[t])
    m.pv_curtailed_kw = pyo.Expression(m.T, rule=lambda m, t: m.pv_available_kw[t] - m.pv_used_kw[t])


def define_balance(m: pyo.ConcreteModel) -> None:
    """Power balance per step (``balance``); unserved load bounded by the load (``unserved_limit``).

    (The parameter is ``load_kw``: Pyomo reserves the component name ``load``.)
    """
    m.load_kw = pyo.Param(m.T, mutable=True, initialize=0.0, within=pyo.Reals)
    m.unserved_kw = pyo.Var(m.T, domain=pyo.NonNegativeReals)
    m.balance = pyo.Constraint(m.T, rule=lambda m, t: (
        m.pv_used_kw[t] + sum(m.genset_kw[g, t] for g in m.G)
        + sum(m.battery_discharge_kw[b, t] - m.battery_charge_kw[b, t] for b in m.B)
        + m.unserved_kw[t] == m.load_kw[t]))
    m.unserved_limit = pyo.Constraint(m.T, rule=lambda m, t: m.unserved_kw[t] <= m.load_kw[t])


def define_reserve(m: pyo.ConcreteModel, site: Site) -> None:
    """HOMER operating reserve (``reserve``): online genset headroom + battery reserve
    + shortfall ≥ the rule's reserve (:func:`~microgrid.plant.reserve.reserve_required_kw` of the
    load and the PV fed); the shortfall slack is penalised."""
    m.reserve_shortfall_kw = pyo.Var(m.T, domain=pyo.NonNegativeReals)
    m.reserve = pyo.Constraint(m.T, rule=lambda m, t: (
        sum(genset_headroom_kw(g, m.genset_kw[g.name, t], m.genset_on[g.name, t]) for g in site.gensets)
        + sum(m.battery_reserve_kw[b, t] for b in m.B) + m.reserve_shortfall_kw[t]
        >= reserve_required_kw(site.reserve, m.load_kw[t], m.pv_used_kw[t])))


def define_objective(m: pyo.ConcreteModel, site: Site) -> None:
    """Litres of diesel equivalent: fuel, starts, battery wear, curtailment, shed, reserve
    shortfall, and the worth of the room left in the batteries at the horizon's end (the diesel
    it would take to fill them: :func:`~optimizer.costs.stored_energy_value`). The last term is
    the stored energy gained or used up over the horizon, valued, plus a constant that keeps the
    objective positive, so that a relative MIP gap means the same on a sunny day as on a dull one.

    Built as one flat linear sum (a running ``+`` over the steps copies the growing sum: O(T²)).
    """
    opt = site.optimizer
    value = stored_energy_value(site)
    m.fuel_l = pyo.Expression(m.T, rule=lambda m, t: pyo.quicksum(genset_fuel_l(m, g, t) for g in site.gensets))
    shed, curtail, short = (opt.shed_penalty_l_per_kwh, opt.curtail_penalty_l_per_kwh,
                            opt.reserve_shortfall_penalty_l_per_kwh)

    def terms() -> Iterator[Any]:
        for t in m.T:
            dt = m.dt_h[t]
            for g in site.gensets:
                yield genset_fuel_l(m, g, t)
                yield dt * shed * below_min_kw(m, g.name, t)
                yield g.start_cost_l * m.genset_start[g.name, t]
            for b in site.batteries:
                yield dt * b.wear_cost_l_per_kwh * m.battery_charge_kw[b.name, t]
                yield dt * b.wear_cost_l_per_kwh * m.battery_discharge_kw[b.name, t]
            yield dt * curtail * m.pv_available_kw[t]
            yield -dt * curtail * m.pv_used_kw[t]
            yield dt * shed * m.unserved_kw[t]
            yield dt * short * m.reserve_shortfall_kw[t]
        last = m.T.last()
        for b in site.batteries:  # the worth of the room left at the end: never negative
            yield value[b.name] * (energy_window_kwh(b)[1] - m.battery_kwh[b.name, last])
    m.objective = pyo.Objective(expr=pyo.quicksum(terms()), sense=pyo.minimize)


def set_inputs(m: pyo.ConcreteModel, inputs: PlanInputs) -> None:
    """Load the forecast into the mutable parameters (same grid as the model was built on)."""
    for t in m.T:
        m.load_kw[t] = float(inputs.load_kw[t])
        m.pv_available_kw[t] = float(inputs.pv_available_kw[t])


def set_state(m: pyo.ConcreteModel, site: Site, state: PlanState) -> None:
    """Load the initial camp state (SOC, genset states) into the mutable parameters."""
    set_battery_state(m, site, state)
    set_genset_state(m, site, state, np.asarray(m.start_h))


def grid_signature(inputs: PlanInputs) -> tuple[float, ...]:
    """What must stay equal for a built model to be reused: the step lengths."""
    return tuple(np.round(inputs.dt_h, 9))
