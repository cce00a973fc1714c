"""The alarm shape and the state machine that raises and clears alarms (docs/architecture.md §12).

Every alarm is an ``alarm`` reading: tags ``site``, ``device`` (the device it concerns, or
``service``, ``fuel``, ``camp`` for the site as a whole) and ``code``; fields ``active`` (0/1),
``severity`` (:data:`SEVERITY_INFO`, :data:`SEVERITY_WARNING`, :data:`SEVERITY_CRITICAL`) and
``value`` (the quantity it is about, in the unit its rule states).

Rules are grouped: each evaluation of a group hands :meth:`AlarmEngine.update` the conditions
the group finds active *now*. One not active before is raised; one active before and absent now
is cleared; a group that could not be evaluated (its readings missing) is simply not updated, so
its alarms keep their state — a missing reading never clears or raises anything. An alarm is
written when raised, when cleared, and while active every ``refresh_s`` (so a query over the
last minutes, e.g. a Grafana alert rule, sees it) or whenever its severity changes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from microgrid.readings import Reading

__all__ = ["ALARM", "SEVERITY_INFO", "SEVERITY_WARNING", "SEVERITY_CRITICAL", "SEVERITY_NAMES", "Alarm",
           "AlarmEngine", "Condition", "Update", "alarm_reading"]

ALARM = "alarm"  #: the measurement
#: Alarm severities (the ``severity`` field).
SEVERITY_INFO, SEVERITY_WARNING, SEVERITY_CRITICAL = 0, 1, 2
SEVERITY_NAMES = {SEVERITY_INFO: "info", SEVERITY_WARNING: "warning", SEVERITY_CRITICAL: "critical"}
#: An active alarm is written again at least this often. [s]
REFRESH_S = 300.0


@dataclass(frozen=True)
class Condition:
    """What a rule finds active now.

    Attributes
    ----------
    device : str
    code : str
    severity : int
    value : float
        The quantity it is about (units stated by the rule), NaN when none.
    message : str
        One line for a camp engineer.
    """

    device: str
    code: str
    severity: int
    value: float
    message: str


@dataclass
class Alarm:
    """An alarm's current state, for the status endpoint.

    Attributes
    ----------
    code : str
    device : str
        The device it concerns (``"service"`` for the service itself).
    severity : int
        :data:`SEVERITY_INFO`, :data:`SEVERITY_WARNING` or :data:`SEVERITY_CRITICAL`.
    active : bool
    since : datetime
        When it last became active (or cleared).
    message : str
    value : float
        The quantity it is about (for ``plan_expired``: the plan's age). [unit of its rule]
    """

    code: str
    device: str
    severity: int
    active: bool
    since: datetime
    message: str
    value: float

    def to_json(self) -> dict[str, object]:
        """JSON-ready fields (times ISO 8601 UTC; a value that is not a number is None)."""
        return {"code": self.code, "device": self.device, "severity": self.severity, "active": self.active,
                "since": _iso(self.since), "message": self.message,
                "value": self.value if math.isfinite(self.value) else None}


def alarm_reading(site: str, now: datetime, alarm: Alarm) -> Reading:
    """The ``alarm`` reading of ``alarm`` at ``now`` (a value that is not a number is left out)."""
    fields = {"active": float(alarm.active), "severity": float(alarm.severity)}
    if math.isfinite(alarm.value):
        fields["value"] = float(alarm.value)
    return Reading(now, ALARM, {"site": site, "device": alarm.device, "code": alarm.code}, fields)


@dataclass
class _Entry:
    group: str
    alarm: Alarm
    written: datetime


@dataclass(frozen=True)
class Update:
    """What one :meth:`AlarmEngine.update` changed: readings to store, alarms raised and cleared."""

    readings: list[Reading] = field(default_factory=list)
    raised: list[Alarm] = field(default_factory=list)
    cleared: list[Alarm] = field(default_factory=list)


class AlarmEngine:
    """Alarm states of one site, raised and cleared group by group.

    Parameters
    ----------
    site : str
        The ``site`` tag of the readings.
    refresh_s : float
        An active alarm is written again at least this often. [s]
    """

    def __init__(self, site: str, refresh_s: float = REFRESH_S):
        self.site, self.refresh_s = site, refresh_s
        self._entries: dict[tuple[str, str], _Entry] = {}

    def update(self, now: datetime, group: str, active: Iterable[Condition], *,
               refresh_s: float | None = None, clear_message: str | None = None) -> Update:
        """The conditions of ``group`` active at ``now``; every other alarm of the group clears.

        Parameters
        ----------
        refresh_s : float, optional
            This group's rewrite period while active (0: at every update). [s]
        clear_message : str, optional
            The message of a cleared alarm (default ``"cleared"``).
        """
        every = self.refresh_s if refresh_s is None else refresh_s
        out = Update()
        seen: set[tuple[str, str]] = set()
        for c in active:
            key = (c.device, c.code)
            seen.add(key)
            entry = self._entries.get(key)
            if entry is None or not entry.alarm.active:
                alarm = Alarm(c.code, c.device, c.severity, True, now, c.message, c.value)
                self._entries[key] = _Entry(group, alarm, now)
                out.raised.append(alarm)
                out.readings.append(alarm_reading(self.site, now, alarm))
                continue
            alarm = entry.alarm
            changed = alarm.severity != c.severity
            alarm.severity, alarm.message, alarm.value = c.severity, c.message, c.value
            if changed or (now - entry.written).total_seconds() >= every:
                entry.written = now
                out.readings.append(alarm_reading(self.site, now, alarm))
        for key, entry in self._entries.items():
            if entry.group == group and entry.alarm.active and key not in seen:
                old = entry.alarm
                cleared = Alarm(old.code, old.device, old.severity, False, now,
                                clear_message or f"cleared (was: {old.message})", old.value)
                entry.alarm, entry.written = cleared, now
                out.cleared.append(cleared)
                out.readings.append(alarm_reading(self.site, now, cleared))
        return out

    def get(self, device: str, code: str) -> Alarm | None:
        """The alarm's state (active or last cleared); None if never raised."""
        entry = self._entries.get((device, code))
        return None if entry is None else entry.alarm

    def active(self) -> list[Alarm]:
        """Active alarms, most severe first, then by device and code."""
        alarms = [e.alarm for e in self._entries.values() if e.alarm.active]
        return sorted(alarms, key=lambda a: (-a.severity, a.device, a.code))


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")
