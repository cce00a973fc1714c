"""The Modbus poller: every device of a site, each at its own interval, links concurrently.

One :class:`~telemetry.connection.EndpointConnection` per link (``host:port``, an RTU-over-TCP
gateway or a serial bus); the devices on one link are polled one after the other (they share
the socket or the bus), devices that answered last time first, different links concurrently.
A device's reading is handed out as soon as it is read, so a dead device on a shared bus
delays nobody's reading beyond its own timeouts. Each device's reads are planned once from its
register profile (:func:`telemetry.readplan.profile_reads`: nearby registers merged, ≤ 125 per
read) and decoded by the one decoder (:func:`telemetry.registers.decode`). SunSpec devices are
discovered first (:mod:`telemetry.discovery`) and rediscovered after they were offline.

A device's alarm registers (profile points with an ``alarm`` table) and the registers that gate
a read block are decoded into its values for the alarm rules but not stored as fields: the store
gets the ``alarm`` readings.

A profile's read blocks (:mod:`telemetry.readblocks`: DSE's page 8 alarm page behind its page 3
alarm flags, SunSpec 713 at a slower cadence) are read after the device's other registers, only
on the polls :func:`telemetry.readblocks.block_due` names. Between two reads a block's last
values stay in the device's values with their read time (:attr:`PollCycle.carried`); its
reading carries only what this poll read.

A failing device (timeout, refused connection, exception response, garbage) is retried at
once ``modbus.retries`` times (default once), then backs off exponentially (2×, 4×, … its
interval, capped) and is reported offline: its reading carries ``online = 0`` and nothing
else. Devices on other links keep their cadence: :meth:`Poller.poll_due` waits at most
``cycle_wait_s`` for the links it started; a slower device's reading arrives in a later cycle.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Literal, Mapping, Sequence

from microgrid.clock import Clock
from microgrid.errors import ConfigError, DeviceError
from microgrid.readings import Reading
from microgrid.site import Site, device_kind
from telemetry.connection import Connections, EndpointConnection, ModbusExceptionError
from telemetry.discovery import discover, resolve
from telemetry.poll_cycle import DeviceStatus, PollCycle, numeric
from telemetry.readblocks import BlockState, DevicePlan, after_read, block_due, device_plan, profile_blocks
from telemetry.readplan import Read, merge_results
from telemetry.register_profile import Profile, load_profile
from telemetry.registers import decode

log = logging.getLogger(__name__)

#: Exception codes that mean "this block does not exist here" (the rest of the device is read).
_ABSENT_BLOCK_CODES = (1, 2)


@dataclass
class _Device:
    """Per-device poll state."""

    device: Any
    kind: str
    base: Profile
    conn: EndpointConnection
    status: DeviceStatus
    interval_s: float
    pause_s: float
    attempts: int = 2
    profile: Profile | None = None
    plan: DevicePlan | None = None
    due: datetime | None = None
    refused: set[int] = field(default_factory=set)
    polls: int = 0  #: successful polls since it was (re)discovered / came back: the blocks' clock
    blocks: dict[str, BlockState] = field(default_factory=dict)
    carried: dict[str, tuple[Any, datetime]] = field(default_factory=dict)  #: {field: (value, read at)}

    def forget_blocks(self) -> None:
        """Read every block again on the next poll; drop the values carried between reads."""
        self.polls, self.blocks, self.carried = 0, {}, {}

    @property
    def name(self) -> str:
        return self.device.name


@dataclass
class _Result:
    name: str
    time: datetime
    values: dict[str, Any] | None
    requests: int
    registers: int
    carried: dict[str, datetime] = field(default_factory=dict)


class Poller:
    """Polls a site's devices over Modbus (TCP, RTU over TCP, RTU on serial lines).

    Parameters
    ----------
    site : Site
    clock : Clock
        Time source for intervals, backoff and reading times.
    connections : Connections, optional
        Shared connection registry (e.g. with the setpoint writer); made (and closed by
        :meth:`close`) here when not given.
    backoff_cap_s : float
        Longest wait between tries of a failing device (at least its interval). [s]
    cycle_wait_s : float or None
        Longest wall time :meth:`poll_due` waits for the endpoints it started; None = all. [s]
    request_pause_s : float or mapping, optional
        Pause between the requests of one device, for slow gateways: one value for all, or
        ``{"host:port": s}``. Default: the profile's ``read.pause_s`` (0). [s]
    """

    def __init__(self, site: Site, *, clock: Clock, connections: Connections | None = None,
                 backoff_cap_s: float = 60.0, cycle_wait_s: float | None = 0.5,
                 request_pause_s: float | Mapping[str, float] | None = None):
        self.site, self.clock = site, clock
        self._own_connections = connections is None
        self.connections = connections if connections is not None else Connections(site)
        self.backoff_cap_s = float(backoff_cap_s)
        self.cycle_wait_s = cycle_wait_s
        self._devices: dict[str, _Device] = {}
        for device in site.devices:
            m = device.modbus
            base = load_profile(m.profile)
            conn = self.connections.for_device(device)
            endpoint = m.link
            status = DeviceStatus(device.name, device_kind(device), endpoint, m.unit_id)
            d = _Device(device, device_kind(device), base, conn, status, float(m.poll_interval_s),
                        _pause(request_pause_s, endpoint, base), attempts=1 + int(m.retries))
            if base.kind != "sunspec":
                d.profile, d.plan = base, device_plan(base)
            self._devices[device.name] = d
        self._inflight: dict[str, asyncio.Task[None]] = {}
        self._ready: list[_Result] = []  #: readings done since the last collect

    # ------------------------------------------------------------------------- public API
    def status(self) -> dict[str, DeviceStatus]:
        """``{device: DeviceStatus}`` (copies)."""
        return {name: replace(d.status) for name, d in self._devices.items()}

    def profile_of(self, name: str) -> Profile | None:
        """The profile a device is read with (SunSpec: resolved by discovery; None before)."""
        return self._devices[name].profile

    async def poll_all(self) -> PollCycle:
        """Poll every device once now, whatever its schedule (commissioning); waits for all."""
        if self._inflight:
            await asyncio.wait(list(self._inflight.values()))
        now = self.clock.now()
        self._start(now, list(self._devices.values()))
        return await self._collect(now, wait_s=None)

    async def poll_due(self) -> PollCycle:
        """Poll the devices whose interval (or backoff) is due at ``clock.now()``."""
        now = self.clock.now()
        due = [d for d in self._devices.values() if d.due is None or d.due <= now]
        self._start(now, due)
        return await self._collect(now, wait_s=self.cycle_wait_s)

    async def close(self) -> None:
        """Cancel polls in flight and close the connections this poller opened."""
        tasks = list(self._inflight.values())
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._inflight.clear()
        if self._own_connections:
            await self.connections.close_all()

    # ------------------------------------------------------------------------- scheduling
    def _reap(self) -> None:
        """Forget finished link tasks (their readings are already in ``_ready``)."""
        for key, task in list(self._inflight.items()):
            if task.done():
                del self._inflight[key]
                task.result()

    def _start(self, now: datetime, devices: list[_Device]) -> None:
        self._reap()
        by_link: dict[str, list[_Device]] = {}
        for d in devices:
            if d.conn.key not in self._inflight:
                by_link.setdefault(d.conn.key, []).append(d)
        for key, group in by_link.items():
            group.sort(key=_answer_rank)  # healthy devices first on a shared link
            self._inflight[key] = asyncio.ensure_future(self._poll_endpoint(group, now))

    async def _collect(self, now: datetime, wait_s: float | None) -> PollCycle:
        tasks = list(self._inflight.values())
        if tasks:
            await asyncio.wait(tasks, timeout=wait_s)
        self._reap()
        results, self._ready = self._ready, []
        order = {name: i for i, name in enumerate(self._devices)}
        results.sort(key=lambda r: order[r.name])  # the site file's order, whoever answered first
        return self._cycle(now, results)

    def _cycle(self, now: datetime, results: list[_Result]) -> PollCycle:
        values, readings, carried = {}, [], {}
        for r in results:
            d = self._devices[r.name]
            tags = {"site": self.site.name, "device": r.name}
            if r.values is None:
                readings.append(Reading(r.time, d.kind, tags, {"online": 0}))
                continue
            values[r.name] = r.values
            if r.carried:
                carried[r.name] = r.carried
            # a device's alarm registers stay in its values (the alarm rules decode them); the
            # store gets the decoded alarms (docs/architecture.md §12), not the raw bits; values
            # carried from an earlier read were stored when they were read
            hidden = _hidden_fields(d.profile or d.base)
            fields = numeric({k: v for k, v in r.values.items() if k not in hidden and k not in r.carried})
            readings.append(Reading(r.time, d.kind, tags, {"online": 1, **fields}))
        return PollCycle(now, values, readings, self.status(),
                         sum(r.requests for r in results), sum(r.registers for r in results), carried)

    # ------------------------------------------------------------------------- polling
    async def _poll_endpoint(self, devices: list[_Device], now: datetime) -> None:
        for d in devices:
            try:
                result = await self._poll_device(d, now)
            except Exception as exc:  # a bug must not kill the link's other devices
                log.exception("device %s: unexpected error while polling", d.name)
                self._failed(d, now, DeviceError(f"internal error: {exc!r}", device=d.name))
                result = _Result(d.name, now, None, 0, 0)
            self._ready.append(result)

    async def _poll_device(self, d: _Device, now: datetime) -> _Result:
        error: DeviceError | None = None
        requests = registers = 0
        for _attempt in range(d.attempts):  # one try and ``retries`` retries
            counter = [0, 0]
            try:
                values, carried = await self._read_device(d, counter, now)
            except DeviceError as exc:
                error = exc
                requests, registers = requests + counter[0], registers + counter[1]
                continue
            self._succeeded(d, now)
            return _Result(d.name, now, values, requests + counter[0], registers + counter[1], carried)
        self._failed(d, now, error)
        return _Result(d.name, now, None, requests, registers)

    async def _read_device(self, d: _Device, counter: list[int],
                           now: datetime) -> tuple[dict[str, Any], dict[str, datetime]]:
        """Read and decode one device: its base reads, then the blocks due on this poll."""
        unit = d.status.unit_id
        profile, plan = d.profile, d.plan
        if profile is None or plan is None:  # discover the device's SunSpec map first
            chain = await discover(d.conn, unit, device=d.name)
            counter[0] += chain.requests
            try:
                profile = resolve(d.base, chain)
            except (DeviceError, ConfigError) as exc:  # a chain the profile cannot use
                raise DeviceError(f"SunSpec map at {chain.base_address} "
                                  f"(models {list(chain.model_ids)}): {exc}", device=d.name) from None
            d.profile, d.plan, d.refused = profile, device_plan(profile), set()
            d.forget_blocks()
            plan = d.plan
            log.info("device %s: SunSpec map at %d, models %s, %d reads per poll (+%d in blocks)",
                     d.name, chain.base_address, list(chain.model_ids), len(plan.base),
                     len(plan.all_reads) - len(plan.base))
        single = len(plan.all_reads) == 1
        results = await self._read_list(d, plan.base, counter, profile.function, single)
        image = merge_results(plan.base, results)
        states, read_fields = dict(d.blocks), set[str]()
        for b in plan.blocks:
            state = states.get(b.block.name, BlockState())
            gate_raw = None if b.gate_address is None else image.get(b.gate_address)
            gated = b.block.gate is not None
            if not block_due(state, d.polls, gated, gate_raw):
                continue
            got = await self._read_list(d, b.reads, counter, profile.function, single)
            results += got
            image.update(merge_results(b.reads, got))
            if all(r is not None for r in got):  # a refused block is asked for again next poll
                states[b.block.name] = after_read(state, d.polls, d.name, b.block, d.interval_s, gate_raw,
                                                  d.device.modbus.block_every_s)
                read_fields |= b.block.fields
        if results and all(r is None for r in results):
            raise DeviceError("every read was refused", device=d.name)
        values = decode(profile, image)
        d.blocks, d.polls = states, d.polls + 1
        carried: dict[str, datetime] = {}
        for b in plan.blocks:
            for f in b.block.fields:
                if f in read_fields:
                    d.carried[f] = (values.get(f), now)
                elif f in d.carried:
                    values[f], carried[f] = d.carried[f]
        return values, carried

    async def _read_list(self, d: _Device, reads: Sequence[Read], counter: list[int],
                         function: Literal["holding", "input"], single: bool) -> list[list[int] | None]:
        """The registers of ``reads`` (None for a block the device refused as absent)."""
        results: list[list[int] | None] = []
        for r in reads:
            if counter[0] and d.pause_s > 0:
                await asyncio.sleep(d.pause_s)
            counter[0] += 1
            try:
                regs = await d.conn.read(d.status.unit_id, r.address, r.count, function=function)
            except ModbusExceptionError as exc:
                if exc.code not in _ABSENT_BLOCK_CODES or single:
                    raise
                if r.address not in d.refused:
                    d.refused.add(r.address)
                    log.warning("device %s: registers %d+%d refused (%s); their fields are missing",
                                d.name, r.address, r.count, exc)
                results.append(None)
                continue
            counter[1] += len(regs)
            results.append(regs)
        return results

    def _succeeded(self, d: _Device, now: datetime) -> None:
        s = d.status
        if s.online is False:
            log.warning("device %s (%s unit %d) back online after %d failed polls",
                        d.name, s.endpoint, s.unit_id, s.failures)
        s.online, s.reason, s.last_ok, s.failures = True, None, now, 0
        step = timedelta(seconds=d.interval_s)
        due = (d.due or now) + step
        d.due = due if due > now else now + step
        s.next_try = d.due

    def _failed(self, d: _Device, now: datetime, error: DeviceError | None) -> None:
        s = d.status
        s.failures += 1
        reason = str(error) if error is not None else "unknown error"
        if s.online is not False or s.reason != reason:
            log.warning("device %s (%s unit %d) offline: %s", d.name, s.endpoint, s.unit_id, reason)
        s.online, s.reason = False, reason
        cap = max(self.backoff_cap_s, d.interval_s)
        wait = min(cap, d.interval_s * 2.0 ** min(s.failures, 32))
        d.due = now + timedelta(seconds=wait)
        s.next_try = d.due
        d.forget_blocks()  # read every block again when it comes back
        if d.base.kind == "sunspec":
            d.profile, d.plan = None, None  # rediscover when it comes back


@lru_cache(maxsize=None)
def _hidden_fields(profile: Profile) -> frozenset[str]:
    """Fields of the profile's alarm points (raw bitfields, states, GenComm nibbles) and of its
    read blocks' gates (raw flags): decoded for the rules, not stored."""
    gates = {b.gate for b in profile_blocks(profile) if b.gate is not None}
    return frozenset(p.field for p in profile.points if p.alarm is not None or p.field in gates)


def _answer_rank(d: _Device) -> int:
    """0 answered last time, 1 not polled yet, 2 failing: the order on a shared link."""
    return {True: 0, None: 1, False: 2}[d.status.online]


def _pause(setting: float | Mapping[str, float] | None, endpoint: str, profile: Profile) -> float:
    if isinstance(setting, Mapping):
        if endpoint in setting:
            return float(setting[endpoint])
    elif setting is not None:
        return float(setting)
    return float(profile.definition.get("read", {}).get("pause_s", 0.0))
