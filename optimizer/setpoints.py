"""A plan step as device setpoints: the one mapping the live control loop and the backtest share.

:func:`setpoints_for_step` turns step ``index`` of a :class:`~optimizer.plan.Plan` into the
:class:`~microgrid.simulator.physics.Setpoints` that :mod:`telemetry.control` writes to the
controllers and that the physics-only backtest feeds to ``dispatch_step``, so both behave
the same. Pure.

The choices (a camp engineer reading the setpoint log should be able to predict each value):

* **Gensets.** Planned on -> mode ``"run"`` with a base load equal to the planned power,
  clamped to ``[min_kw, rated_kw]`` (a planned value below minimum load would wet-stack the
  engine; above rating the controller could not deliver it). Planned off -> ``"stop"``
  (control owns minimum up and down times; the plan respects them). A genset the plan does
  not mention stays in ``"auto"``, its controller's own safe mode. The grid-forming battery
  still takes any difference between forecast and actual load.
* **PV.** Limit 100 % unless the plan curtails at the step (more than
  :data:`CURTAIL_TOL_KW`) *and* no battery could store more then (each is planned to charge at
  its rating or to end the step within :data:`SOC_FULL_TOL_PCT` of its SOC maximum). A plan
  that curtails while a battery has room is a tie in its objective (the battery fills later the
  same day anyway, and charging wears it), but the forecast can be wrong: stored energy is
  still there if the afternoon clouds over, curtailed energy is not. The grid-forming battery
  stores the surplus and, once full, curtails by itself. Then each array gets the planned PV
  used in proportion to its DC size (kWp), as a percentage of its inverter's AC rating plus
  :data:`PV_MARGIN_PCT` percentage points (forecast error in the array split must not curtail
  more than the plan wants; the grid-forming battery curtails any remaining excess itself),
  within [0, 100].
* **Batteries.** Charge and discharge limits at rated (None): the grid-forming battery is the
  camp's slack, and a limit can only turn a forecast error (a load step, a cloud) into
  unserved load. The genset base loads already carry the plan's intent for the battery
  (charging from a running genset happens because its base load exceeds the net load).
  Optionally (``hold_battery=True``) a step where the plan *holds* the battery -- a genset
  planned on and the battery planned not to discharge (``battery_kw <= HOLD_TOL_KW``) -- gets
  a discharge limit equal to the HOMER operating reserve (``reserve.load_pct`` % of planned
  load + ``reserve.pv_pct`` % of planned PV), shared between batteries by discharge rating:
  enough to ride through a load step or a cloud, not enough to drain the charge the plan
  keeps for later. It is off by default: on the example camp's one-day demo it saved no fuel
  (2,447.5 L with it, 2,441.6 L without; no unserved load either way), and a reserve-sized
  limit on the only grid-forming unit is a blackout risk a camp engineer would not accept
  for nothing. The charge limit always stays rated.
* A plan with status ``"fallback"`` is a plan like any other and maps the same way.
"""

from __future__ import annotations

import math
from datetime import datetime

from microgrid.errors import PlanError
from microgrid.simulator.physics import Setpoints, battery_limits_kw
from microgrid.site import Site
from optimizer.plan import Plan

__all__ = ["CURTAIL_TOL_KW", "HOLD_TOL_KW", "PV_MARGIN_PCT", "SOC_FULL_TOL_PCT", "guard_empty_battery",
           "guard_full_battery", "guard_reserve", "setpoints_for_step", "step_at"]

#: Planned curtailment below this is rounding, not a curtailment. [kW]
CURTAIL_TOL_KW = 0.5
#: Planned battery power at or below this counts as "not discharging". [kW]
HOLD_TOL_KW = 0.5
#: Margin added to a PV curtailment limit. [% of inverter rating]
PV_MARGIN_PCT = 2.0
#: A battery planned within this of its SOC maximum counts as full. [percentage points]
SOC_FULL_TOL_PCT = 0.5


def step_at(plan: Plan, when: datetime) -> int | None:
    """Index of the plan step containing ``when`` (UTC-aware), None if outside the plan."""
    if not plan.time:
        return None
    for i, start in enumerate(plan.time):
        end_s = (start - plan.time[0]).total_seconds() + float(plan.dt_h[i]) * 3600.0
        if start <= when and (when - plan.time[0]).total_seconds() < end_s:
            return i
    return None


def _at(values, index: int, what: str) -> float:
    v = float(values[index])
    if not math.isfinite(v):
        raise PlanError(f"plan {what} at step {index} is not a number ({v!r})")
    return v


