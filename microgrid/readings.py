"""Readings: the one record type every part of the data path speaks (docs/architecture.md §4).

A reading is one point: a measurement, a UTC time, tags (always ``site``; ``device`` and
others where they apply) and numeric fields whose names carry units. A missing value is an
absent field (or NaN, which writers drop), never 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Mapping

MEASUREMENTS = ("pv_inverter", "battery", "genset", "load_meter", "fuel_tank", "camp", "energy",
                "forecast", "plan", "setpoint", "optimizer", "device_status", "alarm", "fuel", "fuel_delivery")


@dataclass(frozen=True)
class Reading:
    """One timestamped point.

    Attributes
    ----------
    time : datetime
        Timezone-aware UTC time of the point.
    measurement : str
        One of docs/architecture.md §4's measurements.
    tags : Mapping[str, str]
        Series identity: ``site`` and, for devices, ``device``.
    fields : Mapping[str, float]
        Values with units in their names. NaN means missing and is never written.
    """

    time: datetime
    measurement: str
    tags: Mapping[str, str]
    fields: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.time.tzinfo is None or self.time.utcoffset() != timezone.utc.utcoffset(None):
            raise ValueError(f"reading time must be timezone-aware UTC, got {self.time!r}")

    @property
    def device(self) -> str | None:
        return self.tags.get("device")

    def present_fields(self) -> dict[str, float]:
        """Fields that are not missing (drops None and NaN)."""
        return {k: float(v) for k, v in self.fields.items()
                if v is not None and not (isinstance(v, float) and math.isnan(v))}

    def to_json(self) -> dict:
        """The JSON shape `microgrid poll --json` prints."""
        return {"time": self.time.isoformat().replace("+00:00", "Z"),
                "measurement": self.measurement, "device": self.device,
                "tags": dict(self.tags), "fields": self.present_fields()}


def utc(dt: datetime) -> datetime:
    """Return ``dt`` as aware UTC (naive input is taken as UTC)."""
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)
