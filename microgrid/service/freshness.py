"""Whether the current plan may still drive the plant, and the alarm that says when it may not.

A plan is used only within its horizon and while it is younger than a configured age
(docs/architecture.md §8). Past that, the service stops asserting setpoints: every device gets
its own safe value (gensets ``auto``, PV and battery limits released), so the devices' revert
timers and local controllers take over, and the ``plan_expired`` alarm is raised until a fresh
plan exists. Pure: the service (:mod:`microgrid.service.runner`) holds the state and the clock.

Alarms are ``alarm`` readings (tags ``site``, ``device``, ``code``; fields ``active`` 0/1,
``severity`` and ``value``), the shape docs/architecture.md §12 builds on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from microgrid.readings import Reading
from optimizer.plan import Plan
from optimizer.setpoints import step_at

__all__ = ["SEVERITY_INFO", "SEVERITY_WARNING", "SEVERITY_CRITICAL", "PLAN_EXPIRED", "plan_expiry",
           "plan_end", "Alarm", "alarm_reading"]

#: Alarm severities (the ``severity`` field).
SEVERITY_INFO, SEVERITY_WARNING, SEVERITY_CRITICAL = 0, 1, 2
#: The alarm code of a plan too old, or ended: the plant runs on its own automatic mode.
PLAN_EXPIRED = "plan_expired"


def plan_end(plan: Plan) -> datetime:
    """The end of the plan's last step (UTC)."""
    return plan.time[-1] + timedelta(hours=float(plan.dt_h[-1]))


def plan_expiry(plan: Plan, issued: datetime, now: datetime, max_age_s: float) -> str | None:
    """Why ``plan`` may not drive the plant at ``now``; None while it may.

    Parameters
    ----------
    plan : Plan
    issued : datetime
        When the plan was made (UTC).
    now : datetime
        UTC.
    max_age_s : float
        Oldest a plan may be. [s]

    Returns
    -------
    str or None
        ``"plan issued ... is N min old (at most M min)"`` or ``"... outside the plan ..."``.
    """
    age_s = (now - issued).total_seconds()
    if age_s > max_age_s:
        return (f"plan issued {_iso(issued)} is {age_s / 60:.0f} min old (at most {max_age_s / 60:g} min "
                f"without a new plan)")
    if step_at(plan, now) is None:
        return f"{_iso(now)} is outside the plan ({_iso(plan.time[0])} to {_iso(plan_end(plan))})"
    return None


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
        The quantity it is about (for ``plan_expired``: the plan's age). [s]
    """

    code: str
    device: str
    severity: int
    active: bool
    since: datetime
    message: str
    value: float

    def to_json(self) -> dict[str, object]:
        """JSON-ready fields (times ISO 8601 UTC)."""
        return {"code": self.code, "device": self.device, "severity": self.severity, "active": self.active,
                "since": _iso(self.since), "message": self.message, "value": self.value}


def alarm_reading(site: str, now: datetime, alarm: Alarm) -> Reading:
    """The ``alarm`` reading of ``alarm`` at ``now``."""
    return Reading(now, "alarm", {"site": site, "device": alarm.device, "code": alarm.code},
                   {"active": float(alarm.active), "severity": float(alarm.severity), "value": float(alarm.value)})


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")
