"""What a poll produces: the cycle (:class:`PollCycle`) and each device's standing
(:class:`DeviceStatus`), and the fields of decoded values a reading can carry (:func:`numeric`).

Made by :class:`telemetry.poller.Poller`; read by the pipeline, the service and the CLI.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from microgrid.readings import Reading

__all__ = ["DeviceStatus", "PollCycle", "numeric"]


@dataclass
class DeviceStatus:
    """Where a device stands, for the service, the status endpoint and the CLI.

    Attributes
    ----------
    name, kind, endpoint : str
        Device name, measurement (``pv_inverter`` …) and link (``host:port``,
        ``rtu+tcp://host:port`` or ``serial:/dev/ttyUSB0``).
    unit_id : int
    online : bool or None
        None until first polled.
    reason : str or None
        Why it is offline (the last error), or None.
    last_ok : datetime or None
        Time of the last good poll (UTC).
    failures : int
        Consecutive failed polls.
    next_try : datetime or None
        When it is due next (UTC).
    """

    name: str
    kind: str
    endpoint: str
    unit_id: int
    online: bool | None = None
    reason: str | None = None
    last_ok: datetime | None = None
    failures: int = 0
    next_try: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        def iso(t: datetime | None) -> str | None:
            return None if t is None else t.isoformat().replace("+00:00", "Z")

        return {"device": self.name, "kind": self.kind, "endpoint": self.endpoint,
                "unit_id": self.unit_id, "online": self.online, "reason": self.reason,
                "last_ok": iso(self.last_ok), "failures": self.failures,
                "next_try": iso(self.next_try)}


@dataclass(frozen=True)
class PollCycle:
    """What one call of :meth:`Poller.poll_due` / :meth:`Poller.poll_all` produced.

    Attributes
    ----------
    time : datetime
        Clock time the cycle started (UTC).
    values : dict
        ``{device: {field: value or None}}`` as decoded, for the devices that answered.
    readings : list of Reading
        One device reading per device polled (``online`` 0/1 plus its present fields).
    status : dict
        ``{device: DeviceStatus}`` of every device (copies).
    requests, registers : int
        Read requests sent and registers read for this cycle's devices.
    carried : dict
        ``{device: {field: read time}}`` of the values that this cycle did not read but carried
        from an earlier read of their block (in ``values``, not in ``readings``).
    """

    time: datetime
    values: dict[str, dict[str, Any]]
    readings: list[Reading]
    status: dict[str, DeviceStatus]
    requests: int = 0
    registers: int = 0
    carried: dict[str, dict[str, datetime]] = field(default_factory=dict)

    @property
    def polled(self) -> list[str]:
        return [r.device for r in self.readings if r.device is not None]

    @property
    def offline(self) -> list[str]:
        return [r.device for r in self.readings if r.device is not None and r.fields.get("online") == 0]


def numeric(values: Mapping[str, Any]) -> dict[str, float]:
    """The fields of decoded values that a reading can carry: numbers, not None/NaN/strings."""
    out: dict[str, float] = {}
    for k, v in values.items():
        if isinstance(v, bool):
            out[k] = int(v)
        elif isinstance(v, (int, float)) and not (isinstance(v, float) and math.isnan(v)):
            out[k] = v
    return out
