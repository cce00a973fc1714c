"""The guards between a plan's setpoints and the plant, and the one control chain that applies them.

A plan is made on a forecast. When the camp runs away from it, four guards act on the latest
measurements before the setpoints go out: :func:`guard_full_battery` (a full battery: the running
gensets give up their base loads so they do not push PV off, and go back to their controllers'
own auto mode while the PV covers the load), :func:`guard_pv_room` (base loads that, with more
PV than forecast, would charge the battery beyond what it can take are lowered),
:func:`guard_empty_battery` (the battery cannot carry the measured net load until the next plan)
and :func:`guard_reserve` (the camp would hold less operating reserve than the site's rule).
:func:`control_setpoints` chains the plan-step mapping and the four guards in that order; the live
service and the backtest both call it, after looking the step up with
:func:`optimizer.setpoints.step_at` (docs/architecture.md §8). Pure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from microgrid.plant import Setpoints
from microgrid.plant.battery import battery_limits_kw, battery_reserve_kw, deliverable_energy_kwh
from microgrid.plant.gensets import genset_base_kw, smallest_cover
from microgrid.plant.reserve import reserve_shortfall_kw
from microgrid.site import Genset, Site
from optimizer.plan import Plan
from optimizer.setpoints import SOC_FULL_TOL_PCT, setpoints_for_step

__all__ = ["Measured", "control_setpoints", "guard_empty_battery", "guard_full_battery", "guard_pv_room",
           "guard_reserve"]


@dataclass(frozen=True)
class Measured:
    """The latest measurements the guards judge by.

    Attributes
    ----------
    soc_pct : Mapping[str, float]
        SOC of every battery. [%]
    load_kw, pv_kw : float
        Camp load and PV fed. [kW]
    """

    soc_pct: Mapping[str, float]
    load_kw: float
    pv_kw: float


def control_setpoints(site: Site, plan: Plan, index: int | None, measured: Measured | None,
                      look_ahead_h: float) -> Setpoints:
    """What control writes for step ``index`` of ``plan``, after the guards.

    Parameters
    ----------
    index : int or None
        The plan step (:func:`optimizer.setpoints.step_at`); None when the plan does not cover
        the instant: every device in its own safe mode (gensets ``auto``, limits released).
    measured : Measured or None
        None when a measurement the guards need is missing: the plan's setpoints unguarded.
    look_ahead_h : float
        How long the battery must carry its share (the time until the next plan or step). [h]
    """
    if index is None:
        return Setpoints.default(site)
    setpoints = setpoints_for_step(site, plan, index)
    if measured is None:
        return setpoints
    setpoints = guard_full_battery(site, setpoints, measured.soc_pct, measured.load_kw - measured.pv_kw)
    setpoints = guard_pv_room(site, setpoints, measured.soc_pct, measured.load_kw - measured.pv_kw,
                              look_ahead_h=look_ahead_h)
    setpoints = guard_empty_battery(site, setpoints, measured.soc_pct, measured.load_kw - measured.pv_kw,
                                    look_ahead_h=look_ahead_h)
    return guard_reserve(site, setpoints, measured.soc_pct, measured.load_kw, measured.pv_kw,
                         look_ahead_h=look_ahead_h)


def guard_full_battery(site: Site, setpoints: Setpoints, soc_pct: Mapping[str, float],
                       net_load_kw: float = math.nan) -> Setpoints:
    """Running gensets follow the net load instead of their base loads while a battery is full,
    and go back to auto while the PV covers the load as well.

    A base load is the plan's intent for a forecast; when the PV runs above it the grid-forming
    battery stores the difference, and once a battery is full (within
    :data:`~optimizer.setpoints.SOC_FULL_TOL_PCT` of its SOC maximum) a genset held at its base
    load pushes PV off instead: the plant, like a real inverter, curtails PV before it lowers a
    genset (:func:`microgrid.plant.step.dispatch_step`). So every running genset drops its base
    load and shares the net load (down to its minimum load). When, besides, the measured PV
    covers the whole load (``net_load_kw`` <= 0), even a genset at its minimum load only pushes
    PV off: the running units are handed back to their controllers' auto mode, whose own timers
    stop them once their minimum run time is over (:func:`microgrid.plant.autostart.decide_running`;
    the reserve guard after this one starts a unit again if the rule needs it). Otherwise the
    plan's commitment stands.

    Parameters
    ----------
    soc_pct : Mapping[str, float]
        Measured SOC per battery; a battery without one is not full. [%]
    net_load_kw : float, optional
        Measured load minus PV; NaN (unknown) keeps the commitment. [kW]
    """
    full = any(soc_pct.get(b.name, -math.inf) >= b.soc_max_pct - SOC_FULL_TOL_PCT for b in site.batteries)
    running = [g.name for g in site.gensets if setpoints.mode(g.name) == "run"]
    if not (full and running):
        return setpoints
    if math.isfinite(net_load_kw) and net_load_kw <= 0:
        return setpoints.with_(genset_mode={g: "auto" for g in running}, genset_kw={g: None for g in running})
    held: dict[str, float | None] = {g: None for g in running if setpoints.genset_kw.get(g) is not None}
    return setpoints.with_(genset_kw=held) if held else setpoints


def guard_pv_room(site: Site, setpoints: Setpoints, soc_pct: Mapping[str, float], net_load_kw: float,
                  look_ahead_h: float = 0.25) -> Setpoints:
    """Lower the running gensets' base loads so diesel does not push PV off.

    A plan sets base loads above the net load to charge the battery with diesel, sized on its PV
    forecast. When more PV comes, the base loads plus the PV exceed the load plus what the
    batteries can take (their charge limits and the room left below their SOC maxima over
    ``look_ahead_h``), and the plant curtails PV before it lowers a genset. So the base loads
    are scaled down together by the excess (each still held within its unit's minimum and
    rating, :func:`~microgrid.plant.gensets.genset_base_kw`); the commitment stands.

    Parameters
    ----------
    soc_pct : Mapping[str, float]
        Measured SOC per battery; a battery without one takes nothing. [%]
    net_load_kw : float
        Measured load minus PV; NaN leaves the setpoints alone. [kW]
    look_ahead_h : float
        The step the batteries' room is judged over. [h]
    """
    base = {g.name: genset_base_kw(g, kw) for g in site.gensets
            if setpoints.mode(g.name) == "run" and (kw := setpoints.genset_kw.get(g.name)) is not None}
    if not base or not math.isfinite(net_load_kw):
        return setpoints
    room_kw = sum(battery_limits_kw(b, soc_pct[b.name], look_ahead_h,
                                    charge_limit_kw=setpoints.battery_charge_limit_kw.get(b.name))[0]
                  for b in site.batteries if b.name in soc_pct)
    total_kw = sum(base.values())
    excess_kw = total_kw - net_load_kw - room_kw  # PV above the load needs the same room
    if excess_kw <= 1e-6:
        return setpoints
    scale = max(total_kw - excess_kw, 0.0) / total_kw
    return setpoints.with_(genset_kw={g: kw * scale for g, kw in base.items()})


def guard_empty_battery(site: Site, setpoints: Setpoints, soc_pct: Mapping[str, float],
                        net_load_kw: float, look_ahead_h: float = 0.25) -> Setpoints:
    """Give the gensets the load when the battery cannot carry the camp until the next re-plan.

    The plan is made on a forecast; when the load runs above it, the grid-forming battery
    covers the difference until it reaches its SOC minimum, and then the rest would go
    unserved. So, when the energy above the minimum cannot supply the net load (measured load
    minus PV) beyond what the running gensets are set to deliver for ``look_ahead_h``: the
    running gensets drop their base loads and share the load up to their ratings, and if
    that is still short, the smallest stopped genset that covers the shortfall (else the
    largest) is set to run.

    Parameters
    ----------
    soc_pct : Mapping[str, float]
        Measured SOC per battery. [%]
    net_load_kw : float
        Measured load minus PV. [kW]
    look_ahead_h : float
        How long the battery must be able to carry its share. [h]
    """
    if not site.gensets or net_load_kw <= 0 or not math.isfinite(net_load_kw):
        return setpoints
    running = [g for g in site.gensets if setpoints.mode(g.name) == "run"]
    set_kw = sum(g.rated_kw if setpoints.genset_kw.get(g.name) is None else
                 genset_base_kw(g, setpoints.genset_kw[g.name] or 0.0) for g in running)
    available_kwh = sum(deliverable_energy_kwh(b, soc_pct.get(b.name, b.soc_min_pct)) for b in site.batteries)
    if available_kwh >= (net_load_kw - set_kw) * look_ahead_h:
        return setpoints
    out = setpoints.with_(genset_kw={g.name: None for g in running})  # share, up to rating
    return _start_unit(site, out, running, net_load_kw - sum(g.rated_kw for g in running))


def guard_reserve(site: Site, setpoints: Setpoints, soc_pct: Mapping[str, float], load_kw: float,
                  pv_kw: float, look_ahead_h: float = 0.25) -> Setpoints:
    """Start a genset when the camp would hold less operating reserve than the site's rule.

    With a grid-forming battery taking the rest of the load, the reserve held is the rating of
    the running gensets plus what the batteries can still discharge for ``look_ahead_h``
    (:func:`~microgrid.plant.battery.battery_reserve_kw` under the limit setpoints) minus the
    net load. When it is below the rule (:func:`~microgrid.plant.reserve.reserve_required_kw`),
    the smallest stopped genset that covers the shortfall (else the largest) is set to run.

    Parameters
    ----------
    soc_pct : Mapping[str, float]
        Measured SOC per battery. [%]
    load_kw, pv_kw : float
        Measured load and PV. [kW]
    """
    if not site.gensets or not (math.isfinite(load_kw) and math.isfinite(pv_kw)):
        return setpoints
    running = [g for g in site.gensets if setpoints.mode(g.name) == "run"]
    discharge_kw = sum(battery_reserve_kw(b, soc_pct.get(b.name, b.soc_min_pct), 0.0, look_ahead_h,
                                          discharge_limit_kw=setpoints.battery_discharge_limit_kw.get(b.name))
                       for b in site.batteries)
    held_kw = sum(g.rated_kw for g in running) + discharge_kw - (load_kw - pv_kw)
    return _start_unit(site, setpoints, running, reserve_shortfall_kw(site.reserve, load_kw, pv_kw, held_kw))


def _start_unit(site: Site, setpoints: Setpoints, running: Sequence[Genset], short_kw: float) -> Setpoints:
    """Set the smallest stopped genset whose rating covers ``short_kw`` (else the largest) to run,
    sharing the load; unchanged when nothing is short or every unit runs."""
    if short_kw <= 1e-9:
        return setpoints
    chosen = smallest_cover([g for g in site.gensets if g not in running], short_kw, max_units=1)
    if not chosen:
        return setpoints
    return setpoints.with_(genset_mode={chosen[0].name: "run"}, genset_kw={chosen[0].name: None})
