"""Whether the current plan may still drive the plant, and the alarm that says when it may not.

A plan is used only within its horizon and while it is younger than a configured age
(docs/architecture.md §8). Past that, the service stops asserting setpoints: every device gets
its own safe value (gensets ``auto``, PV and battery limits released), so the devices' revert
timers and local controllers take over, and the ``plan_expired`` alarm is raised until a fresh
plan exists. Pure: the service (:mod:`microgrid.service.runner`) holds the state and the clock.

Alarms are ``alarm`` readings (tags ``site``, ``device``, ``code``; fields ``active`` 0/1,
``severity`` and ``value``): the one shape of :mod:`telemetry.alarms` (docs/architecture.md §12),
whose engine carries this alarm too (group :data:`PLAN_ALARM_GROUP`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from optimizer.plan import Plan
from optimizer.setpoints import step_at
from telemetry.alarms.engine import (
    SEVERITY_CRITICAL,
    SEVERITY_INFO,
    SEVERITY_WARNING,
    Alarm,
    Condition,
    alarm_reading,
)

__all__ = ["SEVERITY_INFO", "SEVERITY_WARNING", "SEVERITY_CRITICAL", "PLAN_EXPIRED", "PLAN_ALARM_GROUP",
           "plan_expiry", "plan_end", "plan_expired_condition", "Alarm", "alarm_reading"]

#: The alarm code of a plan too old, or ended: the plant runs on its own automatic mode.
PLAN_EXPIRED = "plan_expired"
#: The alarm engine's group of this alarm (evaluated at every control tick).
PLAN_ALARM_GROUP = "service:plan"


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


def plan_expired_condition(why: str, age_s: float) -> Condition:
    """The ``plan_expired`` alarm (device ``service``, a warning) with the plan's age [s] as value."""
    return Condition("service", PLAN_EXPIRED, SEVERITY_WARNING, age_s, why)


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")
