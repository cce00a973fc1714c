"""A plan step as device setpoints: the one mapping the live control loop and the backtest share.

:func:`setpoints_for_step` turns step ``index`` of a :class:`~optimizer.plan.Plan` into the
:class:`~microgrid.plant.Setpoints` that :mod:`telemetry.control` writes to the
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

import numpy as np

from microgrid.errors import PlanError
from microgrid.plant import Setpoints
from microgrid.plant.gensets import genset_base_kw
from microgrid.plant.reserve import reserve_required_kw
from microgrid.site import Site
from optimizer.plan import Plan

__all__ = ["CURTAIL_TOL_KW", "HOLD_TOL_KW", "PV_MARGIN_PCT", "SOC_FULL_TOL_PCT", "setpoints_for_step", "step_at"]

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


def _at(values: np.ndarray, index: int, what: str) -> float:
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
            mode[g.name], base[g.name] = "run", genset_base_kw(g, kw)
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
    reserve_kw = reserve_required_kw(site.reserve, max(_at(plan.load_kw, index, "load_kw"), 0.0),
                                     max(_at(plan.pv_used_kw, index, "pv_used_kw"), 0.0))
    rated = sum(b.discharge_power_kw for b in site.batteries)
    for b in site.batteries:
        if b.name not in plan.battery_kw:
            continue
        if _at(plan.battery_kw[b.name], index, f"battery_kw[{b.name}]") <= HOLD_TOL_KW:
            out[b.name] = min(reserve_kw * b.discharge_power_kw / rated, b.discharge_power_kw)
    return out
