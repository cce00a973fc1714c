"""Poll cycle → readings: device readings, site totals (``camp``) and 15-min roll-ups.

:class:`PollPipeline` runs one :meth:`Poller.poll_due` per :meth:`PollPipeline.cycle` and adds
what the pure accounting code (:mod:`microgrid.accounting`) makes of the latest values of
all devices: a device's last good values are held for up to ``hold_factor`` × its poll
interval (so devices polled at different times still add up), then count as missing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from microgrid.accounting import EnergyRollup, camp_totals
from microgrid.plant.bucket import BUCKET_MIN
from microgrid.readings import Reading
from microgrid.site import Site
from telemetry.poller import PollCycle, Poller
from telemetry.register_profile import Profile


class PollPipeline:
    """Device readings plus ``camp`` totals and ``energy`` / ``genset_energy`` roll-ups.

    Parameters
    ----------
    site : Site
    poller : Poller
    hold_factor : float
        A device's last good values stand for up to this many of its intervals. [-]
    bucket_min : int
        Roll-up bucket. [min]
    """

    def __init__(self, site: Site, poller: Poller, *, hold_factor: float = 3.0,
                 bucket_min: int = BUCKET_MIN):
        self.site, self.poller = site, poller
        self._hold_s = {d.name: hold_factor * float(d.modbus.poll_interval_s) for d in site.devices}
        max_hold = max(self._hold_s.values(), default=60.0)
        self.rollup = EnergyRollup(site, bucket_min=bucket_min, max_hold_s=max(60.0, max_hold))
        self._last: dict[str, tuple[datetime, dict[str, Any]]] = {}
        self._now: datetime | None = None

    async def cycle(self) -> list[Reading]:
        """Poll the due devices; return their readings, the totals and completed roll-ups."""
        return self.ingest(await self.poller.poll_due())

    def ingest(self, cycle: PollCycle) -> list[Reading]:
        """Readings of one poll cycle (pure apart from the held state).

        Returns the cycle's device readings, then (when any device was polled) one ``camp``
        reading at the cycle time and the roll-up readings of buckets it completed.
        """
        times = {r.device: r.time for r in cycle.readings}
        for name, values in cycle.values.items():
            self._last[name] = (times.get(name, cycle.time), values)
        self._now = cycle.time if self._now is None else max(self._now, cycle.time)
        out = list(cycle.readings)
        if cycle.readings:
            current = self.latest
            out.append(camp_totals(self.site, cycle.time, current))
            out.extend(self.rollup.add(cycle.time, current))
        return out

    @property
    def latest(self) -> dict[str, dict[str, Any]]:
        """``{device: values}`` of devices whose last good poll is still within its hold."""
        if self._now is None:
            return {}
        return {name: values for name, (t, values) in self._last.items()
                if (self._now - t).total_seconds() <= self._hold_s.get(name, 0.0)}

    def flush(self) -> list[Reading]:
        """Roll-up readings of every open bucket (at shutdown)."""
        return self.rollup.flush()

    def profile_of(self, name: str) -> Profile | None:
        """The profile device ``name`` is read with (None before a SunSpec device is discovered)."""
        return self.poller.profile_of(name)

    def device_status(self) -> dict[str, dict[str, Any]]:
        """Per device: the poller's status (online, reason, last good poll, failures), JSON-ready."""
        return {name: {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in vars(st).items()}
                for name, st in self.poller.status().items()}
