"""The virtual camp over real Modbus: one pymodbus server per link of the site file.

A link is a TCP ``host:port`` (Modbus TCP framing, or RTU frames as a serial-to-Ethernet gateway
carries them when ``framer = "rtu"``) or a serial line (RTU; every device on it shares the one
server, and a unit id nobody serves gets no answer, as on a real RS-485 bus).

Each device's registers are its profile's encoding (:func:`telemetry.registers.encode`) of
``camp.device_values(name)`` plus its nameplate from the site file; SunSpec devices expose
"SunS" at 40000 and their model chain. The image is rebuilt on every read (and by
:meth:`CampServers.refresh`), so a poller always sees the camp's current state.

Writes are decoded by :func:`telemetry.registers.decode_write`: setpoints become
``camp.command(name, point, value)``; a register no writable point covers answers
ILLEGAL_ADDRESS, a value out of limits (or a bad DSE key complement) ILLEGAL_VALUE.

The camp object needs only ``device_values(name) -> dict`` and ``command(name, point, value)``
(:class:`microgrid.simulator.camp.VirtualCamp` in the service; a stand-in in tests).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Protocol

from pymodbus.constants import ExcCodes
from pymodbus.framer import FramerType
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from microgrid.errors import ConfigError
from microgrid.plant.nameplate import nameplate
from microgrid.site import ModbusEndpoint, SerialLine
from telemetry.alarms.device import encode_alarms
from telemetry.registers import NotWritableError, OutOfLimitsError, Profile, decode_write, encode, load_profile

log = logging.getLogger(__name__)

#: Unneeded registers between two mapped ones that are served (filled) rather than invalid.
FILL_GAP_REGISTERS = 64


class Camp(Protocol):
    """What the servers need of the virtual camp."""

    def device_values(self, name: str) -> dict[str, Any]: ...

    def command(self, name: str, point: str, value: Any) -> None: ...


class DeviceImage:
    """The register image of one simulated device, kept in step with the camp.

    Parameters
    ----------
    name : str
        Device name (site file).
    profile : Profile
    unit_id : int
    camp : Camp
    static : dict
        Nameplate fields merged under the camp's values.
    """

    def __init__(self, name: str, profile: Profile, unit_id: int, camp: Camp,
                 static: dict[str, Any] | None = None):
        self.name, self.profile, self.unit_id, self.camp = name, profile, unit_id, camp
        self.static = dict(static or {})
        #: answer GATEWAY_NO_RESPONSE (device dropped behind a gateway); silent on a serial bus
        self.offline = False
        self._registers: list[int] | None = None
        self._start = 0
        self._reported: set[str] = set()
        self._encoded: dict[str, Any] | None = None  #: the values the image was last encoded from
        self._alarms: tuple[dict[str, int], dict[str, int]] | None = None  #: (alarms, their encoding)
        self.image: dict[int, int] = encode(profile, self.static)
        self.refresh()

    def refresh(self) -> None:
        """Re-encode the camp's current values (keeps the last image if encoding fails).

        The alarms the camp makes the device report (``values["alarms"]``: ``{code: severity}``)
        go into the profile's alarm points (:func:`telemetry.alarms.device.encode_alarms`); with
        none, every alarm point reads "no alarm"."""
        values = {**self.static, **self.camp.device_values(self.name)}
        alarms = values.pop("alarms", None)
        active = alarms if isinstance(alarms, dict) else {}
        if self._alarms is None or self._alarms[0] != active:  # encoded again only when they change
            self._alarms = (dict(active), encode_alarms(self.profile, active))
        values.update(self._alarms[1])
        if values == self._encoded:  # nothing moved since the last read (one poll, many reads)
            if self._registers is not None:
                self._sync()
            return
        self._encoded = values
        errors: list[str] = []
        self.image = encode(self.profile, values, errors)
        for message in errors:
            if message.split(" = ")[0] not in self._reported:
                self._reported.add(message.split(" = ")[0])
                log.warning("device %s: served as missing: %s", self.name, message)
        if self._registers is not None:
            self._sync()

    def sim_device(self) -> SimDevice:
        """A pymodbus SimDevice serving this image, with reads and writes hooked."""
        filler = 0xFFFF if self.profile.sentinels == "dse" else 0
        blocks = []
        for start, regs in _segments(self.image, filler):
            blocks.append(SimData(start, values=regs, datatype=DataType.REGISTERS))
        return SimDevice(self.unit_id, simdata=blocks, action=self._action)

    def _sync(self) -> None:
        regs, start = self._registers, self._start
        for address, value in self.image.items():
            regs[address - start] = value

    async def _action(self, func_code: int, start_address: int, address: int, count: int,
                      registers: list[int], values: list[int] | list[bool] | None) -> ExcCodes | None:
        self._registers, self._start = registers, start_address
        if self.offline:
            return ExcCodes.GATEWAY_NO_RESPONSE
        if values is None:
            self.refresh()
            return None
        return self._write(address, [int(v) for v in values])

    def _write(self, address: int, regs: list[int]) -> ExcCodes | None:
        try:
            commands = decode_write(self.profile, address, regs, self.image)
        except NotWritableError as exc:
            log.info("device %s: write refused: %s", self.name, exc)
            return ExcCodes.ILLEGAL_ADDRESS
        except OutOfLimitsError as exc:
            log.info("device %s: write refused: %s", self.name, exc)
            return ExcCodes.ILLEGAL_VALUE
        for point, value in commands:
            try:
                self.camp.command(self.name, point, value)
            except (ValueError, KeyError) as exc:
                log.info("device %s: camp refused %s = %r: %s", self.name, point, value, exc)
                return ExcCodes.ILLEGAL_VALUE
            except Exception:  # the simulated device fails, the server keeps serving
                log.exception("device %s: camp failed on %s = %r", self.name, point, value)
                return ExcCodes.DEVICE_FAILURE
        self.image.update(zip(range(address, address + len(regs)), regs))
        self._encoded = None  # the next read encodes the camp's state again
        return None


def _segments(image: dict[int, int], filler: int) -> list[tuple[int, list[int]]]:
    """Contiguous register runs of an image; short gaps filled with ``filler``."""
    out: list[tuple[int, list[int]]] = []
    for address in sorted(image):
        if out and address - (out[-1][0] + len(out[-1][1])) <= FILL_GAP_REGISTERS:
            start, regs = out[-1]
            regs.extend([filler] * (address - start - len(regs)))
            regs.append(image[address])
        else:
            out.append((address, [image[address]]))
    return out


@dataclass
class Endpoint:
    """One server (a TCP ``host:port`` or a serial line) and the devices it serves."""

    host: str
    port: int
    devices: list[DeviceImage] = field(default_factory=list)
    server: ModbusTcpServer | ModbusSerialServer | None = None
    framer: str = "socket"
    serial: SerialLine | None = None

    @classmethod
    def of(cls, m: ModbusEndpoint, serve_paths: Mapping[str, str] | None = None) -> Endpoint:
        """The server a device's ``modbus`` link needs; a serial line is opened at
        ``serve_paths[port]`` when given (the far end of a virtual cable), else at its port."""
        line = m.serial
        if line is not None and serve_paths and line.port in serve_paths:
            line = replace(line, port=serve_paths[line.port])
        return cls(m.host, m.port, framer=m.framer, serial=line)

    async def start(self) -> None:
        """Listen (inside the running event loop)."""
        if self.server is not None:
            return
        devices = [d.sim_device() for d in self.devices]
        server: ModbusTcpServer | ModbusSerialServer
        if self.serial is not None:
            if all(d.unit_id != 0 for d in self.devices):
                # pymodbus's simulator answers an unknown unit id from device 0 (else it logs a
                # KeyError): a placeholder, whose answers _bus_silence drops, keeps the bus quiet
                devices.append(SimDevice(0, simdata=[SimData(0, values=[0], datatype=DataType.REGISTERS)]))
            line = self.serial
            server = ModbusSerialServer(devices, framer=FramerType.RTU, port=line.port,
                                        baudrate=line.baudrate, bytesize=line.bytesize,
                                        parity=line.parity, stopbits=line.stopbits,
                                        trace_packet=self._bus_silence)
        else:
            framer = FramerType.RTU if self.framer == "rtu" else FramerType.SOCKET
            server = ModbusTcpServer(devices, address=(self.host, self.port), framer=framer)
        await server.serve_forever(background=True)
        self.server = server

    def _bus_silence(self, sending: bool, frame: bytes) -> bytes:
        """On a serial bus an absent or dead unit is silent: drop answers for unit ids nobody
        serves (the RTU frame starts with the unit id) or whose device is offline."""
        if sending and frame:
            device = next((d for d in self.devices if d.unit_id == frame[0]), None)
            if device is None or device.offline:
                return b""
        return frame

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.shutdown()
            self.server = None


class CampServers:
    """All Modbus servers of a virtual camp.

    Attributes
    ----------
    endpoints : dict
        ``{link: Endpoint}`` (:attr:`microgrid.site.ModbusEndpoint.link`).
    devices : dict
        ``{device name: DeviceImage}``.
    """

    def __init__(self, endpoints: dict[str, Endpoint]):
        self.endpoints = endpoints
        self.devices = {d.name: d for e in endpoints.values() for d in e.devices}

    def refresh(self) -> None:
        """Re-encode every device from the camp (the runner may call this each tick)."""
        for d in self.devices.values():
            d.refresh()

    def _endpoint_of(self, name: str) -> Endpoint:
        for e in self.endpoints.values():
            if any(d.name == name for d in e.devices):
                return e
        raise KeyError(f"no simulated device {name!r}")

    async def stop_device(self, name: str) -> None:
        """Drop the TCP server of device ``name`` (and of devices sharing its endpoint)."""
        await self._endpoint_of(name).stop()

    async def start_device(self, name: str) -> None:
        """Bring the TCP server of device ``name`` back."""
        await self._endpoint_of(name).start()

    def set_offline(self, name: str, offline: bool = True) -> None:
        """Keep the TCP server up but make device ``name`` answer GATEWAY_NO_RESPONSE."""
        self.devices[name].offline = offline

    async def stop(self) -> None:
        """Stop every server."""
        for e in self.endpoints.values():
            await e.stop()


async def serve_camp(site: Any, camp: Camp, *,
                     serve_paths: Mapping[str, str] | None = None) -> CampServers:
    """Start one Modbus server per link in the site file (TCP, RTU over TCP, serial line).

    Parameters
    ----------
    site : Site
        Devices and their ``modbus`` endpoints (anything with ``.devices`` works).
    camp : Camp
        ``device_values(name)`` and ``command(name, point, value)``.
    serve_paths : mapping, optional
        ``{site serial port: path to serve it on}``, e.g. the server end of a
        :class:`~telemetry.testing.serial_link.VirtualSerialLink`.

    Returns
    -------
    CampServers
        Call ``await servers.stop()`` when done.

    Raises
    ------
    ConfigError
        Unknown profile, or two devices with the same unit id on one endpoint.
    """
    endpoints: dict[str, Endpoint] = {}
    for device in site.devices:
        m = device.modbus
        ep = endpoints.setdefault(m.link, Endpoint.of(m, serve_paths))
        if any(d.unit_id == m.unit_id for d in ep.devices):
            raise ConfigError(f"unit id {m.unit_id} used twice on {m.link}",
                              key=f"{device.name}.modbus.unit_id")
        ep.devices.append(DeviceImage(device.name, load_profile(m.profile), m.unit_id, camp,
                                      nameplate(device)))
    servers = CampServers(endpoints)
    try:
        for ep in endpoints.values():
            await ep.start()
    except BaseException:
        await servers.stop()
        raise
    return servers
