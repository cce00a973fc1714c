"""Rolling-horizon backtest: a strategy operates the plant's step model over simulated days.

The loop is the live service's plan and control loops without Modbus or clocks (pure, no I/O):

1. The camp's conditions come from the :class:`~microgrid.plant.conditions.ConditionsSource` the
   caller passes (the virtual camp's seeded weather and load, or measured history), with
   ``warmup_days`` of history before ``start`` that the realistic forecasters learn from (not
   simulated, not counted) and one horizon after the end (perfect forecasts).
2. At every re-plan time (``replan_every_min``) the planner gets :class:`PlanInputs` for
   ``site.optimizer.horizon_h`` from the forecast — ``"perfect"``: the truth;
   ``"realistic"``: the load p50 and the PV quantile the site trusts (:mod:`optimizer.trusted_pv`)
   of :class:`~forecasts.rolling.RollingForecaster` (the real PV and load forecasters on the
   simulated history, past values only) — and the :class:`PlanState` of the
   physics' :class:`CampState`. One planner object serves the whole run, so the MILP re-solves
   its model in place.
3. Every physics step until the next re-plan: the live control loop's chain
   (:func:`optimizer.setpoints.step_at`, then :func:`optimizer.guards.control_setpoints`: the
   plan step's setpoints and the guards on the measured load, PV and SOC), and the kernel's step
   model (:func:`microgrid.plant.dispatch_step`) with the *actual* load and PV. The guards see
   the step's own load and PV (``guards_on_step=True``, the default): the live control loop
   judges by measurements seconds old, far inside a 15-min physics step, which is also what the
   rules below see. ``guards_on_step=False`` gives them the previous step's means instead (a
   control loop as slow as the physics step).

Rule-based strategies (load following, cycle charging) are HOMER's rules: they decide each step
from the load and PV of that step and have no look-ahead. With ``rules_on_measured=True`` (the
default) they re-plan every physics step on the step's actual load and PV — what a genset
controller running the rule does with its measurements, and how HOMER evaluates them — still
through plan -> ``setpoints_for_step`` -> guards (on the same step's values) -> physics. Fed a
forecast every ``replan_every_min`` instead, the base-load setpoints would follow the forecast
rather than the load and the battery would absorb the error, which is not the rule a camp runs;
``rules_on_measured=False`` gives that variant. Forecast quality therefore matters to the MILP only.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Callable

import numpy as np
import pandas as pd

from forecasts.rolling import RollingForecaster
from microgrid.errors import InputError
from microgrid.plant import CampState, Setpoints, StepResult, dispatch_step
from microgrid.plant.battery import battery_reserve_kw, capacity_weighted_soc_pct, stored_energy_to_restore_kwh
from microgrid.plant.conditions import ConditionsSource, pv_column
from microgrid.plant.gensets import genset_headroom_kw, marginal_fuel_l_per_kwh
from microgrid.plant.reserve import reserve_shortfall_kw as rule_shortfall_kw
from microgrid.site import Site
from optimizer.backtest_report import BacktestResult
from optimizer.guards import Measured, control_setpoints
from optimizer.model import MilpOptions
from optimizer.plan import Plan, PlanInputs, PlanState
from optimizer.planner import STRATEGIES, make_planner
from optimizer.setpoints import step_at
from optimizer.trusted_pv import trusted_pv_kw

__all__ = ["FORECASTS", "WARMUP_DAYS", "backtest", "reserve_shortfall_kw", "soc_change_l"]

FORECASTS = ("perfect", "realistic")
#: History before ``start`` the realistic forecasters learn from. [d]
WARMUP_DAYS = 14

Progress = Callable[[int, int], None]


def backtest(site: Site, conditions: ConditionsSource, *, start: datetime, days: float, strategy: str = "milp",
             forecast: str = "perfect", replan_every_min: float = 15,
             step_min: float | None = None, horizon_h: float | None = None,
             warmup_days: float = WARMUP_DAYS, milp_options: MilpOptions | None = None,
             rules_on_measured: bool = True, guards_on_step: bool = True, keep_steps: bool = False,
             spinup_days: float = 0.0, progress: Progress | None = None) -> BacktestResult:
    """Operate the virtual camp with ``strategy`` for ``days`` from ``start``.

    Parameters
    ----------
    site : Site
    conditions : ConditionsSource
        The actual load and available PV per array (the same values for any window).
    start : datetime
        First simulated instant, timezone-aware, on the planning grid. [UTC]
    days : float
        Simulated period. [d]
    strategy : str
        ``"milp"``, ``"load-following"`` or ``"cycle-charging"``.
    forecast : str
        ``"perfect"`` (the truth) or ``"realistic"`` (rolling p50 forecasts).
    replan_every_min : float
        Re-plan interval, a multiple of the planning step, 15..60 in normal use. [min]
    step_min : float, optional
        Physics step, dividing the planning step (default: the planning step). [min]
    horizon_h : float, optional
        Planning horizon (default ``site.optimizer.horizon_h``). [h]
    warmup_days : float
        History before ``start`` for the forecasters. [d]
    milp_options : MilpOptions, optional
        Passed to :func:`~optimizer.planner.make_planner`.
    rules_on_measured : bool
        Rule strategies decide each physics step on its actual load and PV (module docstring).
    guards_on_step : bool
        The MILP's guards judge each physics step by its actual load and PV rather than the
        previous step's (module docstring).
    keep_steps : bool
        Keep every physics :class:`StepResult` in the result.
    spinup_days : float
        Days operated before ``start`` from the site's initial state and not counted: the camp
        enters ``start`` in the state the strategy led it to (how a chunk of a longer run starts,
        :mod:`optimizer.backtest_chunks`). The forecasters' warm-up lies before the spin-up. [d]
    progress : callable, optional
        ``progress(steps_done, steps_total)`` after every physics step.

    Returns
    -------
    BacktestResult

    Raises
    ------
    InputError
        Unknown strategy or forecast, or steps that do not fit together.
    """
    t_wall, t_cpu = time.perf_counter(), time.process_time()
    if horizon_h is not None:
        site = replace(site, optimizer=replace(site.optimizer, horizon_h=float(horizon_h)))
    if not (days > 0 and spinup_days >= 0):
        raise InputError(f"need days > 0 and spinup_days >= 0, got {days!r}, {spinup_days!r}", column="days")
    grid = _Grid.make(site, start - timedelta(days=float(spinup_days)), days + spinup_days, step_min,
                      replan_every_min, warmup_days, strategy, forecast)
    spin_steps = int(round(spinup_days * 1440 / grid.step_min))
    if abs(spin_steps * grid.step_min - spinup_days * 1440) > 1e-6 or spin_steps % grid.replan_every:
        raise InputError(f"spinup_days {spinup_days:g} must be a whole number of re-plan intervals "
                         f"({grid.replan_every_min:g} min)", column="spinup_days")
    truth = _Truth(site, grid, conditions)
    reactive = strategy != "milp" and rules_on_measured
    source = None if reactive else _ForecastSource(site, grid, truth, forecast)
    planner = make_planner(site, strategy, milp_options=milp_options)
    camp = CampState.initial(site)
    meter = _Meter(site, grid, strategy, "measured" if reactive else forecast, conditions.seed, keep_steps)
    plan: Plan | None = None
    load_kw, pv_kw = float(truth.load_kw[0]), sum(truth.pv_kw(0).values())  # measured at the start
    for k in range(grid.steps):
        when = grid.start + k * grid.step
        if k == spin_steps:
            meter.begin(when, camp)
        if reactive or guards_on_step:  # the guards (and a rule) see this step's measurements
            load_kw, pv_kw = float(truth.load_kw[k]), float(truth.pv_total_kw[k])
        if reactive:
            plan = meter.count_plan(planner.plan(truth.step_inputs(k, when), PlanState.from_camp_state(camp)))
        elif k % grid.replan_every == 0 and source is not None:
            inputs = source.inputs(grid.plan_row(k), when)
            plan = meter.count_plan(planner.plan(inputs, PlanState.from_camp_state(camp)))
        index = None if plan is None else step_at(plan, when)
        if plan is None or index is None:  # cannot happen: every plan covers the interval until the next one
            raise InputError(f"no plan covers {when.isoformat()}")
        setpoints = control_setpoints(site, plan, index, Measured(camp.soc_pct, load_kw, pv_kw),
                                      look_ahead_h=grid.dt_h)
        camp, res = dispatch_step(site, camp, truth.load_kw[k], truth.pv_kw(k), setpoints, grid.dt_h)
        load_kw, pv_kw = res.load_kw, res.pv_kw  # what slow guards see at the next step
        meter.add_step(when, res, setpoints)
        if progress is not None:
            progress(k + 1, grid.steps)
    result = meter.finish(camp, time.perf_counter() - t_wall)
    result.cpu_s = time.process_time() - t_cpu
    return result


@dataclass(frozen=True)
class _Grid:
    """Steps of the run: physics step, planning step, re-plan interval, warm-up, horizon."""

    start: datetime  #: first simulated instant (UTC)
    step: timedelta  #: physics step
    step_min: float  #: physics step [min]
    dt_h: float  #: physics step [h]
    plan_min: float  #: planning step [min]
    per_plan: int  #: physics steps per planning step
    steps: int  #: physics steps simulated
    replan_every: int  #: physics steps between plans
    replan_every_min: float  #: [min]
    warm_plan: int  #: planning steps of warm-up history before ``start``
    horizon: int  #: planning steps in a horizon

    @classmethod
    def make(cls, site: Site, start: datetime, days: float, step_min: float | None,
             replan_every_min: float, warmup_days: float, strategy: str, forecast: str) -> "_Grid":
        if strategy not in STRATEGIES:
            raise InputError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}",
                             column="strategy")
        if forecast not in FORECASTS:
            raise InputError(f"unknown forecast {forecast!r}; choose one of {', '.join(FORECASTS)}",
                             column="forecast")
        if start.tzinfo is None:
            raise InputError(f"start must be timezone-aware (UTC), got {start.isoformat()}", column="start")
        plan_min = float(site.optimizer.step_min)
        phys_min = plan_min if step_min is None else float(step_min)
        ratio = plan_min / phys_min
        if phys_min <= 0 or abs(ratio - round(ratio)) > 1e-9:
            raise InputError(f"physics step {phys_min:g} min must divide the planning step "
                             f"{plan_min:g} min", column="step_min")
        every = replan_every_min / plan_min
        if replan_every_min <= 0 or abs(every - round(every)) > 1e-9:
            raise InputError(f"re-plan interval {replan_every_min:g} min must be a multiple of the "
                             f"planning step {plan_min:g} min", column="replan_every_min")
        if replan_every_min > site.optimizer.horizon_h * 60:
            raise InputError(f"re-plan interval {replan_every_min:g} min is longer than the horizon "
                             f"{site.optimizer.horizon_h:g} h", column="replan_every_min")
        steps = int(round(days * 1440 / phys_min))
        if steps <= 0:
            raise InputError(f"days must be > 0, got {days!r}", column="days")
        warm_plan = int(math.ceil(warmup_days * 1440 / plan_min)) if forecast == "realistic" else 0
        horizon = int(math.ceil(site.optimizer.horizon_h * 60 / plan_min))
        return cls(start=start, step=timedelta(minutes=phys_min), step_min=phys_min, dt_h=phys_min / 60,
                   plan_min=plan_min, per_plan=int(round(ratio)), steps=steps,
                   replan_every=int(round(every)) * int(round(ratio)), replan_every_min=float(replan_every_min),
                   warm_plan=warm_plan, horizon=horizon)

    def plan_row(self, k: int) -> int:
        """Row of the planning-grid truth at physics step ``k``."""
        return self.warm_plan + k // self.per_plan


class _Truth:
    """The actual load and PV: at the physics step (from ``start``) and on the planning grid
    (from ``start`` − warm-up to the end + one horizon)."""

    def __init__(self, site: Site, grid: _Grid, conditions: ConditionsSource):
        self.site = site
        plan_step = timedelta(minutes=grid.plan_min)
        first = grid.start - grid.warm_plan * plan_step
        rows = grid.warm_plan + int(math.ceil(grid.steps / grid.per_plan)) + grid.horizon
        fine = conditions.frame(first, rows * grid.per_plan, grid.step_min)
        self.plan_frame = (fine if grid.per_plan == 1 else
                           fine.resample(plan_step, origin=pd.Timestamp(first)).mean())
        phys = fine.iloc[grid.warm_plan * grid.per_plan:][: grid.steps]
        self.load_kw = phys["load_kw"].to_numpy(dtype=float)
        self.pv_arrays_kw = {a.name: np.minimum(phys[pv_column(a.name)].to_numpy(dtype=float), a.inverter_kw)
                             for a in site.pv_arrays}
        self.pv_total_kw = sum(self.pv_arrays_kw.values()) if site.pv_arrays else np.zeros(grid.steps)
        self.step_min = grid.step_min

    def pv_kw(self, k: int) -> dict[str, float]:
        """Available PV per array at physics step ``k``. [kW]"""
        return {name: float(v[k]) for name, v in self.pv_arrays_kw.items()}

    def step_inputs(self, k: int, when: datetime) -> PlanInputs:
        """One physics step of actual load and PV, as plan inputs (the rules' measurements)."""
        return PlanInputs.regular(when, self.step_min, [self.load_kw[k]], [self.pv_total_kw[k]])


class _ForecastSource:
    """Plan inputs for a horizon from the issue row on: the truth, or the rolling p50."""

    def __init__(self, site: Site, grid: _Grid, truth: _Truth, forecast: str):
        self.site, self.grid, self.forecast = site, grid, forecast
        frame = truth.plan_frame
        self.load_kw = frame["load_kw"].to_numpy(dtype=float)
        self.pv_total_kw = np.zeros(len(frame))
        for a in site.pv_arrays:
            self.pv_total_kw += np.minimum(frame[pv_column(a.name)].to_numpy(dtype=float), a.inverter_kw)
        self.roller = (RollingForecaster(site, frame, max_horizon_steps=grid.horizon)
                       if forecast == "realistic" else None)

    def inputs(self, row: int, when: datetime) -> PlanInputs:
        n = self.grid.horizon
        if self.roller is None:
            load, pv = self.load_kw[row:row + n], self.pv_total_kw[row:row + n]
        else:
            f = self.roller.forecast(row, n)
            load = np.clip(np.nan_to_num(f.load_p50_kw, nan=self.load_kw[max(row - 1, 0)]), 0.0, None)
            pv = np.nan_to_num(trusted_pv_kw(self.site, f.pv_p10_kw.sum(axis=1), f.pv_total_p50_kw,
                                             f.pv_p90_kw.sum(axis=1)), nan=0.0)
        return PlanInputs.regular(when, self.grid.plan_min, load, pv)


def reserve_shortfall_kw(site: Site, res: StepResult, setpoints: Setpoints) -> float:
    """Operating reserve the camp did not hold during a physics step. [kW]

    HOMER's rule (:mod:`microgrid.plant.reserve`), measured on what the devices did: online
    genset headroom (rating − output) plus the discharge each battery could still add on top of
    what it delivered (:func:`~microgrid.plant.battery.battery_reserve_kw` under its limit
    setpoint, from its SOC at the end of the step) must cover the rule's reserve.
    """
    headroom = sum(genset_headroom_kw(g, res.genset_kw[g.name]) for g in site.gensets if res.genset_on[g.name])
    headroom += sum(battery_reserve_kw(b, res.soc_pct[b.name], res.battery_kw[b.name], res.dt_h,
                                       discharge_limit_kw=setpoints.battery_discharge_limit_kw.get(b.name))
                    for b in site.batteries)
    return rule_shortfall_kw(site.reserve, res.load_kw, res.pv_kw, headroom)


class _Meter:
    """Accumulates the figures of :class:`BacktestResult` step by step."""

    def __init__(self, site: Site, grid: _Grid, strategy: str, forecast: str, seed: int | None,
                 keep_steps: bool):
        self.site, self.keep, self.grid = site, keep_steps, grid
        end = grid.start + grid.steps * grid.step
        self.r = BacktestResult(site=site.name, strategy=strategy, forecast=forecast, start=grid.start,
                                end=end, step_min=grid.step_min, replan_every_min=grid.replan_every_min,
                                horizon_h=site.optimizer.horizon_h, seed=seed)
        self.counting = False
        self.reasons: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()

    def begin(self, when: datetime, camp: CampState) -> None:
        """Count from ``when`` on (the end of the spin-up), with the camp's state then as the start."""
        self.counting = True
        self.r.start = when
        self.soc0 = dict(camp.soc_pct)
        self.r.soc_start_pct = _soc(self.site, camp)
        self.base = (dict(camp.genset_run_hours_h), dict(camp.genset_starts), dict(camp.genset_below_min_h))

    def count_plan(self, plan: Plan) -> Plan:
        if not self.counting:
            return plan
        r = self.r
        r.plans += 1
        self.statuses[plan.status] += 1
        if math.isfinite(plan.solve_s):
            r.solve_s.append(float(plan.solve_s))
        if plan.status == "fallback":
            r.fallbacks += 1
            self.reasons[plan.reason[:160]] += 1
        return plan

    def add_step(self, when: datetime, res: StepResult, setpoints: Setpoints) -> None:
        if not self.counting:
            return
        r, dt = self.r, res.dt_h
        r.load_kwh += res.load_kw * dt
        r.unserved_kwh += res.unserved_kw * dt
        r.pv_kwh += res.pv_kw * dt
        r.pv_available_kwh += sum(res.pv_available_kw.values()) * dt
        r.curtailed_kwh += res.pv_curtailed_kw * dt
        r.genset_kwh += res.genset_total_kw * dt
        r.fuel_l += sum(res.fuel_l.values())
        for p in res.battery_kw.values():
            if p >= 0:
                r.battery_discharge_kwh += p * dt
            else:
                r.battery_charge_kwh -= p * dt
        short = reserve_shortfall_kw(self.site, res, setpoints)
        if short > 1e-6:
            r.reserve_shortfall_kwh += short * dt
            r.reserve_shortfall_h += dt
        if self.keep:
            r.steps.append(res)
            r.step_times.append(when)

    def finish(self, camp: CampState, wall_s: float) -> BacktestResult:
        r = self.r
        r.served_kwh = r.load_kwh - r.unserved_kwh
        r.soc_end_pct = _soc(self.site, camp)
        r.soc_change_l = soc_change_l(self.site, self.soc0, camp.soc_pct)
        run0, starts0, below0 = self.base
        r.genset_run_h = {k: v - run0.get(k, 0.0) for k, v in camp.genset_run_hours_h.items()}
        r.genset_starts = {k: v - starts0.get(k, 0) for k, v in camp.genset_starts.items()}
        r.genset_below_min_h = {k: v - below0.get(k, 0.0) for k, v in camp.genset_below_min_h.items()}
        r.fallback_reasons = dict(self.reasons.most_common())
        r.statuses = dict(self.statuses)
        r.wall_s = wall_s
        return r


def soc_change_l(site: Site, soc_start_pct: dict[str, float], soc_end_pct: dict[str, float]) -> float:
    """Diesel worth of the stored energy lost between two SOCs (negative when gained). [L]

    Each lost stored kWh is valued at the fuel a running genset burns at the margin
    (:func:`~microgrid.plant.gensets.marginal_fuel_l_per_kwh`) to put it back through the charge
    losses (:func:`~microgrid.plant.battery.stored_energy_to_restore_kwh`).
    """
    if not site.gensets:
        return 0.0
    return marginal_fuel_l_per_kwh(site.gensets) * stored_energy_to_restore_kwh(site.batteries, soc_start_pct,
                                                                                soc_end_pct)


def _soc(site: Site, camp: CampState) -> float:
    soc = capacity_weighted_soc_pct(site.batteries, camp.soc_pct)
    return math.nan if soc is None else float(soc)
