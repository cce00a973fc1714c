"""One Modbus connection per link, shared by every device behind it.

A link is a Modbus TCP server (a device or a gateway at ``host:port``), a serial-to-Ethernet
gateway carrying RTU frames over TCP (``framer = "rtu"``), or a serial line (RS-485) with
several RTU devices on it. Requests on one link are serialised by a lock (one bus, one
transaction at a time; a shared socket must not interleave frames); different links run
concurrently. Between two transactions on an RTU link the line stays quiet for the inter-frame
delay of the Modbus over serial line specification V1.02 §2.5.1.1 (3.5 character times, a fixed
1.75 ms above 19200 bit/s), plus the link's optional ``request_pause_s`` (gateways that need one).

A request that times out, gets a garbage or mismatched answer, or loses the connection
closes the client; the next request opens a fresh one, so a connection is never wedged.
Every failure raises a :class:`microgrid.errors.DeviceError` subclass naming the endpoint
and unit.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Iterator, Literal

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.framer import FramerType
from pymodbus.pdu import ModbusPDU

from microgrid.errors import DeviceError
from microgrid.site import ModbusEndpoint, SerialLine

log = logging.getLogger(__name__)

#: Modbus exception codes and their names (for log lines a camp engineer can act on).
EXCEPTION_NAMES = {
    1: "ILLEGAL_FUNCTION", 2: "ILLEGAL_ADDRESS", 3: "ILLEGAL_VALUE", 4: "DEVICE_FAILURE",
    5: "ACKNOWLEDGE", 6: "DEVICE_BUSY", 8: "MEMORY_PARITY_ERROR",
    10: "GATEWAY_PATH_UNAVAILABLE", 11: "GATEWAY_NO_RESPONSE",
}

#: Most registers one read request may carry (Modbus application protocol).
MAX_READ_REGISTERS = 125
#: Most registers one write-multiple request may carry.
MAX_WRITE_REGISTERS = 123

Function = Literal["holding", "input"]
Client = AsyncModbusTcpClient | AsyncModbusSerialClient
#: Fixed inter-frame delay above 19200 bit/s (Modbus over serial line V1.02 §2.5.1.1). [s]
T35_FAST_S = 0.00175


def inter_frame_delay_s(line: SerialLine) -> float:
    """Silent interval between two RTU frames on ``line``: 3.5 character times up to
    19200 bit/s, 1.75 ms above (Modbus over serial line V1.02 §2.5.1.1). [s]"""
    if line.baudrate > 19200:
        return T35_FAST_S
    return 3.5 * line.char_bits / line.baudrate


class DeviceTimeoutError(DeviceError):
    """No (valid) answer within the timeout: the device or gateway is down or too slow."""


class DeviceConnectionError(DeviceError):
    """The TCP connection could not be opened or was lost."""


class DeviceGarbageError(DeviceError):
    """The answer could not be parsed or does not match the request (count, transaction)."""


class ModbusExceptionError(DeviceError):
    """The device answered with a Modbus exception response.

    Attributes
    ----------
    code : int
        The Modbus exception code (e.g. 2 ILLEGAL_ADDRESS, 11 GATEWAY_NO_RESPONSE).
    """

    def __init__(self, message: str, *, device: str | None = None, code: int = 0):
        self.code = code
        super().__init__(message, device=device)


def exception_name(code: int) -> str:
    """``"0x0B GATEWAY_NO_RESPONSE"`` for a Modbus exception code."""
    return f"0x{code:02X} {EXCEPTION_NAMES.get(code, 'UNKNOWN')}"


class EndpointConnection:
    """The one Modbus client of a link: TCP (Modbus TCP or RTU framing) or a serial line.

    Parameters
    ----------
    host : str
        Host name or IP of the gateway or device ("" on a serial line).
    port : int
        TCP port (0 on a serial line).
    timeout_s : float
        Timeout of one request (connect, or request and answer). [s]
    name : str, optional
        Label for errors and logs (default the link, e.g. ``host:port``).
    framer : {"socket", "rtu"}
        Framing on TCP; a serial line always uses RTU.
    serial : SerialLine, optional
        The serial line; None for TCP.
    pause_s : float
        Extra quiet time between two transactions on this link (some gateways need it). [s]
    """

    def __init__(self, host: str, port: int, *, timeout_s: float = 1.0, name: str | None = None,
                 framer: Literal["socket", "rtu"] = "socket", serial: SerialLine | None = None,
                 pause_s: float = 0.0) -> None:
        self.host, self.port, self.timeout_s = host, port, float(timeout_s)
        self.serial = serial
        self.framer: Literal["socket", "rtu"] = "rtu" if serial is not None else framer
        self.key = _link(host, port, self.framer, serial)
        self.name = name or self.key
        self.pause_s = float(pause_s)
        self._client: Client | None = None
        self._lock = asyncio.Lock()
        self._quiet_until = 0.0  #: loop time before which the link stays silent
        self.requests = 0  #: requests sent (for benchmarks and status)
        self.resets = 0  #: times the connection was closed after a failure

    @property
    def gap_s(self) -> float:
        """Quiet time kept between two transactions on this link. [s]"""
        t35 = inter_frame_delay_s(self.serial) if self.serial is not None else 0.0
        return t35 + self.pause_s

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.connected

    def _label(self, unit_id: int) -> str:
        return f"{self.name} unit {unit_id}"

    def _new_client(self) -> Client:
        if self.serial is not None:
            line = self.serial
            return AsyncModbusSerialClient(line.port, framer=FramerType.RTU, baudrate=line.baudrate,
                                           bytesize=line.bytesize, parity=line.parity,
                                           stopbits=line.stopbits, timeout=self.timeout_s,
                                           retries=0, reconnect_delay=0, name=self.name)
        framer = FramerType.RTU if self.framer == "rtu" else FramerType.SOCKET
        return AsyncModbusTcpClient(self.host, port=self.port, framer=framer, timeout=self.timeout_s,
                                    retries=0, reconnect_delay=0, name=self.name)

    async def _ensure(self, unit_id: int) -> Client:
        if self._client is not None and self._client.connected:
            return self._client
        self._drop()
        client = self._new_client()
        try:
            ok = await asyncio.wait_for(client.connect(), self.timeout_s + 0.5)
        except (asyncio.TimeoutError, OSError, ModbusException) as exc:
            client.close()
            raise DeviceConnectionError(f"cannot connect: {exc or type(exc).__name__}",
                                        device=self._label(unit_id)) from exc
        if not ok:
            client.close()
            what = "cannot open the serial port" if self.serial is not None else \
                "cannot connect (connection refused or timed out)"
            raise DeviceConnectionError(what, device=self._label(unit_id))
        self._client = client
        return client

    def _drop(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except Exception:  # closing a broken transport must never raise into the poller
                log.debug("endpoint %s: error while closing", self.name, exc_info=True)
            self._client = None

    def reset(self) -> None:
        """Close the connection now; the next request reopens it."""
        if self._client is not None:
            self.resets += 1
        self._drop()

    async def _request(self, unit_id: int, what: str,
                       call: Callable[[Client], Awaitable[ModbusPDU]]) -> ModbusPDU:
        """Run one request under the lock, after the link's quiet time; map every failure to
        a DeviceError."""
        async with self._lock:
            loop = asyncio.get_running_loop()
            wait = self._quiet_until - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                return await self._transact(unit_id, what, call)
            finally:
                self._quiet_until = loop.time() + self.gap_s

    async def _transact(self, unit_id: int, what: str,
                        call: Callable[[Client], Awaitable[ModbusPDU]]) -> ModbusPDU:
        client = await self._ensure(unit_id)
        self.requests += 1
        try:
            async with asyncio.timeout(self.timeout_s + 0.5):  # safety net over pymodbus's
                response = await call(client)
        except (asyncio.TimeoutError, ModbusIOException) as exc:
            self.reset()
            raise DeviceTimeoutError(f"no valid answer to {what} within {self.timeout_s:g} s"
                                     f" ({_why(exc)}); connection reset",
                                     device=self._label(unit_id)) from exc
        except ConnectionException as exc:
            self.reset()
            raise DeviceConnectionError(f"connection lost during {what}: {_why(exc)}",
                                        device=self._label(unit_id)) from exc
        except (ModbusException, ValueError, KeyError, IndexError, TypeError) as exc:
            self.reset()
            raise DeviceGarbageError(f"bad answer to {what}: {_why(exc)}; connection reset",
                                     device=self._label(unit_id)) from exc
        if response is None:
            self.reset()
            raise DeviceGarbageError(f"no answer object for {what}; connection reset",
                                     device=self._label(unit_id))
        if response.isError():
            code = int(getattr(response, "exception_code", 0) or 0)
            raise ModbusExceptionError(f"exception {exception_name(code)} to {what}",
                                       device=self._label(unit_id), code=code)
        return response

    async def read(self, unit_id: int, address: int, count: int, *,
                   function: Function = "holding") -> list[int]:
        """Read ``count`` registers from ``address``.

        Parameters
        ----------
        unit_id : int
            Modbus unit id. [0..247]
        address : int
            First register (0-based protocol address).
        count : int
            Registers to read. [1..125]
        function : {"holding", "input"}
            Function 3 (holding) or 4 (input registers).

        Returns
        -------
        list of int
            The raw 16-bit registers.

        Raises
        ------
        DeviceError
            Timeout, connection failure, exception response or garbage (subclasses above).
        """
        if not 1 <= count <= MAX_READ_REGISTERS:
            raise ValueError(f"count must be 1..{MAX_READ_REGISTERS}, got {count}")
        if function not in ("holding", "input"):
            raise ValueError(f"function must be 'holding' or 'input', got {function!r}")
        what = f"read {function} {address}+{count}"

        def call(client: Client) -> Awaitable[ModbusPDU]:
            method = (client.read_holding_registers if function == "holding"
                      else client.read_input_registers)
            return method(address, count=count, device_id=unit_id)

        response = await self._request(unit_id, what, call)
        registers = list(getattr(response, "registers", None) or [])
        if len(registers) != count:
            async with self._lock:
                self.reset()
            raise DeviceGarbageError(f"{what}: answer carries {len(registers)} registers, "
                                     f"expected {count}; connection reset",
                                     device=self._label(unit_id))
        return registers

    async def write(self, unit_id: int, address: int, registers: list[int]) -> None:
        """Write registers from ``address`` (function 6 for one register, 16 for more).

        Raises
        ------
        DeviceError
            Timeout, connection failure, exception response (e.g. ILLEGAL_VALUE) or garbage.
        """
        regs = [int(r) for r in registers]
        if not 1 <= len(regs) <= MAX_WRITE_REGISTERS:
            raise ValueError(f"write of {len(regs)} registers (1..{MAX_WRITE_REGISTERS})")
        if any(not 0 <= r <= 0xFFFF for r in regs):
            raise ValueError(f"register values must be 0..65535, got {regs}")
        what = f"write {address}+{len(regs)}"

        def call(client: Client) -> Awaitable[ModbusPDU]:
            if len(regs) == 1:
                return client.write_register(address, regs[0], device_id=unit_id)
            return client.write_registers(address, regs, device_id=unit_id)

        await self._request(unit_id, what, call)

    async def close(self) -> None:
        """Close the connection (a later request reopens it)."""
        async with self._lock:
            self._drop()


def _why(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _link(host: str, port: int, framer: str, serial: SerialLine | None) -> str:
    """The link label of :attr:`microgrid.site.ModbusEndpoint.link`."""
    if serial is not None:
        return f"serial:{serial.port}"
    return f"{'rtu+tcp://' if framer == 'rtu' else ''}{host}:{port}"


class Connections:
    """The one :class:`EndpointConnection` per link of a site's devices.

    Devices on one link (a gateway, a serial bus) share its connection; its timeout and pause
    are the longest any of them asks for.

    Parameters
    ----------
    site : Site, optional
        Devices whose links are registered up front (others are added on demand).
    timeout_s : float, optional
        Overrides each device's ``modbus.timeout_s``.
    """

    def __init__(self, site: Any = None, *, timeout_s: float | None = None):
        self._timeout_override = timeout_s
        self._by_link: dict[str, EndpointConnection] = {}
        for device in (site.devices if site is not None else ()):
            self.for_device(device)

    def for_endpoint(self, host: str, port: int, timeout_s: float = 1.0) -> EndpointConnection:
        """The connection of a Modbus TCP ``host:port`` (created on first use)."""
        return self.for_modbus(ModbusEndpoint(host=host, port=int(port), unit_id=1, profile="",
                                              timeout_s=timeout_s))

    def for_modbus(self, m: ModbusEndpoint) -> EndpointConnection:
        """The connection of a device's link (created on first use)."""
        t = self._timeout_override if self._timeout_override is not None else m.timeout_s
        conn = self._by_link.get(m.link)
        if conn is None:
            conn = EndpointConnection(m.host, int(m.port), timeout_s=t, framer=m.framer,
                                      serial=m.serial, pause_s=m.request_pause_s)
            self._by_link[m.link] = conn
        elif conn.serial != m.serial:
            raise DeviceError(f"link {m.link} is used with two serial line settings")
        else:
            conn.timeout_s = max(conn.timeout_s, float(t))
            conn.pause_s = max(conn.pause_s, float(m.request_pause_s))
        return conn

    def for_device(self, device: Any) -> EndpointConnection:
        """The connection of a device's ``modbus`` link."""
        return self.for_modbus(device.modbus)

    def __iter__(self) -> Iterator[EndpointConnection]:
        return iter(list(self._by_link.values()))

    def __len__(self) -> int:
        return len(self._by_link)

    async def close_all(self) -> None:
        """Close every connection."""
        await asyncio.gather(*(c.close() for c in self._by_link.values()),
                             return_exceptions=True)
