"""What the service needs of each collaborator, declared as Protocols (docs/architecture.md §1).

The service calls nothing else on them. The production classes are
:class:`telemetry.pipeline.PollPipeline` (:class:`PollSource`), :class:`optimizer.planner.Planner`
implementations, :class:`telemetry.control.Controller` (:class:`SetpointWriter`), any
:class:`telemetry.historian.base.Historian` (:class:`Store`) and, when InfluxDB is the store,
:class:`telemetry.historian.spool.SpooledHistorian` (also a :class:`Backlog`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

import pandas as pd

from microgrid.plant import Setpoints
from microgrid.readings import Reading
from telemetry.historian.base import Historian
from telemetry.register_profile import Profile

__all__ = ["Backlog", "PollSource", "SetpointWriter", "Store"]


class PollSource(Protocol):
    """Device readings, site totals and energy roll-ups, cycle by cycle."""

    @property
    def latest(self) -> Mapping[str, Mapping[str, Any]]:
        """``{device: values}`` of the devices whose last good poll is still fresh."""
        ...

    async def cycle(self) -> list[Reading]:
        """Poll the due devices; their readings, the totals and the completed roll-ups."""
        ...

    def flush(self) -> list[Reading]:
        """Roll-ups of every open bucket (at shutdown)."""
        ...

    def device_status(self) -> dict[str, dict[str, Any]]:
        """Per device: online, reason, last good poll, failures (JSON-ready)."""
        ...

    def profile_of(self, name: str) -> Profile | None:
        """The register profile a device is read with (its alarm points' names); None before
        a SunSpec device was discovered."""
        ...


class SetpointWriter(Protocol):
    """Writes setpoints to the controllers, safely."""

    async def apply(self, setpoints: Setpoints) -> list[Reading]:
        """Decide and write (or, in dry run, only decide) every point; the ``setpoint`` readings."""
        ...

    def status(self) -> dict[str, Any]:
        """Mode, last apply, writes, faults (JSON-ready)."""
        ...


class Store(Protocol):
    """Where readings go, and where a restarted service reads its history back."""

    def write(self, readings: Iterable[Reading]) -> None:
        """Store readings (a spool in front queues them durably)."""
        ...

    def query(self, measurement: str, fields: Sequence[str] | str, start: datetime, end: datetime, *,
              tags: Mapping[str, str] | None = None, agg: str | None = None, interval: str | None = None,
              group_by_tags: Sequence[str] = ()) -> pd.DataFrame:
        """Fields of a measurement over ``start <= time < end`` (the historian contract)."""
        ...

    def reader(self) -> Historian:
        """A historian to read this store from another thread (the camp page)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class Backlog(Protocol):
    """A durable spool in front of the store: batches wait until the server acknowledged them."""

    def drain_once(self, max_batches: int | None = None) -> int:
        """Send spooled batches; the number of points the server acknowledged."""
        ...

    def flush(self, timeout_s: float = 10.0, retry_s: float = 0.2) -> bool:
        """Drain until empty or ``timeout_s``; whether the spool is empty."""
        ...

    def status(self) -> dict[str, Any]:
        """Depth and drops (JSON-ready)."""
        ...
