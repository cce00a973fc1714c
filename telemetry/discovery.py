"""SunSpec discovery: find the "SunS" marker and walk the device's model chain.

The marker is probed at 40000, then 0, then 50000 (SunSpec's standard base addresses); a
timeout or an exception response at one base moves on to the next. From the marker the chain
of model headers ``(ID, L)`` is walked to the end marker (``0xFFFF``), reading in chunks of
at most 125 registers and skipping model bodies that lie beyond a chunk. The result resolves
a SunSpec register profile against what the device really has
(:meth:`telemetry.register_profile.Profile.with_chain`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence

from microgrid.errors import DeviceError
from telemetry.connection import MAX_READ_REGISTERS, DeviceConnectionError, EndpointConnection, ModbusExceptionError
from telemetry.register_profile import Profile
from telemetry.sunspec import BASE_ADDRESSES, SUNS_MARKER

log = logging.getLogger(__name__)

#: A chain longer than this is taken as garbage.
MAX_MODELS = 64
#: Highest register address a chain may reach.
MAX_ADDRESS = 0xFFFF


class DiscoveryError(DeviceError):
    """No SunSpec map was found, or the model chain is malformed."""


@dataclass(frozen=True)
class Chain:
    """A discovered SunSpec map.

    Attributes
    ----------
    base_address : int
        Address of the "SunS" marker.
    models : tuple of (model id, L)
        The chain in order; ``L`` is the body length. [registers]
    requests : int
        Read requests discovery took (probes included).
    """

    base_address: int
    models: tuple[tuple[int, int], ...]
    requests: int = 0

    @property
    def model_ids(self) -> tuple[int, ...]:
        return tuple(mid for mid, _ in self.models)


async def discover(conn: EndpointConnection, unit_id: int, *,
                   bases: Sequence[int] = BASE_ADDRESSES, device: str | None = None) -> Chain:
    """Find the SunSpec map of ``unit_id`` behind ``conn``.

    Parameters
    ----------
    conn : EndpointConnection
    unit_id : int
        Modbus unit id. [0..247]
    bases : sequence of int
        Marker addresses to probe, in order.
    device : str, optional
        Device name for messages.

    Returns
    -------
    Chain

    Raises
    ------
    DeviceConnectionError
        The endpoint cannot be reached at all (probing other bases would not help).
    DiscoveryError
        No base answered with "SunS", or the chain is malformed.
    """
    who = device or f"{conn.name} unit {unit_id}"
    tried: list[str] = []
    requests = 0
    for base in bases:
        requests += 1
        try:
            regs = await conn.read(unit_id, base, 2)
        except DeviceConnectionError:
            raise
        except DeviceError as exc:
            log.info("device %s: no SunSpec marker at %d: %s", who, base, exc)
            tried.append(f"{base}: {_short(exc)}")
            continue
        if tuple(regs) != SUNS_MARKER:
            tried.append(f"{base}: no 'SunS' (0x{regs[0]:04X} 0x{regs[1]:04X})")
            continue
        models, n = await _walk(conn, unit_id, base, who)
        return Chain(base, tuple(models), requests + n)
    raise DiscoveryError("no SunSpec map found (" + "; ".join(tried) + ")", device=who)


async def _walk(conn: EndpointConnection, unit_id: int, base: int,
                who: str) -> tuple[list[tuple[int, int]], int]:
    """Model headers from ``base + 2`` to the end marker; returns (models, requests)."""
    models: list[tuple[int, int]] = []
    buf: dict[int, int] = {}
    requests = 0
    addr = base + 2
    while True:
        if addr + 1 > MAX_ADDRESS or len(models) > MAX_MODELS:
            raise DiscoveryError(f"SunSpec chain at {base} has no end marker within "
                                 f"{len(models)} models / address {addr}", device=who)
        if addr not in buf or addr + 1 not in buf:
            regs, n = await _read_chunk(conn, unit_id, addr)
            buf.update(regs)
            requests += n
        mid, length = buf[addr], buf[addr + 1]
        if mid == 0xFFFF:
            return models, requests
        if mid == 0 and length == 0:
            raise DiscoveryError(f"SunSpec chain at {base}: empty header at {addr}", device=who)
        models.append((mid, length))
        addr += 2 + length


async def _read_chunk(conn: EndpointConnection, unit_id: int,
                      addr: int) -> tuple[dict[int, int], int]:
    """Up to 125 registers from ``addr`` (and the requests it took): only the 2-register
    header when the device refuses a long read past the end of its map."""
    count = min(MAX_READ_REGISTERS, MAX_ADDRESS + 1 - addr)
    requests = 1
    try:
        regs = await conn.read(unit_id, addr, count)
    except ModbusExceptionError as exc:
        if exc.code not in (2, 3) or count <= 2:
            raise
        regs = await conn.read(unit_id, addr, 2)
        requests += 1
    return dict(zip(range(addr, addr + len(regs)), regs)), requests


def resolve(profile: Profile, chain: Chain) -> Profile:
    """``profile`` resolved against a discovered chain (addresses of the device's models)."""
    return profile.with_chain(chain.models, chain.base_address)


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text.split(": ", 1)[1] if text.startswith("device ") and ": " in text else text
