"""Shared pieces of the poller tests: camps and a raw fault server (ports and sites: ``testkit``).

Everything here is a real peer on loopback: the virtual camp's pymodbus servers, and a small
hand-written Modbus TCP server that can answer garbage, a wrong transaction id, a truncated
or short frame, or nothing at all.
"""

from __future__ import annotations

import asyncio
import dataclasses
import struct
import threading
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime, timezone

from microgrid.simulator.server import serve_camp
from microgrid.site import ModbusEndpoint, Site
from telemetry.poller import Poller

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)  # 12:00 local: sun up


class StandInCamp:
    """``device_values``/``command`` from a dict the test edits (``None`` = served as sentinel)."""

    def __init__(self, values: dict[str, dict]):
        self.values = values
        self.commands: list[tuple] = []

    def device_values(self, name):
        return dict(self.values[name])

    def command(self, name, point, value):
        self.commands.append((name, point, value))


STANDIN_VALUES = {
    "pv-north": {"ac_power_kw": 123.4, "energy_total_kwh": 5000.0, "status": 4,
                 "power_limit_pct": 100.0, "power_limit_revert_s": 0},
    "pv-south": {"ac_power_kw": 120.0, "energy_total_kwh": 4000.0, "status": 4,
                 "power_limit_pct": 100.0, "power_limit_revert_s": 0},
    "pv-carport": {"ac_power_kw": 50.0, "energy_total_kwh": 1000.0, "status": 4,
                   "power_limit_pct": 100.0, "power_limit_revert_s": 0},
    "bess-1": {"power_kw": -50.0, "soc_pct": 61.5, "soh_pct": 98.0, "voltage_v": 770.0,
               "temp_c": 25.0, "charge_limit_kw": None, "discharge_limit_kw": 200.0},
    "dg-1": {"mode": "auto", "running": 1, "power_kw": 200.0, "load_pct": 50.0, "starts": 3,
             "run_hours_h": 12.0, "energy_total_kwh": 3000.0, "fuel_level_pct": 70.0,
             "fuel_rate_lph": 82.0},
    "dg-2": {"mode": "auto", "running": 0, "power_kw": 0.0, "load_pct": 0.0, "starts": 5,
             "run_hours_h": 10.0, "energy_total_kwh": 2000.0, "fuel_level_pct": 80.0,
             "fuel_rate_lph": 0.0},
    "dg-3": {"mode": "auto", "running": 0, "power_kw": 0.0, "load_pct": 0.0, "starts": 7,
             "run_hours_h": 8.0, "energy_total_kwh": 1000.0, "fuel_level_pct": 90.0,
             "fuel_rate_lph": 0.0},
    "camp-main": {"power_kw": 412.5, "energy_total_kwh": 99.0},
    "bulk-1": {"capacity_l": 80000.0, "volume_l": 41234.5, "level_pct": 51.5, "gauge_status": 0, "fluid_type": 7},
}


def standin_camp() -> StandInCamp:
    return StandInCamp({k: dict(v) for k, v in STANDIN_VALUES.items()})


@asynccontextmanager
async def polled_camp(site: Site, camp=None, *, serve: Site | None = None, **poller_kw):
    """``(servers, poller)``: the devices of ``serve`` (default ``site``) served on loopback by
    ``camp`` (default a stand-in camp) and a :class:`Poller` of ``site`` (``poller_kw`` passed on);
    the poller is closed and the servers stopped on the way out."""
    servers = await serve_camp(serve or site, standin_camp() if camp is None else camp)
    poller = Poller(site, **poller_kw)
    try:
        yield servers, poller
    finally:
        await poller.close()
        await servers.stop()


