"""The plant's step model: one step of the camp's power balance (pure, docs/architecture.md §1).

The grid-forming battery inverter holds the bus: PV feeds what it can (within its power limit),
running gensets deliver their base load or share the residual, and the battery takes whatever
remains within its power limits and SOC window. Excess PV is curtailed; a deficit the battery
cannot cover is recorded as unserved load, never hidden. The backtest and the virtual camp both
run this model.

Balance each step: ``load = Σ pv_used + Σ genset + Σ battery + unserved``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from microgrid.errors import InputError
from microgrid.plant.autostart import AutoStartRule, auto_charge_request_kw, decide_running
from microgrid.plant.battery import battery_flows_kw, battery_limits_kw, soc_step_pct
from microgrid.plant.gensets import below_min_load, genset_base_kw, share_by_rating
from microgrid.plant.state import CampState, StepResult
from microgrid.plant.vocabulary import Setpoints
from microgrid.site import Site

__all__ = ["dispatch_step", "setpoint_battery_limits_kw"]

_NO_AUTO_RULE = AutoStartRule()


def setpoint_battery_limits_kw(site: Site, soc_pct: Mapping[str, float], setpoints: Setpoints,
                               dt_h: float) -> dict[str, tuple[float, float]]:
    """Per battery, most it can charge and discharge over ``dt_h`` under the limit setpoints
    (:func:`~microgrid.plant.battery.battery_limits_kw`). Batteries without an SOC in ``soc_pct``
    are taken at their SOC minimum (nothing to discharge). [kW]"""
    return {b.name: battery_limits_kw(b, soc_pct.get(b.name, b.soc_min_pct), dt_h,
                                      charge_limit_kw=setpoints.battery_charge_limit_kw.get(b.name),
                                      discharge_limit_kw=setpoints.battery_discharge_limit_kw.get(b.name))
            for b in site.batteries}


def _genset_outputs(site: Site, on: Mapping[str, bool], setpoints: Setpoints,
                    residual_kw: float) -> dict[str, float]:
    """Base-load gensets at their clamped setpoint; the others share what remains by rating."""
    out = {g.name: 0.0 for g in site.gensets}
    sharing = []
    for g in site.gensets:
        if not on[g.name]:
            continue
        sp = setpoints.genset_kw.get(g.name)
        if sp is None:
            sharing.append(g)
        else:
            out[g.name] = genset_base_kw(g, sp)
    if sharing:
        out.update(share_by_rating(sharing, residual_kw - sum(out.values())))
    return out


def dispatch_step(site: Site, state: CampState, load_kw: float,
                  pv_available_kw: Mapping[str, float], setpoints: Setpoints, dt_h: float,
                  *, auto: AutoStartRule = _NO_AUTO_RULE) -> tuple[CampState, StepResult]:
    """Advance the camp by one step of ``dt_h`` hours.

    Parameters
    ----------
    site : Site
    state : CampState
        State at the start of the step (not modified).
    load_kw : float
        Mean camp load demanded over the step. [kW]
    pv_available_kw : Mapping[str, float]
        Mean PV each array could feed (before its power limit). [kW]
    setpoints : Setpoints
        What control has written; devices missing from it are at their default.
    dt_h : float
        Step length. [h]
    auto : AutoStartRule, optional
        Thresholds of the gensets' own auto-start logic (mode ``"auto"``).

    Returns
    -------
    (CampState, StepResult)
        State at the end of the step and the step's mean flows.

    Raises
    ------
    InputError
        A load or PV value that is not a finite number (missing data must be filled by the
        caller: the physics cannot guess it), or a negative load.
    """
    _check_inputs(load_kw, pv_available_kw)
    pv_cap = {a.name: min(max(pv_available_kw.get(a.name, 0.0), 0.0),
                          a.inverter_kw * min(max(setpoints.pv_limit_pct.get(a.name, 100.0), 0.0), 100.0) / 100.0)
              for a in site.pv_arrays}
    pv_total = sum(pv_cap.values())
    limits = setpoint_battery_limits_kw(site, state.soc_pct, setpoints, dt_h)
    on = decide_running(site, state, setpoints, load_kw - pv_total,
                        sum(d for _, d in limits.values()), auto)
    charge_kw = auto_charge_request_kw(site, state, setpoints, on, limits, auto)
    gen = _genset_outputs(site, on, setpoints, load_kw - pv_total + charge_kw)
    residual = load_kw - pv_total - sum(gen.values())
    bat = battery_flows_kw(site.batteries, limits, residual)
    residual -= sum(bat.values())
    pv_used = dict(pv_cap)
    if residual < 0 and pv_total > 0:  # excess: curtail PV, in proportion to what each feeds
        cut = min(-residual, pv_total)
        pv_used = {k: v - cut * v / pv_total for k, v in pv_cap.items()}
        residual += cut
    below = {g.name: False for g in site.gensets}
    if residual < -1e-9:  # still excess: gensets' minimum load; reduce them as a last resort
        gtot = sum(gen.values())
        cut = min(-residual, gtot)
        for g in site.gensets:
            if gen[g.name] > 0:
                gen[g.name] -= cut * gen[g.name] / gtot
                below[g.name] = below_min_load(g, gen[g.name])
        residual += cut
    unserved = max(residual, 0.0)
    new_state = _advance_state(site, state, on, gen, bat, pv_used, pv_available_kw,
                               load_kw - unserved, unserved, dt_h)
    fuel = {g.name: g.fuel_rate_lph(gen[g.name], on[g.name]) * dt_h for g in site.gensets}
    result = StepResult(load_kw=load_kw,
                        pv_available_kw={a.name: float(pv_available_kw.get(a.name, 0.0)) for a in site.pv_arrays},
                        pv_used_kw=pv_used,
                        pv_curtailed_kw=sum(max(pv_available_kw.get(k, 0.0), 0.0) - v for k, v in pv_used.items()),
                        genset_kw=gen, genset_on=dict(on), genset_below_min=below, fuel_l=fuel,
                        battery_kw=bat, soc_pct=dict(new_state.soc_pct), unserved_kw=unserved, dt_h=dt_h)
    return new_state, result


def _check_inputs(load_kw: float, pv_available_kw: Mapping[str, float]) -> None:
    if not math.isfinite(load_kw) or load_kw < 0:
        raise InputError(f"load must be a finite number >= 0, got {load_kw!r}", column="load_kw")
    for name, v in pv_available_kw.items():
        if not math.isfinite(v):
            raise InputError(f"available PV must be a finite number, got {v!r}",
                             column=f"pv_available_kw__{name}")


_COUNTERS = ("soc_pct", "genset_running", "genset_state_min", "genset_run_hours_h", "genset_starts",
             "genset_energy_total_kwh", "genset_fuel_total_l", "genset_below_min_h",
             "pv_energy_total_kwh", "pv_curtailed_total_kwh", "battery_charge_total_kwh",
             "battery_discharge_total_kwh")


def _advance_state(site: Site, s: CampState, on: Mapping[str, bool], gen: Mapping[str, float],
                   bat: Mapping[str, float], pv_used: Mapping[str, float], pv_available: Mapping[str, float],
                   served_kw: float, unserved_kw: float, dt_h: float) -> CampState:
    dt_min = dt_h * 60.0
    copies: dict[str, Any] = {f: dict(getattr(s, f)) for f in _COUNTERS}
    n = replace(s, **copies)
    for b in site.batteries:
        p = bat[b.name]
        n.soc_pct[b.name] = soc_step_pct(b, s.soc_pct[b.name], p, dt_h)
        if p >= 0:
            n.battery_discharge_total_kwh[b.name] += p * dt_h
        else:
            n.battery_charge_total_kwh[b.name] += -p * dt_h
    for g in site.gensets:
        k, run = g.name, on[g.name]
        if run != s.genset_running[k]:
            n.genset_state_min[k] = dt_min
            n.genset_starts[k] += int(run)
        else:
            n.genset_state_min[k] += dt_min
        n.genset_running[k] = run
        if run:
            n.genset_run_hours_h[k] += dt_h
            n.genset_energy_total_kwh[k] += gen[k] * dt_h
            n.genset_fuel_total_l[k] += g.fuel_rate_lph(gen[k], True) * dt_h
            if below_min_load(g, gen[k]):
                n.genset_below_min_h[k] += dt_h
    for a in site.pv_arrays:
        n.pv_energy_total_kwh[a.name] += pv_used[a.name] * dt_h
        n.pv_curtailed_total_kwh[a.name] += (max(pv_available.get(a.name, 0.0), 0.0)
                                             - pv_used[a.name]) * dt_h
    n.load_energy_total_kwh = s.load_energy_total_kwh + served_kw * dt_h
    n.unserved_total_kwh = s.unserved_total_kwh + unserved_kw * dt_h
    return n
