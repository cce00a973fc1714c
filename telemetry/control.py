"""Setpoints to controllers, safely: the I/O side of control (docs/architecture.md §8).

:class:`Controller` writes a :class:`~microgrid.plant.Setpoints` (usually the current plan
step through :func:`optimizer.guards.control_setpoints`) to the devices over Modbus.
What may be written and at which value is decided by the pure
:mod:`telemetry.control_policy`; this module adds the state and the I/O:

* **only declared points**: a point the device's profile does not declare writable is
  refused and logged, never written;
* **clamped** to the site's ratings and the profile's limits (policy);
* **rate-limited**: per device point, at most one write (attempt) per ``min_interval_s``;
  optionally a largest step per write (``max_step``, e.g. ``{"power_limit_pct": 20}``);
  a point is written only when its registers differ from the last confirmed write, or its
  heartbeat is due;
* **confirmed by read-back**: after writing, the point is read back and decoded; a mismatch
  (or a failed write or read) is logged and the write retried up to ``readback_retries``
  times, then the device is flagged ``setpoint_fault`` in :meth:`Controller.status` until a
  later write to it is confirmed. Retries are immediate (they belong to one write);
* **revert timers and heartbeats**: a revert time (``revert_s``) is written where the device
  offers one (SunSpec ``WMaxLimPct_RvrtTms``, ``InOutWRte_RvrtTms``), and every value that is
  not the device's own default (a PV or battery limit, a genset ``run``/``stop`` and its base
  load) is re-written every ``heartbeat_s``: if the service dies, the inverters' revert timers
  and the genset controllers' supervisory timeout return the devices to their own safe mode
  (100 %, rated, ``auto``). Heartbeats go out when :meth:`Controller.apply` runs, so
  ``heartbeat_s`` plus the control loop's period must stay below every revert time, including
  the genset controllers' own (configured on the controller, 300 s on the virtual camp);
  defaults: heartbeat 120 s, revert 300 s, for a control loop of up to 60 s;
* **dry run** (advisory; the default when ``site.control_mode == "dry_run"``): the same
  decisions, logged and recorded with ``dry_run = 1``; nothing is written (devices are read,
  for their scale factors and ratings, when reachable). The status says ``"would write"``,
  never ``"confirmed"``, for a point that was never written;
* **what a device says about itself is checked** (:mod:`telemetry.scaling`): a scale factor
  outside SunSpec's -10..10 or "not implemented", a value that does not fit its register, or a
  step that would leave the device holding something else than asked refuses that point and
  flags it faulty in :meth:`Controller.status`, naming device, point and register; the device's
  registers are read again on the next apply. With control enabled, nothing is written to a
  device whose scale factors and ratings could not be read;
* **one device cannot stop the others**: any exception while handling a device is logged,
  flagged as that device's fault, and the other devices are still written.

Every decision is a ``setpoint`` :class:`~microgrid.readings.Reading` (tags ``site``,
``device``, ``point``; fields ``value``, ``requested``, ``accepted``, ``clamped``, ``dry_run``,
plus ``heartbeat``, ``rate_limited``, ``ramped``, ``fault``, ``attempts``). Named values (genset
mode) are recorded as the profile's code (DSE: 0 stop, 1 auto, 2 run).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal, Mapping, Protocol

from microgrid.clock import Clock
from microgrid.errors import DeviceError
from microgrid.plant import Setpoints
from microgrid.readings import Reading
from microgrid.site import CONTROL_MODES, ENABLED, Site
from telemetry.control_policy import (
    Decision,
    Desired,
    decide,
    desired_points,
    rating_image,
    read_ranges,
    readback_ok,
    writable,
)
from telemetry.registers import Profile, Write, load_profile

__all__ = ["Controller", "DeviceLink", "LinkProvider"]

log = logging.getLogger(__name__)


class DeviceLink(Protocol):
    """What the controller needs of a Modbus connection (:class:`telemetry.connection.EndpointConnection`)."""

    async def read(self, unit_id: int, address: int, count: int, *,
                   function: Literal["holding", "input"] = "holding") -> list[int]: ...

    async def write(self, unit_id: int, address: int, registers: list[int]) -> None: ...


class LinkProvider(Protocol):
    """:class:`telemetry.connection.Connections`."""

    def for_device(self, device: Any) -> DeviceLink: ...


@dataclass
class _PointState:
    """What was last written to one device point."""

    value: Any
    writes: tuple
    attempted_at: datetime
    written_at: datetime | None  #: last confirmed write
    confirmed: bool
    dry_run: bool = False  #: decided in dry run: would have been written, never was


@dataclass
class _Item:
    """One point being written in this round."""

    decision: Decision
    requested: Any  #: as the setpoints asked (before ramping)
    ramped: bool
    heartbeat: bool
    attempts: int = 0
    readback: Any = None
    error: str = ""
    confirmed: bool = False

    @property
    def writes(self) -> tuple[Write, ...]:
        """The register writes of the accepted decision."""
        assert self.decision.plan is not None, "only accepted decisions are written"
        return self.decision.plan.writes


class Controller:
    """Writes setpoints to the site's devices (see the module docstring for the rules).

    Parameters
    ----------
    site : Site
    clock : Clock
        Time of the rate limits, heartbeats and readings.
    connections : LinkProvider
        ``for_device(device)`` -> a connection with async ``read``/``write``
        (:class:`telemetry.connection.Connections`).
    mode : {"dry_run", "enabled"}, optional
        Default ``site.control_mode``.
    min_interval_s : float
        Least time between two write attempts to one device point. [s]
    readback_retries : int
        Re-writes after a failed write or a read-back mismatch before the device is
        flagged ``setpoint_fault``.
    heartbeat_s : float
        Re-write period of non-default values. [s]
    revert_s : float
        Revert time written to devices that offer one; > ``heartbeat_s``. [s]
    max_step : mapping, optional
        Largest change per write, by point name (``{"power_limit_pct": 20.0}``). [field units]
    profiles : mapping, optional
        Profile per device name (e.g. resolved against a discovered SunSpec chain); default
        the profile named in each device's ``modbus.profile``.
    """

    def __init__(self, site: Site, *, clock: Clock, connections: LinkProvider,
                 mode: str | None = None, min_interval_s: float = 30.0,
                 readback_retries: int = 2, heartbeat_s: float = 120.0, revert_s: float = 300.0,
                 max_step: Mapping[str, float] | None = None,
                 profiles: Mapping[str, Profile] | None = None):
        mode = site.control_mode if mode is None else mode
        if mode not in CONTROL_MODES:
            raise ValueError(f"control mode must be one of {CONTROL_MODES}, got {mode!r}")
        if not 0 <= min_interval_s <= heartbeat_s < revert_s:
            raise ValueError(f"need 0 <= min_interval_s ({min_interval_s}) <= heartbeat_s "
                             f"({heartbeat_s}) < revert_s ({revert_s})")
        if readback_retries < 0:
            raise ValueError(f"readback_retries must be >= 0, got {readback_retries}")
        self.site, self.clock, self.connections, self.mode = site, clock, connections, mode
        self.min_interval_s, self.heartbeat_s, self.revert_s = min_interval_s, heartbeat_s, revert_s
        self.readback_retries = int(readback_retries)
        self.max_step = dict(max_step or {})
        given = dict(profiles or {})
        self.profiles: dict[str, Profile] = {
            d.name: given.get(d.name) or load_profile(d.modbus.profile) for d in site.devices}
        self._state: dict[tuple[str, str], _PointState] = {}
        self._images: dict[str, dict[int, int]] = {}
        self._faults: dict[str, str] = {}  #: device -> write / read-back / internal fault
        self._point_faults: dict[tuple[str, str], str] = {}  #: (device, point) -> scaling fault
        self._reread: set[str] = set()  #: devices whose registers are read again on the next apply
        self._refused: dict[tuple[str, str], str] = {}
        self._last_apply: datetime | None = None
        self.writes = 0  #: Modbus write requests sent

    @property
    def dry_run(self) -> bool:
        return self.mode != ENABLED

    # ------------------------------------------------------------------------------ apply
    async def apply(self, setpoints: Setpoints) -> list[Reading]:
        """Bring the devices to ``setpoints`` (what is due of it); one reading per decision.

        Never raises for a device problem: failures are logged, recorded (``accepted = 0``)
        and flagged in :meth:`status`.
        """
        return await self._apply(setpoints, rate_limit=True)

    async def release(self) -> list[Reading]:
        """Return every device to its own safe mode now (gensets auto, no limits): for a
        clean shutdown. Ignores the rate limit."""
        return await self._apply(Setpoints.default(self.site), rate_limit=False)

    async def _apply(self, setpoints: Setpoints, *, rate_limit: bool) -> list[Reading]:
        now = self.clock.now()
        self._last_apply = now
        groups: dict[str, list[Desired]] = {}
        for d in desired_points(self.site, setpoints, revert_s=self.revert_s):
            groups.setdefault(d.device, []).append(d)
        readings: list[Reading] = []
        for name, desires in groups.items():
            try:
                readings += await self._apply_device(name, desires, now, rate_limit)
            except Exception as exc:  # one device's failure never stops the others
                log.exception("setpoints of %s failed: %s", name, exc)
                self._faults[name] = f"internal error: {type(exc).__name__}: {exc}"
                self._images.pop(name, None)  # read its registers again next time
        return readings

    async def _apply_device(self, name: str, desires: list[Desired], now: datetime,
                            rate_limit: bool) -> list[Reading]:
        profile = self.profiles.get(name)
        if name in self._reread:  # a scaling fault last time: the device may have fixed it
            self._reread.discard(name)
            self._images.pop(name, None)
        if profile is not None and name not in self._images:
            await self._read_image(name, profile)
        image = self._image_for(name, profile)
        readings, batch = [], []
        for d in desires:
            decision = decide(self.site, profile, d, image)
            if decision.fault:
                self._point_fault(name, d.point, decision.refused)
            elif decision.accepted or profile is None or not writable(profile, d.point):
                self._point_faults.pop((name, d.point), None)
            if not decision.accepted:
                if not (d.optional and not writable(profile, d.point)):
                    if self._refused.get((name, d.point)) != decision.refused:  # once per cause
                        log.warning("setpoint %s.%s = %r refused: %s", name, d.point,
                                    d.requested, decision.refused)
                    self._refused[(name, d.point)] = decision.refused
                    readings.append(self._reading(now, decision, d.requested, accepted=False))
                continue
            self._refused.pop((name, d.point), None)
            item = self._due(decision, image, now, rate_limit)
            if item is None:
                continue
            if isinstance(item, Reading):
                readings.append(item)
            else:
                batch.append(item)
        if not batch:
            return readings
        if self.dry_run:
            for item in batch:
                log.info("dry run: would write %s.%s = %r (requested %r)", name,
                         item.decision.desired.point, item.decision.value, item.requested)
                self._remember(item, now, confirmed=True, dry_run=True)
                readings.append(self._item_reading(now, item, accepted=True))
            return readings
        assert profile is not None  # decide() accepts nothing for a device without a profile
        if name not in self._images:  # never encode a write with scale factors the device did not give
            why = "its scale factors and ratings could not be read; nothing written"
            self._faults[name] = why
            return readings + [self._item_reading(now, i, accepted=False) for i in batch]
        await self._write_batch(name, profile, batch, now)
        return readings + [self._item_reading(now, i, accepted=i.confirmed) for i in batch]

    def _point_fault(self, name: str, point: str, reason: str) -> None:
        """Flag a device point whose scaling the device reports unusably; re-read it next time."""
        if self._point_faults.get((name, point)) != reason:
            log.error("device %s: setpoint %s faulty: %s", name, point, reason)
        self._point_faults[(name, point)] = reason
        self._reread.add(name)

    def _image_for(self, name: str, profile: Profile | None) -> dict[int, int] | None:
        if profile is None:
            return None
        image = self._images.get(name)
        if image is None:
            image = rating_image(profile, self.site.device(name))
        return image

    def _due(self, decision: Decision, image: Mapping[int, int] | None, now: datetime,
             rate_limit: bool) -> Reading | _Item | None:
        """None (nothing to do), a deferred-write Reading, or an :class:`_Item` to write."""
        d = decision.desired
        key = (d.device, d.point)
        st = self._state.get(key)
        ramped = False
        step = self.max_step.get(d.point)
        if (step and st is not None and st.confirmed and not isinstance(decision.value, str)
                and abs(decision.value - st.value) > step):
            towards = st.value + math.copysign(step, decision.value - st.value)
            ramped_decision = decide(self.site, self.profiles.get(d.device),
                                     replace(d, requested=towards), image)
            if ramped_decision.accepted:
                decision, ramped = ramped_decision, True
        changed = st is None or not st.confirmed or decision.plan is None or st.writes != decision.plan.writes
        beat = (d.heartbeat and st is not None and st.written_at is not None
                and (now - st.written_at).total_seconds() >= self.heartbeat_s)
        if not changed and not beat:
            return None
        item = _Item(decision, d.requested, ramped, heartbeat=beat and not changed)
        if rate_limit and st is not None and (now - st.attempted_at).total_seconds() < self.min_interval_s:
            log.debug("setpoint %s.%s: rate-limited", d.device, d.point)
            return self._item_reading(now, item, accepted=False, rate_limited=True)
        return item

    # ------------------------------------------------------------------------------- I/O
    async def _read_image(self, name: str, profile: Profile) -> dict[int, int] | None:
        """Read the registers writing and confirming needs; cache and return them (None on failure)."""
        device = self.site.device(name)
        link = self.connections.for_device(device)
        image: dict[int, int] = {}
        try:
            for r in read_ranges(profile):
                regs = await link.read(device.modbus.unit_id, r.address, r.count,
                                       function=profile.function)
                image.update(zip(range(r.address, r.address + len(regs)), regs))
        except DeviceError as exc:
            log.warning("setpoint read of %s failed: %s", name, exc)
            return None
        self._images[name] = image
        return image

    async def _write_batch(self, name: str, profile: Profile, batch: list[_Item],
                           now: datetime) -> None:
        device = self.site.device(name)
        link = self.connections.for_device(device)
        pending = list(batch)
        for _attempt in range(1 + self.readback_retries):
            for item in pending:
                item.attempts += 1
                item.error = ""
                try:
                    for w in item.writes:
                        self.writes += 1
                        await link.write(device.modbus.unit_id, w.address, list(w.registers))
                except DeviceError as exc:
                    item.error = f"write failed: {exc}"
            image = await self._read_image(name, profile)
            still = []
            for item in pending:
                if not item.error and image is None:
                    item.error = "read-back failed"
                if not item.error and image is not None:
                    ok, item.readback = readback_ok(profile, item.decision, image)
                    if not ok:
                        item.error = (f"read back {item.readback!r}, wrote {item.decision.value!r}")
                if item.error:
                    log.warning("setpoint %s.%s attempt %d: %s", name, item.decision.desired.point,
                                item.attempts, item.error)
                    still.append(item)
                else:
                    item.confirmed = True
            pending = still
            if not pending:
                break
            if image is not None:  # re-plan with the device's current scale factors / ratings
                for item in pending:
                    again = decide(self.site, profile, item.decision.desired, image)
                    if again.accepted:
                        item.decision = again
        for item in batch:
            self._remember(item, now, confirmed=item.confirmed)
        if pending:
            self._faults[name] = "; ".join(
                f"{i.decision.desired.point}: {i.error} after {i.attempts} attempts" for i in pending)
            log.error("device %s flagged setpoint_fault: %s", name, self._faults[name])
        elif name in self._faults:
            log.info("device %s: setpoint fault cleared", name)
            del self._faults[name]

    def _remember(self, item: _Item, now: datetime, *, confirmed: bool, dry_run: bool = False) -> None:
        d = item.decision.desired
        key = (d.device, d.point)
        old = self._state.get(key)
        self._state[key] = _PointState(
            value=item.decision.value, writes=item.writes, attempted_at=now,
            written_at=now if confirmed else (old.written_at if old else None),
            confirmed=confirmed, dry_run=dry_run)

    # -------------------------------------------------------------------------- readings
    def _code(self, device: str, point: str, value: Any) -> float | None:
        """A field value for the reading: numbers as floats, named values as profile codes."""
        if value is None or isinstance(value, bool):
            return None if value is None else float(value)
        if isinstance(value, str):
            profile = self.profiles.get(device)
            if profile is None:
                return None
            try:
                return float(dict(profile.point(point).enum)[value])
            except KeyError:
                return None
        try:
            v = float(value)
        except (TypeError, ValueError):
            return None
        return v if math.isfinite(v) else None

    def _reading(self, now: datetime, decision: Decision, requested: Any, *, accepted: bool,
                 **extra: float) -> Reading:
        d = decision.desired
        fields = {"value": self._code(d.device, d.point, decision.value),
                  "requested": self._code(d.device, d.point, requested),
                  "accepted": float(accepted), "clamped": float(decision.clamped),
                  "dry_run": float(self.dry_run), **{k: float(v) for k, v in extra.items()}}
        return Reading(now, "setpoint", {"site": self.site.name, "device": d.device, "point": d.point},
                       {k: v for k, v in fields.items() if v is not None})

    def _item_reading(self, now: datetime, item: _Item, *, accepted: bool,
                      rate_limited: bool = False) -> Reading:
        extra: dict[str, float] = {"heartbeat": item.heartbeat, "rate_limited": rate_limited,
                                   "ramped": item.ramped}
        if not self.dry_run and not rate_limited:
            extra.update(attempts=item.attempts, fault=not item.confirmed)
        return self._reading(now, item.decision, item.requested, accepted=accepted, **extra)

    # ---------------------------------------------------------------------------- status
    def status(self) -> dict[str, Any]:
        """For the status endpoint: mode, faults, and the last write of every device point.

        Returns
        -------
        dict
            ``{"mode", "dry_run", "last_apply", "writes", "faults": {device: message},
            "devices": {device: {"setpoint_fault": bool, "points": {point: {"value", "state",
            "confirmed", "attempted_at", "written_at"[, "fault"]}}}}}`` (times ISO 8601 UTC).
            ``state`` is ``"confirmed"``, ``"not confirmed"``, ``"would write"`` (dry run: never
            written, so never ``confirmed``) or ``"faulty"`` (the device's scaling refused the
            point; ``fault`` says why, naming device, point and register).
        """
        def iso(t: datetime | None) -> str | None:
            return None if t is None else t.isoformat().replace("+00:00", "Z")

        faults = dict(self._faults)
        for (name, point), why in self._point_faults.items():
            faults[name] = "; ".join(m for m in (faults.get(name), f"{point}: {why}") if m)
        devices: dict[str, Any] = {d.name: {"setpoint_fault": d.name in faults, "points": {}}
                                   for d in self.site.devices}
        for (name, point), st in self._state.items():
            devices.setdefault(name, {"setpoint_fault": name in faults, "points": {}})
            state = "would write" if st.dry_run else "confirmed" if st.confirmed else "not confirmed"
            devices[name]["points"][point] = {
                "value": st.value, "state": state, "confirmed": st.confirmed and not st.dry_run,
                "attempted_at": iso(st.attempted_at), "written_at": None if st.dry_run else iso(st.written_at)}
        for (name, point), why in self._point_faults.items():
            entry = devices.setdefault(name, {"setpoint_fault": True, "points": {}})["points"]
            entry.setdefault(point, {"value": None, "confirmed": False, "attempted_at": None,
                                     "written_at": None})
            entry[point].update(state="faulty", fault=why)
        return {"mode": self.mode, "dry_run": self.dry_run, "last_apply": iso(self._last_apply),
                "writes": self.writes, "faults": faults, "devices": devices}
