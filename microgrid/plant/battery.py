"""Battery rules: power and energy limits of a step, the SOC update at the window's edges, the
capacity-weighted SOC of several batteries, the reserve a battery holds, and the stored energy a
run used up (docs/architecture.md §1).

The SOC change of a step of constant power is :meth:`microgrid.site.Battery.soc_after_pct`:
charging stores ``charge_efficiency`` of the power drawn, discharging draws
``power / discharge_efficiency`` from storage. Battery power positive = discharge.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar, cast

from microgrid.plant.sharing import share
from microgrid.site import Battery

__all__ = ["battery_flows_kw", "battery_limits_kw", "battery_reserve_kw", "capacity_weighted_soc_pct",
           "deliverable_energy_kwh", "deliverable_from_stored_kwh", "discharge_headroom_kw", "energy_to_restore_kwh",
           "energy_window_kwh", "soc_step_pct", "stored_energy_change_kwh", "stored_energy_kwh",
           "stored_energy_to_restore_kwh"]

#: A number, a numpy array or a linear expression of an optimisation model.
Num = TypeVar("Num")


def capacity_weighted_soc_pct(batteries: Sequence[Battery], soc_pct: Mapping[str, Num | None]) -> Num | None:
    """SOC of several batteries as one, weighted by capacity (numbers or per-step arrays). [%]

    Batteries whose SOC is missing from ``soc_pct`` (absent, None or a NaN number) are left out;
    None when no battery has one.
    """
    present: list[tuple[Any, float]] = [
        (s, b.capacity_kwh) for b in batteries
        if (s := soc_pct.get(b.name)) is not None and not (isinstance(s, float) and math.isnan(s))]
    cap = sum(c for _, c in present)
    if cap <= 0:
        return None
    return cast(Num, sum(s * c for s, c in present) / cap)


def battery_limits_kw(bat: Battery, soc_pct: float, dt_h: float, *,
                      charge_limit_kw: float | None = None, discharge_limit_kw: float | None = None,
                      floor_pct: float | None = None, ceil_pct: float | None = None) -> tuple[float, float]:
    """Most a battery can charge and discharge over ``dt_h`` (AC side, both ≥ 0). [kW]

    Parameters
    ----------
    bat : Battery
    soc_pct : float
        SOC at the start of the step. [%]
    dt_h : float
        Step length. [h]
    charge_limit_kw, discharge_limit_kw : float, optional
        Limit setpoints (None = rated); never above the rating. [kW]
    floor_pct, ceil_pct : float, optional
        SOC window the step must stay in (default: the battery's ``soc_min_pct`` /
        ``soc_max_pct``); a strategy may keep a guard above the minimum. [%]

    Returns
    -------
    (charge_kw, discharge_kw)
        Power limits, then the energy the window leaves: discharging removes ``P·dt/η_d`` from
        the store, charging adds ``P·dt·η_c``.
    """
    floor = bat.soc_min_pct if floor_pct is None else floor_pct
    ceil = bat.soc_max_pct if ceil_pct is None else ceil_pct
    ch = bat.charge_power_kw if charge_limit_kw is None else min(bat.charge_power_kw, max(0.0, charge_limit_kw))
    dis = (bat.discharge_power_kw if discharge_limit_kw is None
           else min(bat.discharge_power_kw, max(0.0, discharge_limit_kw)))
    room_kwh = (ceil - soc_pct) / 100.0 * bat.capacity_kwh
    avail_kwh = (soc_pct - floor) / 100.0 * bat.capacity_kwh
    ch = min(ch, max(0.0, room_kwh / (bat.charge_efficiency * dt_h)))
    dis = min(dis, max(0.0, avail_kwh * bat.discharge_efficiency / dt_h))
    return ch, dis


def stored_energy_kwh(bat: Battery, soc_pct: Num) -> Num:
    """Energy stored at ``soc_pct`` (numbers, arrays or linear model expressions). [kWh]"""
    return cast(Num, bat.capacity_kwh * soc_pct / 100.0)  # type: ignore[operator]


def deliverable_from_stored_kwh(bat: Battery, stored_kwh: Num) -> Num:
    """Energy (AC side) the battery delivers discharging from ``stored_kwh`` down to its SOC
    minimum: ``(E − E_min)·η_d``; linear, so the MILP states the same rule (negative below the
    minimum: callers with a number clip it, :func:`deliverable_energy_kwh`). [kWh]"""
    e_min = energy_window_kwh(bat)[0]
    return cast(Num, (stored_kwh - e_min) * bat.discharge_efficiency)  # type: ignore[operator]


def deliverable_energy_kwh(bat: Battery, soc_pct: float) -> float:
    """Energy the battery can still deliver (AC side) before its SOC minimum. [kWh]"""
    return max(0.0, deliverable_from_stored_kwh(bat, stored_energy_kwh(bat, soc_pct)))


def discharge_headroom_kw(bat: Battery, power_kw: Num, *, discharge_limit_kw: float | None = None) -> Num:
    """Discharge power left on top of ``power_kw`` (+ discharge) under the discharge limit
    setpoint (None = rated): ``limit − power``; linear, the MILP's ``battery_reserve_power``. [kW]"""
    limit = (bat.discharge_power_kw if discharge_limit_kw is None
             else min(bat.discharge_power_kw, max(0.0, discharge_limit_kw)))
    return cast(Num, limit - power_kw)  # type: ignore[operator]