def setpoints_for_step(site: Site, plan: Plan, index: int, *, hold_battery: bool = False) -> Setpoints:
    """Device setpoints that carry out step ``index`` of ``plan``.

    Parameters
    ----------
    site : Site
        Device ratings (genset min/rated kW, PV kWp and inverter kW, battery ratings, reserve).
    plan : Plan
        Any plan (``optimal``, ``feasible`` or ``fallback``).
    index : int
        Step of the plan (0 = the step starting at ``plan.time[0]``).
    hold_battery : bool
        Limit the discharge of a battery the plan holds to the operating reserve (module
        docstring); default False (batteries always at rated).

    Returns
    -------
    Setpoints
        Every device of the site has an entry (see the module docstring for the rules).

    Raises
    ------
    PlanError
        ``index`` outside the plan, or a NaN in a value the mapping needs.
    """
    n = len(plan.time)
    if not 0 <= index < n:
        raise PlanError(f"plan step {index} does not exist (plan has {n} steps)")
    mode: dict[str, str] = {}
    base: dict[str, float | None] = {}
    for g in site.gensets:
        if g.name not in plan.genset_on:
            mode[g.name], base[g.name] = "auto", None
        elif _at(plan.genset_on[g.name], index, f"genset_on[{g.name}]") > 0.5:
            kw = _at(plan.genset_kw[g.name], index, f"genset_kw[{g.name}]")
            mode[g.name], base[g.name] = "run", min(max(kw, g.min_kw), g.rated_kw)
        else:
            mode[g.name], base[g.name] = "stop", None
    return Setpoints(genset_mode=mode, genset_kw=base,
                     pv_limit_pct=_pv_limits(site, plan, index),
                     battery_charge_limit_kw={b.name: None for b in site.batteries},
                     battery_discharge_limit_kw=_discharge_limits(site, plan, index, mode)
                     if hold_battery else {b.name: None for b in site.batteries})


def _pv_limits(site: Site, plan: Plan, index: int) -> dict[str, float]:
    """100 % each, or the planned PV used split by kWp plus the margin when the plan curtails
    and no battery could store more at the step."""
    if (_at(plan.pv_curtailed_kw, index, "pv_curtailed_kw") <= CURTAIL_TOL_KW or site.pv_kwp <= 0
            or _battery_room(site, plan, index)):
        return {a.name: 100.0 for a in site.pv_arrays}
    used = max(_at(plan.pv_used_kw, index, "pv_used_kw"), 0.0)
    out = {}
    for a in site.pv_arrays:
        share_kw = used * a.kwp / site.pv_kwp
        out[a.name] = min(max(100.0 * share_kw / a.inverter_kw + PV_MARGIN_PCT, 0.0), 100.0)
    return out


def _battery_room(site: Site, plan: Plan, index: int) -> bool:
    """Whether a battery the plan charges below its rating ends the step below its SOC maximum."""
    for b in site.batteries:
        if b.name not in plan.battery_kw or b.name not in plan.soc_pct:
            continue
        charge_kw = -_at(plan.battery_kw[b.name], index, f"battery_kw[{b.name}]")
        soc = _at(plan.soc_pct[b.name], index, f"soc_pct[{b.name}]")
        if charge_kw < b.charge_power_kw - CURTAIL_TOL_KW and soc < b.soc_max_pct - SOC_FULL_TOL_PCT:
            return True
    return False


def _discharge_limits(site: Site, plan: Plan, index: int,
                      mode: dict[str, str]) -> dict[str, float | None]:
    """None each, or the reserve share of a battery the plan holds (module docstring)."""
    out: dict[str, float | None] = {b.name: None for b in site.batteries}
    if not any(m == "run" for m in mode.values()):
        return out
    reserve_kw = (site.reserve.load_pct / 100.0 * max(_at(plan.load_kw, index, "load_kw"), 0.0)
                  + site.reserve.pv_pct / 100.0 * max(_at(plan.pv_used_kw, index, "pv_used_kw"), 0.0))
    rated = sum(b.discharge_power_kw for b in site.batteries)
    for b in site.batteries:
        if b.name not in plan.battery_kw:
            continue
        if _at(plan.battery_kw[b.name], index, f"battery_kw[{b.name}]") <= HOLD_TOL_KW:
            out[b.name] = min(reserve_kw * b.discharge_power_kw / rated, b.discharge_power_kw)
    return out


