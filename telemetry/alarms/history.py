"""Raised and cleared alarms read back from any store (``microgrid alarms``).

The ``alarm`` measurement holds an alarm's state when it was raised, while it stayed active
(rewritten every few minutes) and when it cleared; the transitions are the points where
``active`` changes for a device and code. Read through the historian contract, so the embedded
store and InfluxDB give the same list.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from telemetry.alarms.engine import ALARM
from telemetry.historian.base import Historian

__all__ = ["LOOKBACK", "AlarmHistory", "Transition", "alarm_history"]

#: How far before the range the state of each alarm is looked up (to tell a raise in the range
#: from an alarm already active). An active alarm is rewritten far more often than this.
LOOKBACK = timedelta(days=1)


@dataclass(frozen=True)
class Transition:
    """An alarm raised (``raised`` True) or cleared at ``time``."""

    time: datetime
    device: str
    code: str
    raised: bool
    severity: int | None
    value: float | None

    def to_json(self) -> dict[str, object]:
        return {"time": self.time.isoformat().replace("+00:00", "Z"), "device": self.device, "code": self.code,
                "event": "raised" if self.raised else "cleared", "severity": self.severity, "value": self.value}


@dataclass(frozen=True)
class AlarmHistory:
    """Transitions in a range, and the alarms active at its start and at its end."""

    transitions: tuple[Transition, ...]
    active_at_start: tuple[tuple[str, str], ...]
    active_at_end: tuple[tuple[str, str], ...]


def _number(v: object) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def alarm_history(store: Historian, site: str, start: datetime, end: datetime) -> AlarmHistory:
    """Alarms raised and cleared in ``[start, end)`` at ``site``, in time order."""
    df = store.query(ALARM, ["active", "severity", "value"], start - LOOKBACK, end, tags={"site": site},
                     group_by_tags=["device", "code"])
    transitions: list[Transition] = []
    at_start: list[tuple[str, str]] = []
    at_end: list[tuple[str, str]] = []
    if df is not None and len(df):
        frame = df.reset_index().dropna(subset=["active"]).sort_values("time", kind="stable")
        for (device, code), rows in frame.groupby(["device", "code"], sort=True):
            state: bool | None = None
            for row in rows.itertuples(index=False):
                t = row.time.to_pydatetime()
                active = bool(row.active >= 0.5)
                if t < start:
                    state = active
                    continue
                if active != state:
                    transitions.append(Transition(t, str(device), str(code), active,
                                                  None if (s := _number(row.severity)) is None else int(s),
                                                  _number(row.value)))
                state = active
            last_before = rows[rows["time"] < start]
            if len(last_before) and bool(last_before["active"].iloc[-1] >= 0.5):
                at_start.append((str(device), str(code)))
            if state:
                at_end.append((str(device), str(code)))
    transitions.sort(key=lambda tr: (tr.time, tr.device, tr.code))
    return AlarmHistory(tuple(transitions), tuple(at_start), tuple(at_end))