@contextmanager
def camp_in_thread(site, camp):
    """Serve ``camp`` on ``site``'s endpoints from an event loop in a background thread."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    box: dict = {}

    def runner():
        asyncio.set_event_loop(loop)
        try:
            box["servers"] = loop.run_until_complete(serve_camp(site, camp))
        except BaseException as exc:  # surfaced in the test thread
            box["error"] = exc
        ready.set()
        if "servers" in box:
            loop.run_forever()
            loop.run_until_complete(box["servers"].stop())
        loop.close()

    thread = threading.Thread(target=runner, daemon=True)
    thread.start()
    ready.wait(10)
    if "error" in box:
        thread.join(5)
        raise box["error"]
    try:
        yield box["servers"]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


class RawModbusServer:
    """A minimal Modbus TCP server (FC3/FC4 reads) on loopback with scripted misbehaviour.

    ``mode``: ``"ok"``, ``"silent"`` (never answers), ``"garbage"`` (random bytes),
    ``"wrong_tid"`` (answer under another transaction id), ``"truncated"`` (frame cut short,
    then the connection stays open), ``"short"`` (a valid frame with one register too few),
    ``"exception"`` (exception ``exception_code``). ``faults`` = how many requests misbehave
    before the server answers correctly again (None = all). Registers outside the image's
    address span answer ILLEGAL_ADDRESS, gaps inside it read 0; a read starting at an
    address in ``silent_at`` is never answered.
    """

    def __init__(self, image: dict[int, int] | None = None, unit_id: int = 1):
        self.image = dict(image or {})
        self.unit_id = unit_id
        self.mode = "ok"
        self.faults: int | None = None
        self.exception_code = 4
        self.silent_at: set[int] = set()
        self.requests = 0
        self.arrivals: list[float] = []  #: loop time of each request [s]
        self.connections = 0
        self.port = 0
        self._server: asyncio.base_events.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> "RawModbusServer":
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port or 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for w in self._writers:
                w.close()
            await self._server.wait_closed()
            self._server = None

    def misbehave(self, mode: str, faults: int | None = None) -> None:
        self.mode, self.faults = mode, faults

    def _current_mode(self) -> str:
        if self.mode == "ok" or self.faults is None:
            return self.mode
        if self.faults <= 0:
            self.mode = "ok"
            return "ok"
        self.faults -= 1
        return self.mode

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        try:
            while True:
                tid, _pid, length, unit = struct.unpack(">HHHB", await reader.readexactly(7))
                pdu = await reader.readexactly(length - 1)
                self.requests += 1
                self.arrivals.append(asyncio.get_running_loop().time())
                frame = self._answer(tid, unit, pdu)
                if frame:
                    writer.write(frame)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    def _answer(self, tid: int, unit: int, pdu: bytes) -> bytes:
        fc = pdu[0]
        address, count = struct.unpack(">HH", pdu[1:5])
        mode = self._current_mode()
        if mode == "silent" or address in self.silent_at:
            return b""
        if mode == "garbage":
            return b"\xde\xad\xbe\xef garbage \x00\xff\x13\x37"
        if mode == "exception":
            return _mbap(tid, unit, bytes([fc | 0x80, self.exception_code]))
        if fc not in (3, 4):
            return _mbap(tid, unit, bytes([fc | 0x80, 1]))
        if not self.image or address < min(self.image) or address + count - 1 > max(self.image):
            return _mbap(tid, unit, bytes([fc | 0x80, 2]))
        regs = [self.image.get(a, 0) for a in range(address, address + count)]
        if mode == "short":
            regs = regs[:-1]
        body = bytes([fc, 2 * len(regs)]) + struct.pack(f">{len(regs)}H", *regs)
        frame = _mbap(tid ^ 0x5A5A if mode == "wrong_tid" else tid, unit, body)
        return frame[:-3] if mode == "truncated" else frame


def _mbap(tid: int, unit: int, pdu: bytes) -> bytes:
    return struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu


def raw_site(base: Site, name: str, port: int, **changes) -> Site:
    """``base`` reduced to the one device ``name``, moved to ``port``."""
    d = base.device(name)
    d = dataclasses.replace(d, modbus=dataclasses.replace(d.modbus, host="127.0.0.1", port=port,
                                                          **changes))
    kinds = {"pv_arrays": (), "batteries": (), "gensets": (), "load_meters": (), "fuel_tanks": ()}
    for attr in kinds:
        if d in getattr(base, attr) or any(x.name == name for x in getattr(base, attr)):
            kinds[attr] = (d,)
    return dataclasses.replace(base, **kinds)


def endpoint(port: int, profile: str, unit_id: int = 1, **kw) -> ModbusEndpoint:
    return ModbusEndpoint(host="127.0.0.1", port=port, unit_id=unit_id, profile=profile, **kw)