def guard_empty_battery(site: Site, setpoints: Setpoints, soc_pct: dict[str, float],
                        net_load_kw: float, look_ahead_h: float = 0.25) -> Setpoints:
    """Give the gensets the load when the battery cannot carry the camp until the next re-plan.

    The plan is made on a forecast; when the load runs above it, the grid-forming battery
    covers the difference until it reaches its SOC minimum, and then the rest would go
    unserved. So, when the energy above the minimum cannot supply the net load (measured load
    minus PV) beyond what the running gensets are set to deliver for ``look_ahead_h``: the
    running gensets drop their base loads and share the load up to their ratings, and if
    that is still short, the smallest stopped genset that covers the shortfall (else the
    largest) is set to run. Pure; the live control loop and the backtest both apply it after
    :func:`setpoints_for_step`.

    Parameters
    ----------
    soc_pct : dict
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
                 min(max(setpoints.genset_kw[g.name], g.min_kw), g.rated_kw) for g in running)
    available_kwh = sum(max(0.0, soc_pct.get(b.name, b.soc_min_pct) - b.soc_min_pct) / 100.0
                        * b.capacity_kwh * b.discharge_efficiency for b in site.batteries)
    if available_kwh >= (net_load_kw - set_kw) * look_ahead_h:
        return setpoints
    out = setpoints.with_(genset_kw={g.name: None for g in running})  # share, up to rating
    return _start_unit(site, out, running, net_load_kw - sum(g.rated_kw for g in running))


def guard_full_battery(site: Site, setpoints: Setpoints, soc_pct: dict[str, float]) -> Setpoints:
    """Running gensets follow the net load instead of their base loads while a battery is full.

    A base load is the plan's intent for a forecast; when the PV runs above it the grid-forming
    battery stores the difference, and once a battery is full (within :data:`SOC_FULL_TOL_PCT`
    of its SOC maximum) a genset held at its base load pushes PV off instead: the physics, like a
    real inverter, curtails PV before it lowers a genset. So every running genset drops its base
    load and shares the net load (down to its minimum load); the plan's commitment stands. Pure;
    the control loop and the backtest apply it after :func:`setpoints_for_step`.

    Parameters
    ----------
    soc_pct : dict
        Measured SOC per battery. [%]
    """
    full = any(soc_pct.get(b.name, -math.inf) >= b.soc_max_pct - SOC_FULL_TOL_PCT for b in site.batteries)
    held = {g.name: None for g in site.gensets
            if setpoints.mode(g.name) == "run" and setpoints.genset_kw.get(g.name) is not None}
    return setpoints.with_(genset_kw=held) if full and held else setpoints


def guard_reserve(site: Site, setpoints: Setpoints, soc_pct: dict[str, float], load_kw: float,
                  pv_kw: float, look_ahead_h: float = 0.25) -> Setpoints:
    """Start a genset when the camp would hold less operating reserve than the site's rule.

    With a grid-forming battery taking the rest of the load, the reserve is the rating of the
    running gensets plus what the batteries can still discharge for ``look_ahead_h`` (power,
    setpoint and SOC limits) minus the net load — the quantity
    :func:`optimizer.backtest.reserve_shortfall_kw` measures. When it is below
    ``reserve.load_pct`` % of the load plus ``reserve.pv_pct`` % of the PV, the smallest stopped
    genset that covers the shortfall (else the largest) is set to run. Pure; applied after
    :func:`guard_empty_battery` by the control loop and the backtest.

    Parameters
    ----------
    soc_pct : dict
        Measured SOC per battery. [%]
    load_kw, pv_kw : float
        Measured load and PV. [kW]
    """
    if not site.gensets or not (math.isfinite(load_kw) and math.isfinite(pv_kw)):
        return setpoints
    running = [g for g in site.gensets if setpoints.mode(g.name) == "run"]
    discharge_kw = sum(battery_limits_kw(b, soc_pct.get(b.name, b.soc_min_pct), setpoints, look_ahead_h)[1]
                       for b in site.batteries)
    need_kw = site.reserve.load_pct / 100.0 * load_kw + site.reserve.pv_pct / 100.0 * pv_kw
    held_kw = sum(g.rated_kw for g in running) + discharge_kw - (load_kw - pv_kw)
    return _start_unit(site, setpoints, running, need_kw - held_kw)


def _start_unit(site: Site, setpoints: Setpoints, running: list, short_kw: float) -> Setpoints:
    """Set the smallest stopped genset whose rating covers ``short_kw`` (else the largest) to run,
    sharing the load; unchanged when nothing is short or every unit runs."""
    stopped = [g for g in site.gensets if g not in running]
    if short_kw <= 1e-9 or not stopped:
        return setpoints
    covering = [g for g in stopped if g.rated_kw >= short_kw]
    unit = min(covering, key=lambda g: g.rated_kw) if covering else max(stopped, key=lambda g: g.rated_kw)
    return setpoints.with_(genset_mode={unit.name: "run"}, genset_kw={unit.name: None})