def battery_reserve_kw(bat: Battery, soc_end_pct: float, power_kw: float, dt_h: float, *,
                       discharge_limit_kw: float | None = None) -> float:
    """Discharge a battery could add at short notice on top of ``power_kw``. [kW]

    The power left below its discharge limit, and no more than the stored energy above its SOC
    minimum at the end of the step can deliver over ``dt_h``. The reserve rule's battery part:
    the rule-based plans, the reserve guard and the backtest's reserve metric use it, and the
    MILP's ``battery_reserve_power`` / ``battery_reserve_energy`` constraints state it linearly
    with :func:`discharge_headroom_kw` and :func:`deliverable_from_stored_kwh`.

    Parameters
    ----------
    soc_end_pct : float
        SOC at the end of the step in which ``power_kw`` flows (the current SOC when looking
        ahead with ``power_kw = 0``). [%]
    power_kw : float
        Power the battery already delivers (+ discharge). [kW]
    dt_h : float
        How long the reserve must last. [h]
    discharge_limit_kw : float, optional
        Discharge limit setpoint (None = rated). [kW]
    """
    return max(0.0, min(discharge_headroom_kw(bat, power_kw, discharge_limit_kw=discharge_limit_kw),
                        deliverable_energy_kwh(bat, soc_end_pct) / dt_h))


def battery_flows_kw(batteries: Sequence[Battery], limits: Mapping[str, tuple[float, float]],
                     residual_kw: float) -> dict[str, float]:
    """Batteries take the residual (+ discharge, − charge) in proportion to their power rating,
    each within its limit of the step (water filling, :func:`~microgrid.plant.sharing.share`). [kW]

    Parameters
    ----------
    limits : Mapping[str, tuple[float, float]]
        Per battery, most it can charge and discharge this step (:func:`battery_limits_kw`). [kW]
    residual_kw : float
        What the bus needs of the batteries (negative: a surplus to store). [kW]
    """
    if residual_kw >= 0:
        weights = {b.name: b.discharge_power_kw for b in batteries}
        return share(residual_kw, weights, {k: d for k, (_, d) in limits.items()})
    weights = {b.name: b.charge_power_kw for b in batteries}
    parts = share(-residual_kw, weights, {k: c for k, (c, _) in limits.items()})
    return {k: -v for k, v in parts.items()}


def soc_step_pct(bat: Battery, soc_pct: float, power_kw: float, dt_h: float) -> float:
    """SOC after a step of ``power_kw`` (+ discharge) for ``dt_h``, kept inside the SOC window
    when it started inside it (rounding at the edges). [%]"""
    soc = bat.soc_after_pct(soc_pct, power_kw, dt_h)
    if bat.soc_min_pct <= soc_pct <= bat.soc_max_pct:
        soc = min(max(soc, bat.soc_min_pct), bat.soc_max_pct)
    return soc


def energy_window_kwh(bat: Battery) -> tuple[float, float]:
    """Stored energy at the SOC minimum and maximum. [kWh]"""
    return stored_energy_kwh(bat, bat.soc_min_pct), stored_energy_kwh(bat, bat.soc_max_pct)


def stored_energy_change_kwh(bat: Battery, charge_kw: Num, discharge_kw: Num, dt_h: float) -> Num:
    """Change of stored energy over a step with separate charge and discharge power (both ≥ 0):
    ``dt·(η_c·charge − discharge/η_d)``; also a linear expression for the MILP. [kWh]"""
    change = dt_h * (bat.charge_efficiency * charge_kw - discharge_kw / bat.discharge_efficiency)  # type: ignore[operator]
    return cast(Num, change)


def energy_to_restore_kwh(bat: Battery, stored_kwh: Num) -> Num:
    """Energy a charger must draw to put ``stored_kwh`` into the battery: ``E / η_c`` (numbers,
    arrays or linear model expressions). [kWh]"""
    return cast(Num, stored_kwh / bat.charge_efficiency)  # type: ignore[operator]


def stored_energy_to_restore_kwh(batteries: Sequence[Battery], soc_start_pct: Mapping[str, float],
                                 soc_end_pct: Mapping[str, float]) -> float:
    """Genset energy it would take to put back the stored energy a run used up (negative when the
    batteries gained): ``Σ (SOC₀ − SOC₁)·capacity / η_c``. [kWh]

    Two runs over the same window that end at different SOCs compare fairly once this is
    counted (SOC-adjusted renewable fraction, SOC-adjusted fuel).
    """
    return sum(energy_to_restore_kwh(b, stored_energy_kwh(b, soc_start_pct[b.name] - soc_end_pct[b.name]))
               for b in batteries)
