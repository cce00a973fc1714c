"""Battery family of the dispatch model: charge/discharge, energy balance, SOC window, terminal SOC.

Variables: ``battery_charge_kw[b,t]``, ``battery_discharge_kw[b,t]`` (separate, continuous, no
binary: the wear cost makes simultaneous charge and discharge non-optimal, checked after the
solve), ``battery_kwh[b,t]`` (stored energy at the end of step t, bounded by the SOC window),
``battery_reserve_kw[b,t]`` (discharge the battery could add at short notice).
Constraints: ``battery_energy``, ``battery_terminal``, ``battery_reserve_power``,
``battery_reserve_energy``; naive formulation only: ``battery_mode_charge`` / ``battery_mode_discharge``
with a binary ``battery_charging[b,t]``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyomo.environ as pyo

from microgrid.plant.battery import (
    deliverable_from_stored_kwh,
    discharge_headroom_kw,
    energy_window_kwh,
    stored_energy_change_kwh,
    stored_energy_kwh,
)
from microgrid.site import Battery, Site
from optimizer.plan import PlanState


def define_battery(m: pyo.ConcreteModel, site: Site, dt_h: np.ndarray, naive: bool) -> None:
    """Add the battery variables, parameters and constraints to ``m`` (sets ``B``, ``T``).

    Every rule is the plant kernel's (:mod:`microgrid.plant.battery`), stated on the model's
    variables: the stored energy a step adds (:func:`~microgrid.plant.battery.stored_energy_change_kwh`),
    the SOC window (:func:`~microgrid.plant.battery.energy_window_kwh`), and the battery's part of
    the reserve (:func:`~microgrid.plant.battery.battery_reserve_kw`: the discharge headroom, and
    the energy deliverable from the step's end over the step).
    """
    bats = {b.name: b for b in site.batteries}
    T0 = next(iter(m.T)) if len(m.T) else 0
    Tn = list(m.T)[-1]
    m.battery_kwh0 = pyo.Param(m.B, mutable=True, initialize=0.0, within=pyo.Reals)
    m.battery_terminal_kwh = pyo.Param(m.B, mutable=True, initialize=0.0, within=pyo.Reals)
    m.battery_charge_kw = pyo.Var(m.B, m.T, bounds=lambda _, b, t: (0, bats[b].charge_power_kw))
    m.battery_discharge_kw = pyo.Var(m.B, m.T, bounds=lambda _, b, t: (0, bats[b].discharge_power_kw))
    m.battery_kwh = pyo.Var(m.B, m.T, bounds=lambda _, b, t: energy_window_kwh(bats[b]))
    m.battery_reserve_kw = pyo.Var(m.B, m.T, domain=pyo.NonNegativeReals)

    def energy(m: pyo.ConcreteModel, b: str, t: int) -> Any:
        prev = m.battery_kwh0[b] if t == T0 else m.battery_kwh[b, t - 1]
        return m.battery_kwh[b, t] == prev + stored_energy_change_kwh(
            bats[b], m.battery_charge_kw[b, t], m.battery_discharge_kw[b, t], float(dt_h[t]))
    m.battery_energy = pyo.Constraint(m.B, m.T, rule=energy)
    m.battery_terminal = pyo.Constraint(m.B, rule=lambda m, b: m.battery_kwh[b, Tn] >= m.battery_terminal_kwh[b])
    m.battery_reserve_power = pyo.Constraint(m.B, m.T, rule=lambda m, b, t: m.battery_reserve_kw[b, t] <= (
        discharge_headroom_kw(bats[b], m.battery_discharge_kw[b, t] - m.battery_charge_kw[b, t])))
    m.battery_reserve_energy = pyo.Constraint(m.B, m.T, rule=lambda m, b, t: (
        m.battery_reserve_kw[b, t] * dt_h[t] <= deliverable_from_stored_kwh(bats[b], m.battery_kwh[b, t])))
    if naive:
        m.battery_charging = pyo.Var(m.B, m.T, domain=pyo.Binary)
        m.battery_mode_charge = pyo.Constraint(m.B, m.T, rule=lambda m, b, t: (
            m.battery_charge_kw[b, t] <= bats[b].charge_power_kw * m.battery_charging[b, t]))
        m.battery_mode_discharge = pyo.Constraint(m.B, m.T, rule=lambda m, b, t: (
            m.battery_discharge_kw[b, t] <= bats[b].discharge_power_kw * (1 - m.battery_charging[b, t])))


def end_target_kwh(b: Battery, site: Site, e0_kwh: float) -> float:
    """Least stored energy at the horizon's end: the configured terminal SOC, else the start's
    (``horizon_end = "start_soc"``), else the SOC minimum (no target: the end is valued). [kWh]"""
    opt = site.optimizer
    lo, hi = energy_window_kwh(b)
    if opt.terminal_soc_pct is not None:
        target = stored_energy_kwh(b, opt.terminal_soc_pct)
    elif opt.horizon_end == "start_soc":
        target = e0_kwh
    else:
        target = lo
    return min(max(target, lo), hi)


def set_battery_state(m: pyo.ConcreteModel, site: Site, state: PlanState) -> None:
    """Update initial stored energy and the end target (:func:`end_target_kwh`)."""
    for b in site.batteries:
        e0 = stored_energy_kwh(b, state.soc_pct[b.name])
        m.battery_kwh0[b.name] = e0
        m.battery_terminal_kwh[b.name] = end_target_kwh(b, site, e0)
