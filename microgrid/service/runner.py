"""The service: poll, forecast and plan, control, roll-up — four loops on one injectable clock.

- poll (every ``poll_tick_s``): devices that are due are read; device readings, site totals and
  15-min energy roll-ups go to the store; every alarm rule is evaluated and, once a minute, the
  fuel figures (:mod:`microgrid.service.alarming`, docs/architecture.md §12);
- plan (every ``plan_every_s``, on the quarter hour): forecast from the measured history, plan
  with the chosen strategy (the fallback plan when the optimizer fails), store the forecast,
  the plan and the optimizer's figures;
- control (every ``control_every_s``): the current plan step becomes device setpoints, while
  the plan is fresh (:mod:`microgrid.service.freshness`): past its horizon or older than
  ``ServiceOptions.plan_max_age_s``, every device gets its own safe value (gensets ``auto``,
  limits released) and the ``plan_expired`` alarm is raised in the store and the status until a
  fresh plan exists;
- drain (when a durable spool is in front of the store): sends spooled batches to the server.

Every collaborator is typed (:mod:`microgrid.service.collaborators`); nothing is sniffed.

With an :class:`~microgrid.clock.EventClock` the loops are its participants, so simulated time
only moves when every loop waits; with a real clock they run in real time.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from microgrid.accounting import camp_totals
from microgrid.clock import LoopClock
from microgrid.plant import Setpoints
from microgrid.plant.fuel import planned_burn_l_per_day
from microgrid.readings import Reading
from microgrid.service.alarming import AlarmMonitor
from microgrid.service.collaborators import Backlog, PollSource, SetpointWriter, Store
from microgrid.service.forecasting import History, forecast_inputs, forecast_readings
from microgrid.service.freshness import PLAN_ALARM_GROUP, plan_end, plan_expired_condition, plan_expiry
from microgrid.service.plan_readings import plan_readings
from microgrid.site import Site
from optimizer.guards import Measured, control_setpoints
from optimizer.plan import Plan, PlanState
from optimizer.planner import Planner
from optimizer.setpoints import step_at

log = logging.getLogger(__name__)


#: A plan drives the plant for at most this many re-plan periods without a new one (default).
PLAN_MAX_AGE_PERIODS = 4


@dataclass(frozen=True)
class ServiceOptions:
    """Cadences of the loops. [s]

    ``plan_max_age_s`` is the oldest a plan may be and still drive the plant (default
    :data:`PLAN_MAX_AGE_PERIODS` re-plan periods: 1 h at the 15-min cadence). [s]
    """

    plan_every_s: float = 900.0
    control_every_s: float = 60.0
    poll_tick_s: float = 1.0
    drain_every_s: float = 5.0
    history_days: float = 14.0
    plan_max_age_s: float | None = None

    @property
    def max_plan_age_s(self) -> float:
        """``plan_max_age_s``, or its default. [s]"""
        if self.plan_max_age_s is None:
            return PLAN_MAX_AGE_PERIODS * self.plan_every_s
        return self.plan_max_age_s


@dataclass
class ServiceState:
    """What the status endpoint shows."""

    started: datetime | None = None
    last_poll: datetime | None = None
    polls: int = 0
    plans: int = 0
    fallbacks: int = 0
    plan: Plan | None = None
    plan_issued: datetime | None = None
    errors: list[str] = field(default_factory=list)
    fallback_streak: int | None = None  #: plans in a row from the fallback rule (None: no plan yet)


class Service:
    """Wires a poll pipeline, a planner, a controller and a store on one clock.

    Parameters
    ----------
    site : Site
    clock : LoopClock
        ``RealClock`` in the field; ``EventClock``/``SimClock`` against the virtual camp.
    pipeline : PollSource
        :class:`telemetry.pipeline.PollPipeline`.
    planner : Planner
        ``plan(inputs, state) -> Plan`` (the MILP falls back by itself on failure).
    controller : SetpointWriter
        :class:`telemetry.control.Controller`.
    store : Store
        Any historian.
    backlog : Backlog, optional
        The durable spool in front of the store, when there is one (it is usually the store
        itself): drained by the drain loop, flushed at shutdown, shown in the status.
    """

    def __init__(self, site: Site, *, clock: LoopClock, pipeline: PollSource, planner: Planner,
                 controller: SetpointWriter, store: Store, backlog: Backlog | None = None,
                 options: ServiceOptions = ServiceOptions(), history: History | None = None):
        self.site, self.clock, self.pipeline = site, clock, pipeline
        self.planner, self.controller, self.store, self.backlog = planner, controller, store, backlog
        self.options = options
        self.history = history or History(options.history_days)
        self.state = ServiceState()
        self.monitor = AlarmMonitor(site, clock.now())
        self._stop = asyncio.Event()
        self._genset_since: dict[str, tuple[bool, datetime]] = {}
        self._first_poll = asyncio.Event()
        self._first_plan = asyncio.Event()

    # -- running -------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Run every loop until ``stop`` is set, then flush roll-ups and the spool."""
        self._stop = stop
        self.state.started = self.clock.now()
        loops = [self._poll_loop(), self._plan_loop(), self._control_loop()]
        if self.backlog is not None:
            loops.append(self._drain_loop(self.backlog))
        try:
            await asyncio.gather(*(self._participant(loop) for loop in loops))
        finally:
            self._write(self.pipeline.flush())
            if self.backlog is not None:
                await asyncio.to_thread(self.backlog.flush)

    async def _participant(self, coro: Coroutine[Any, Any, None]) -> None:
        self.clock.join()
        try:
            await coro
        finally:
            self.clock.leave()

    async def _wait(self, seconds: float) -> None:
        """Sleep on the clock; with a clock that moves by itself a stop request cuts the sleep short."""
        if self.clock.event_driven:  # only clock sleeps let time move
            await self.clock.sleep(seconds)
            return
        sleeper = asyncio.ensure_future(self.clock.sleep(seconds))
        stopper = asyncio.ensure_future(self._stop.wait())
        await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        for task in (sleeper, stopper):
            task.cancel()

    async def _await_event(self, event: asyncio.Event) -> bool:
        while not event.is_set():
            if self._stop.is_set():
                return False
            await self._wait(self.options.poll_tick_s)
        return True

    # -- loops ---------------------------------------------------------------------------
    async def _poll_loop(self) -> None:
        while not self._stop.is_set():
            try:
                readings = await self.pipeline.cycle()
            except Exception as exc:  # a poll must never stop the service
                self._error("poll", exc)
                readings = []
            if readings:
                self.history.add_energy(readings)
                self._write(readings)
            self._track_gensets()
            self._evaluate_alarms()
            self.state.last_poll, self.state.polls = self.clock.now(), self.state.polls + 1
            self._first_poll.set()
            await self._wait(self.options.poll_tick_s)

    async def _plan_loop(self) -> None:
        if not await self._await_event(self._first_poll):
            return
        while not self._stop.is_set():
            try:
                await self.plan_once()
            except Exception as exc:
                self._error("plan", exc)
            self._first_plan.set()
            await self._wait(self._until_next(self.options.plan_every_s))

    async def plan_once(self) -> Plan:
        """Forecast, plan and store once; the plan becomes the current one."""
        now = self.clock.now()
        camp = self._latest_camp()
        inputs, forecasts = forecast_inputs(self.site, now, self.history,
                                            current_load_kw=camp.get("load_kw"),
                                            current_pv_kw=camp.get("pv_kw"))
        plan = await asyncio.to_thread(self.planner.plan, inputs, self.plan_state())
        self.state.plan, self.state.plan_issued = plan, now
        self.state.plans += 1
        self.state.fallback_streak = (self.state.fallback_streak or 0) + 1 if plan.status == "fallback" else 0
        if plan.status == "fallback":
            self.state.fallbacks += 1
            log.warning("plan at %s is the fallback plan: %s", now.isoformat(), plan.reason)
        self._write(forecast_readings(self.site, forecasts) + plan_readings(self.site, plan, now))
        return plan

    async def _control_loop(self) -> None:
        if not await self._await_event(self._first_plan):
            return
        while not self._stop.is_set():
            plan = self.state.plan
            if plan is not None:
                try:
                    readings = await self.controller.apply(self._setpoints(plan))
                    self._write(readings)
                except Exception as exc:
                    self._error("control", exc)
            await self._wait(self.options.control_every_s)

    def _setpoints(self, plan: Plan) -> Setpoints:
        """The current plan step's setpoints through the guards (:func:`optimizer.guards.control_setpoints`):
        a genset started if the measured battery cannot carry the measured net load until the
        next plan (the forecast was too low), or if the camp would hold less operating reserve
        than the site's rule. Outside the plan or past its age, every device in its own safe mode."""
        now = self.clock.now()
        index = None if self._plan_expired(plan, now) else step_at(plan, now)
        return control_setpoints(self.site, plan, index, self._measured(),
                                 look_ahead_h=self.options.plan_every_s / 3600.0)

    def _plan_expired(self, plan: Plan, now: datetime) -> bool:
        """Raise, keep or clear the ``plan_expired`` alarm (stored at every control tick while
        active, and once when cleared); whether the plan has expired."""
        issued = self.state.plan_issued or now
        why = plan_expiry(plan, issued, now, self.options.max_plan_age_s)
        was = self.monitor.engine.get("service", "plan_expired")
        if why is None and (was is None or not was.active):
            return False
        active = [] if why is None else [plan_expired_condition(why, (now - issued).total_seconds())]
        if why is not None and (was is None or not was.active):
            log.error("%s: devices handed back to their own automatic mode until a fresh plan", why)
        elif why is None:
            log.warning("a fresh plan (issued %s) drives the plant again", issued.isoformat())
        update = self.monitor.engine.update(now, PLAN_ALARM_GROUP, active, refresh_s=0.0,
                                            clear_message="a fresh plan drives the plant again")
        self._write(self.monitor.plan_alarm(now, update))
        return why is not None

    def _evaluate_alarms(self) -> None:
        """Every alarm rule over this cycle's latest values, and the fuel figures."""
        now = self.clock.now()
        plan = self.state.plan
        fresh = (plan is not None and self.state.plan_issued is not None
                 and plan_expiry(plan, self.state.plan_issued, now, self.options.max_plan_age_s) is None)
        planned = planned_burn_l_per_day(plan.fuel_l, plan.dt_h) if plan is not None and fresh else None
        spool = None if self.backlog is None else self.backlog.status().get("spool_points")
        try:
            self._write(self.monitor.poll_cycle(
                now, self.pipeline.latest, self.pipeline.device_status(), self.pipeline.profile_of,
                planned_l_per_day=planned, fallback_streak=self.state.fallback_streak,
                spool_points=None if spool is None else int(spool)))
        except Exception as exc:  # an alarm rule must never stop the poll loop
            self._error("alarms", exc)

    def _measured(self) -> Measured | None:
        """The latest load, PV and SOC of every battery; None when one is missing (no guard)."""
        camp = self._latest_camp()
        if "load_kw" not in camp or "pv_kw" not in camp:
            return None
        latest = self.pipeline.latest
        soc = {b.name: float(v) for b in self.site.batteries
               if (v := (latest.get(b.name) or {}).get("soc_pct")) is not None}
        if len(soc) < len(self.site.batteries):
            return None  # no measured SOC: nothing to judge by
        return Measured(soc, camp["load_kw"], camp["pv_kw"])

    async def _drain_loop(self, backlog: Backlog) -> None:
        while not self._stop.is_set():
            try:
                await asyncio.to_thread(backlog.drain_once)
            except Exception as exc:
                self._error("drain", exc)
            await self._wait(self.options.drain_every_s)

    # -- helpers -------------------------------------------------------------------------
    def _write(self, readings: list[Reading]) -> None:
        if readings:
            try:
                self.store.write(readings)
            except Exception as exc:
                self._error("store", exc)

    def _error(self, where: str, exc: Exception) -> None:
        message = f"{self.clock.now().isoformat()} {where}: {type(exc).__name__}: {exc}"
        log.error("%s loop: %s", where, exc, exc_info=log.isEnabledFor(logging.DEBUG))
        self.state.errors = (self.state.errors + [message])[-20:]

    def _until_next(self, period_s: float) -> float:
        now = self.clock.now()
        epoch = datetime(1970, 1, 1, tzinfo=now.tzinfo)
        elapsed = (now - epoch).total_seconds() % period_s
        return period_s - elapsed if elapsed > 1e-6 else period_s

    def _latest_camp(self) -> dict[str, float]:
        return dict(camp_totals(self.site, self.clock.now(), self.pipeline.latest).fields)

    def _track_gensets(self) -> None:
        now = self.clock.now()
        latest = self.pipeline.latest
        for g in self.site.gensets:
            running = (latest.get(g.name) or {}).get("running")
            if running is None:
                continue
            on = bool(running)
            prev = self._genset_since.get(g.name)
            if prev is None or prev[0] != on:
                # unknown history at start: take the unit as settled in its state
                since = now - timedelta(days=1) if prev is None else now
                self._genset_since[g.name] = (on, since)

    def _fuel_status(self) -> dict[str, Any] | None:
        """Stock, tolerance, burn and autonomy (JSON-ready; None before the first evaluation)."""
        f = self.monitor.fuel_status
        if f is None:
            return None

        def number(v: float | None) -> float | None:
            return v if v is not None and math.isfinite(v) else None
        return {"stock_l": None if f.stock is None else f.stock.stock_l,
                "tolerance_l": None if f.stock is None else f.stock.tolerance_l,
                "by_tank_l": None if f.stock is None else dict(f.stock.by_tank_l),
                "burn_l_per_day": number(f.burn_l_per_day),
                "planned_burn_l_per_day": number(f.planned_burn_l_per_day),
                "autonomy_days": number(f.autonomy_days),
                "unexplained_loss_l": None if f.loss is None else f.loss.litres}

    def plan_state(self) -> PlanState:
        """Camp state for the planner from the latest readings (defaults where unknown)."""
        latest = self.pipeline.latest
        now = self.clock.now()
        soc = {b.name: float(v) for b in self.site.batteries
               if (v := (latest.get(b.name) or {}).get("soc_pct")) is not None and math.isfinite(v)}
        on = {n: s[0] for n, s in self._genset_since.items()}
        minutes = {n: (now - s[1]).total_seconds() / 60.0 for n, s in self._genset_since.items()}
        return PlanState(soc, on, minutes).filled(self.site)

    def status(self) -> dict[str, Any]:
        """Health, last poll per device, last plan and its status, spool depth."""
        now = self.clock.now()
        reasons = []
        stale = self.options.poll_tick_s * 10 + 30
        if self.state.last_poll is None or (now - self.state.last_poll).total_seconds() > stale:
            reasons.append("no recent poll")
        devices = self.pipeline.device_status()
        if devices and not any(d.get("online") for d in devices.values()):
            reasons.append("no device answers")
        alarms = [a.to_json() for a in self.monitor.active()]
        # the service's own alarms make it unhealthy; the plant's are listed for the engineer
        reasons += [f"{a['code']}: {a['message']}" for a in alarms if a["device"] == "service"]
        plan, issued = self.state.plan, self.state.plan_issued
        out: dict[str, Any] = {"site": self.site.name, "time": now.isoformat(), "healthy": not reasons,
               "reasons": reasons, "started": self.state.started, "last_poll": self.state.last_poll,
               "polls": self.state.polls, "devices": devices, "alarms": alarms,
               "plan": None if plan is None or issued is None else {
                   "issued": issued, "status": plan.status, "reason": plan.reason,
                   "strategy": plan.strategy, "fuel_l": plan.total_fuel_l, "solve_s": plan.solve_s,
                   "ends": plan_end(plan), "age_s": (now - issued).total_seconds(),
                   "max_age_s": self.options.max_plan_age_s,
                   "fresh": plan_expiry(plan, issued, now, self.options.max_plan_age_s) is None},
               "plans": self.state.plans, "fallbacks": self.state.fallbacks,
               "errors": self.state.errors[-5:], "control": self.controller.status(),
               "fuel": self._fuel_status()}
        if self.backlog is not None:
            out["spool"] = self.backlog.status()
        return out
