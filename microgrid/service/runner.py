"""The service: poll, forecast and plan, control, roll-up — four loops on one injectable clock.

- poll (every ``poll_tick_s``): devices that are due are read; device readings, site totals and
  15-min energy roll-ups go to the store;
- plan (every ``plan_every_s``, on the quarter hour): forecast from the measured history, plan
  with the chosen strategy (the fallback plan when the optimizer fails), store the forecast,
  the plan and the optimizer's figures;
- control (every ``control_every_s``): the current plan step becomes device setpoints;
- drain (when the store is a spool): sends spooled batches to the server.

With an :class:`~microgrid.clock.EventClock` the loops are its participants, so simulated time
only moves when every loop waits; with a real clock they run in real time.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Protocol

from microgrid.accounting import camp_totals
from microgrid.readings import Reading
from microgrid.service.forecasting import History, forecast_inputs, forecast_readings
from microgrid.service.plan_readings import plan_readings
from microgrid.site import Site
from optimizer.plan import Plan, PlanState
from optimizer.setpoints import guard_empty_battery, guard_full_battery, guard_reserve, setpoints_for_step

log = logging.getLogger(__name__)


class Store(Protocol):
    def write(self, readings: list[Reading]) -> None: ...


@dataclass(frozen=True)
class ServiceOptions:
    """Cadences of the loops. [s]"""

    plan_every_s: float = 900.0
    control_every_s: float = 60.0
    poll_tick_s: float = 1.0
    drain_every_s: float = 5.0
    history_days: float = 14.0


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


class Service:
    """Wires a poll pipeline, a planner, a controller and a store on one clock.

    Parameters
    ----------
    site : Site
    clock : Clock
        ``RealClock`` in the field; ``EventClock``/``SimClock`` against the virtual camp.
    pipeline : telemetry.pipeline.PollPipeline
        ``await cycle() -> list[Reading]``, ``flush()``, ``latest`` device values.
    planner : optimizer.planner.Planner
        ``plan(inputs, state) -> Plan`` (the MILP falls back by itself on failure).
    controller : telemetry.control.Controller
        ``await apply(setpoints) -> list[Reading]``.
    store : Store
        ``write(readings)``; a spool in front of InfluxDB also has ``drain_once()``.
    """

    def __init__(self, site: Site, *, clock, pipeline, planner, controller, store: Store,
                 options: ServiceOptions = ServiceOptions(), history: History | None = None,
                 extra_status: Callable[[], dict[str, Any]] | None = None):
        self.site, self.clock, self.pipeline = site, clock, pipeline
        self.planner, self.controller, self.store = planner, controller, store
        self.options = options
        self.history = history or History(options.history_days)
        self.state = ServiceState()
        self._extra_status = extra_status
        self._genset_since: dict[str, tuple[bool, datetime]] = {}
        self._first_poll = asyncio.Event()
        self._first_plan = asyncio.Event()

    # -- running -------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Run every loop until ``stop`` is set, then flush roll-ups and the spool."""
        self._stop = stop
        self.state.started = self.clock.now()
        loops = [self._poll_loop(), self._plan_loop(), self._control_loop()]
        if hasattr(self.store, "drain_once"):
            loops.append(self._drain_loop())
        try:
            await asyncio.gather(*(self._participant(loop) for loop in loops))
        finally:
            self._write(self.pipeline.flush())
            if hasattr(self.store, "flush"):
                await asyncio.to_thread(self.store.flush)

    async def _participant(self, coro) -> None:
        join, leave = getattr(self.clock, "join", None), getattr(self.clock, "leave", None)
        if join:
            join()
        try:
            await coro
        finally:
            if leave:
                leave()

    async def _wait(self, seconds: float) -> None:
        """Sleep on the clock; with a real clock a stop request cuts the sleep short."""
        if hasattr(self.clock, "join"):  # event clock: only clock sleeps let time move
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
                    index = self._step_index(plan, self.clock.now())
                    readings = await self.controller.apply(self._setpoints(plan, index))
                    self._write(readings)
                except Exception as exc:
                    self._error("control", exc)
            await self._wait(self.options.control_every_s)

    def _setpoints(self, plan: Plan, index: int):
        """The plan step's setpoints, with base loads released while a battery is full, and a
        genset started if the measured battery cannot carry the measured net load until the next
        plan (the forecast was too low), or if the camp would hold less operating reserve than
        the site's rule."""
        setpoints = setpoints_for_step(self.site, plan, index)
        camp = self._latest_camp()
        if "load_kw" not in camp or "pv_kw" not in camp:
            return setpoints
        latest = self.pipeline.latest
        soc = {b.name: float(v) for b in self.site.batteries
               if (v := (latest.get(b.name) or {}).get("soc_pct")) is not None}
        if len(soc) < len(self.site.batteries):
            return setpoints  # no measured SOC: nothing to judge by
        ahead_h = self.options.plan_every_s / 3600.0
        setpoints = guard_empty_battery(self.site, guard_full_battery(self.site, setpoints, soc), soc,
                                        camp["load_kw"] - camp["pv_kw"], look_ahead_h=ahead_h)
        return guard_reserve(self.site, setpoints, soc, camp["load_kw"], camp["pv_kw"], look_ahead_h=ahead_h)

    async def _drain_loop(self) -> None:
        while not self._stop.is_set():
            try:
                await asyncio.to_thread(self.store.drain_once)
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

    @staticmethod
    def _step_index(plan: Plan, now: datetime) -> int:
        index = 0
        for i, t in enumerate(plan.time):
            if t <= now:
                index = i
        return index

    def _latest_camp(self) -> dict[str, float]:
        return dict(camp_totals(self.site, self.clock.now(), self.pipeline.latest).fields)

    def _track_gensets(self) -> None:
        now = self.clock.now()
        latest = getattr(self.pipeline, "latest", {}) or {}
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

    def plan_state(self) -> PlanState:
        """Camp state for the planner from the latest readings (defaults where unknown)."""
        latest = getattr(self.pipeline, "latest", {}) or {}
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
        devices = {}
        poller = getattr(self.pipeline, "poller", None)
        if poller is not None:
            for name, st in poller.status().items():
                devices[name] = {k: (v.isoformat() if isinstance(v, datetime) else v)
                                 for k, v in vars(st).items()} if hasattr(st, "__dict__") else st
            if devices and not any(d.get("online") for d in devices.values() if isinstance(d, dict)):
                reasons.append("no device answers")
        plan = self.state.plan
        out = {"site": self.site.name, "time": now.isoformat(), "healthy": not reasons,
               "reasons": reasons, "started": self.state.started, "last_poll": self.state.last_poll,
               "polls": self.state.polls, "devices": devices,
               "plan": None if plan is None else {
                   "issued": self.state.plan_issued, "status": plan.status, "reason": plan.reason,
                   "strategy": plan.strategy, "fuel_l": plan.total_fuel_l, "solve_s": plan.solve_s},
               "plans": self.state.plans, "fallbacks": self.state.fallbacks,
               "errors": self.state.errors[-5:]}
        spool = getattr(self.store, "status", None)  # a SpooledHistorian: depth, drops
        if callable(spool):
            out["spool"] = spool()
        control = getattr(self.controller, "status", None)
        if callable(control):
            out["control"] = control()
        if self._extra_status:
            out.update(self._extra_status())
        return out
