"""Alarms and the fuel ledger, evaluated every poll cycle (docs/architecture.md §12).

:class:`AlarmMonitor` gathers what the rules look at from the service's collaborators — the
latest decoded values and each device's profile (:class:`~microgrid.service.collaborators.PollSource`),
the fuel ledger (:class:`~microgrid.service.fuel_tracking.FuelTracker`), the plan's burn, the
fallback streak, the spool — and hands each group's active conditions to the one
:class:`~telemetry.alarms.AlarmEngine`, which also carries the control loop's ``plan_expired``.
The rules themselves are pure (:mod:`telemetry.alarms.rules`, :mod:`telemetry.alarms.device`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from microgrid.readings import Reading
from microgrid.service.fuel_tracking import FuelStatus, FuelTracker
from microgrid.site import Site
from telemetry.alarms import Alarm, AlarmEngine
from telemetry.alarms.device import device_alarms
from telemetry.alarms.engine import SEVERITY_NAMES, Update
from telemetry.alarms.rules import DurationTracker, Observation, below_min_load, evaluate
from telemetry.register_profile import Profile

log = logging.getLogger(__name__)

__all__ = ["AlarmMonitor"]


class AlarmMonitor:
    """The service's alarms and fuel ledger.

    Parameters
    ----------
    site : Site
    started : datetime
        When the service started (a device never heard from counts as offline since then).
    fuel_every_s : float
        The fuel figures are evaluated and stored this often. [s]
    """

    def __init__(self, site: Site, started: datetime, fuel_every_s: float = 60.0):
        self.site, self.started = site, started
        self.engine = AlarmEngine(site.name)
        self.fuel = FuelTracker(site)
        self.fuel_every_s = fuel_every_s
        self.fuel_status: FuelStatus | None = None
        self._fuel_at: datetime | None = None
        self._below_min = DurationTracker()

    def poll_cycle(self, now: datetime, latest: Mapping[str, Mapping[str, Any]],
                   device_status: Mapping[str, Mapping[str, Any]],
                   profile_of: Callable[[str], Profile | None], *, planned_l_per_day: float | None,
                   fallback_streak: int | None, spool_points: int | None) -> list[Reading]:
        """Evaluate every alarm (and, once a minute, the fuel figures); the readings to store."""
        out: list[Reading] = []
        self.fuel.add(now, latest)
        if self._fuel_at is None or (now - self._fuel_at).total_seconds() >= self.fuel_every_s - 1e-6:
            self._fuel_at = now
            self.fuel_status = self.fuel.evaluate(now, planned_l_per_day)
            out += self.fuel.readings(now, self.fuel_status)
            for d in self.fuel_status.new_deliveries:
                log.warning("fuel delivery: %.0f L", d.litres)
        for g in self.site.gensets:
            self._below_min.update(now, g.name, below_min_load(g, latest.get(g.name)))
        status = self.fuel_status
        obs = Observation(now, latest, _offline_for_s(now, device_status, self.started),
                          self._below_min.minutes(now),
                          None if status is None else status.autonomy_days,
                          None if status is None else status.loss, fallback_streak, spool_points,
                          frozenset((a.device, a.code) for a in self.engine.active()))
        groups = evaluate(self.site, obs)
        for name, values in latest.items():
            profile = profile_of(name)
            if profile is not None:
                groups.update(device_alarms(profile, values, name))
        for group, active in groups.items():
            out += self._apply(self.engine.update(now, group, active))
        return out

    def plan_alarm(self, now: datetime, update: Update) -> list[Reading]:
        """Log and store a transition of the control loop's own group."""
        return self._apply(update)

    def _apply(self, update: Update) -> list[Reading]:
        for a in update.raised:
            log.log(logging.ERROR if a.severity >= 2 else logging.WARNING, "alarm raised (%s): %s %s: %s",
                    SEVERITY_NAMES.get(a.severity, a.severity), a.device, a.code, a.message)
        for a in update.cleared:
            log.warning("alarm cleared: %s %s", a.device, a.code)
        return update.readings

    def active(self) -> list[Alarm]:
        """Active alarms, most severe first."""
        return self.engine.active()


def _offline_for_s(now: datetime, status: Mapping[str, Mapping[str, Any]], started: datetime) -> dict[str, float]:
    """``{device: seconds since its last good poll}`` of the devices offline now."""
    out = {}
    for name, s in status.items():
        if s.get("online") is not False:
            continue
        last = s.get("last_ok")
        since = datetime.fromisoformat(last.replace("Z", "+00:00")) if isinstance(last, str) else started
        out[name] = max(0.0, (now - since).total_seconds())
    return out
