"""A small HTTP status endpoint on loopback: `GET /health` and `GET /status` as JSON.

Read-only, no dependencies: camp engineers (and the tests) ask it whether the service is alive,
when each device last answered, what the last plan was and how deep the spool is.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Callable

log = logging.getLogger(__name__)


class StatusServer:
    """Serves ``status()`` (a callable returning a JSON-able dict) over HTTP/1.0.

    Parameters
    ----------
    status : callable
        Returns the current status; ``status()["healthy"]`` decides /health's code (200/503).
    host, port : str, int
        Where to listen; port 0 picks a free port (see :attr:`port` after :meth:`start`).
    """

    def __init__(self, status: Callable[[], dict[str, Any]], host: str = "127.0.0.1", port: int = 0):
        self._status = status
        self.host, self.port = host, port
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("status endpoint on http://%s:%d/status", self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                request = await asyncio.wait_for(reader.readline(), timeout=5)
                while (await asyncio.wait_for(reader.readline(), timeout=5)) not in (b"\r\n", b"\n", b""):
                    pass
            except ValueError:  # a line over the reader's limit (64 KiB)
                code, body = 431, {"error": "request line or header too long"}
            else:
                parts = request.decode("latin-1").split()
                path = parts[1] if len(parts) > 1 else "/"
                code, body = self._route(parts[0] if parts else "", path)
            data = json.dumps(body, default=str, indent=1).encode()
            reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed",
                      431: "Request Header Fields Too Large", 503: "Service Unavailable"}[code]
            writer.write(f"HTTP/1.0 {code} {reason}\r\nContent-Type: application/json\r\n"
                         f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
            await writer.drain()
        except (asyncio.TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    def _route(self, method: str, path: str) -> tuple[int, Any]:
        if method != "GET":
            return 405, {"error": "only GET"}
        if path in ("/", "/status"):
            return 200, self._status()
        if path == "/health":
            status = self._status()
            healthy = bool(status.get("healthy"))
            return (200 if healthy else 503), {"healthy": healthy, "reasons": status.get("reasons", [])}
        return 404, {"error": f"no such path {path!r}; try /status or /health"}
