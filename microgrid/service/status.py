"""A small HTTP server: `GET /health` and `GET /status` as JSON, and the camp page when given one.

Read-only, no dependencies: camp engineers (and the tests) ask it whether the service is alive,
when each device last answered, what the last plan was and how deep the spool is; with a page
handler (:class:`microgrid.web.CampPage`) every other GET path is the camp page's. Only GET is
answered (405 otherwise); it listens on loopback unless told an address on the camp LAN.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Callable, Protocol
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

_REASONS = {200: "OK", 204: "No Content", 400: "Bad Request", 404: "Not Found",
            405: "Method Not Allowed",
            431: "Request Header Fields Too Large", 500: "Internal Server Error", 503: "Service Unavailable"}
#: Headers of every answer: nothing cached, nothing framed, no script or style from elsewhere.
_HEADERS = ("Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n"
            "X-Frame-Options: DENY\r\nContent-Security-Policy: default-src 'self'; img-src 'self' data:; "
            "style-src 'self'; script-src 'self'; connect-src 'self'; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'none'\r\nConnection: close\r\n")


class PageHandler(Protocol):
    """Answers ``GET path?query`` with ``(status, content type, body)`` (blocking: it runs in a
    worker thread); closed with the server."""

    def handle(self, path: str, query: str) -> tuple[int, str, bytes]: ...

    def close(self) -> None: ...


class StatusServer:
    """Serves ``status()`` (a callable returning a JSON-able dict) over HTTP/1.0.

    Parameters
    ----------
    status : callable
        Returns the current status; ``status()["healthy"]`` decides /health's code (200/503).
    host, port : str, int
        Where to listen; port 0 picks a free port (see :attr:`port` after :meth:`start`).
    page : PageHandler, optional
        Answers every other path (``/`` is then the camp page; without one, ``/`` is /status).
    """

    def __init__(self, status: Callable[[], dict[str, Any]], host: str = "127.0.0.1", port: int = 0,
                 page: PageHandler | None = None):
        self._status = status
        self.host, self.port = host, port
        self.page = page
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
        if self.page is not None:
            await asyncio.to_thread(self.page.close)
            self.page = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                request = await asyncio.wait_for(reader.readline(), timeout=5)
                while (await asyncio.wait_for(reader.readline(), timeout=5)) not in (b"\r\n", b"\n", b""):
                    pass
            except ValueError:  # a line over the reader's limit (64 KiB)
                code, ctype, data = _json(431, {"error": "request line or header too long"})
            else:
                parts = request.decode("latin-1").split()
                target = urlsplit(parts[1] if len(parts) > 1 else "/")
                code, ctype, data = await self._route(parts[0] if parts else "", target.path or "/",
                                                      target.query)
            extra = "Allow: GET\r\n" if code == 405 else ""
            writer.write(f"HTTP/1.0 {code} {_REASONS.get(code, 'Error')}\r\nContent-Type: {ctype}\r\n"
                         f"Content-Length: {len(data)}\r\n{_HEADERS}{extra}\r\n".encode() + data)
            await writer.drain()
        except (asyncio.TimeoutError, ConnectionError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            writer.close()

    async def _route(self, method: str, path: str, query: str) -> tuple[int, str, bytes]:
        if method != "GET":
            return _json(405, {"error": "read-only: only GET"})
        if path == "/status" or (path == "/" and self.page is None):
            return _json(200, self._status())
        if path == "/health":
            status = self._status()
            healthy = bool(status.get("healthy"))
            return _json(200 if healthy else 503, {"healthy": healthy, "reasons": status.get("reasons", [])})
        if self.page is not None:
            try:
                return await asyncio.to_thread(self.page.handle, path, query)
            except Exception:  # a bug in the page must not take the status endpoint down
                log.exception("camp page %s failed", path)
                return 500, "text/plain; charset=utf-8", b"the camp page failed; see the service log"
        return _json(404, {"error": f"no such path {path!r}; try /status or /health"})


def _json(code: int, body: Any) -> tuple[int, str, bytes]:
    return code, "application/json", json.dumps(body, default=str, indent=1).encode()
