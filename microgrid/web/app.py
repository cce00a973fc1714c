"""The camp page as an HTTP handler: GET paths in, (status, content type, body) out.

Served by the service's status server (``microgrid run``), by ``microgrid view`` over any store,
and by ``microgrid demo --serve`` (docs/architecture.md §9). Read-only: only GET; the page shows
no store address and no credential. Bad query parameters are a 400 naming the parameter.

====================  =====================================================================
path                  answer
====================  =====================================================================
``/``                 the page (``?site=NAME&range=24h|7d|30d``)
``/fragment``         its live part, fetched by the page every ``refresh_s`` (no reload)
``/report.html|pdf``  the environmental report of the same range, made now from the store
``/app.css|js``       the page's stylesheet and its ~20 lines of script (no CDN: camps are offline)
====================  =====================================================================
"""

from __future__ import annotations

import logging
import tempfile
import time
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Callable, NamedTuple, Protocol, Sequence

from microgrid.errors import MicrogridError, ReportError
from microgrid.reports.export import write_report
from microgrid.reports.source import summarize_range
from microgrid.site import Site
from microgrid.web.ranges import BadRequest, PageRequest, parse_request
from microgrid.web.reads import PageData, read_page, store_now
from microgrid.web.render import render_error, render_live, render_page
from telemetry.historian.base import Historian


class ServiceStore(Protocol):
    """The running service's store, as the page needs it: a reader for another thread."""

    def reader(self) -> Historian: ...


log = logging.getLogger(__name__)

HTML = "text/html; charset=utf-8"
_STATIC = {"/app.css": "text/css; charset=utf-8", "/app.js": "text/javascript; charset=utf-8"}
_REPORTS = {"/report.html": ("html", HTML), "/report.pdf": ("pdf", "application/pdf")}


class Reply(NamedTuple):
    status: int
    content_type: str
    body: bytes


class CampPage:
    """The page over one store for one or more sites.

    Parameters
    ----------
    sites : sequence of Site
        The camps shown (a selector when more than one); the first is the default.
    store : Historian
        Read through the historian contract (a reader: ``historian.reader()``).
    owns_store : bool
        :meth:`close` closes ``store``.
    now : callable, optional
        The current time (the service's clock); default: each site's newest camp reading in the
        store (a store being viewed is "now" where its data ends), else the wall clock.
    refresh_s : float
        How often the page fetches its live part. [s]
    mode : str
        Shown in the footer ("service", "view").
    """

    def __init__(self, sites: Sequence[Site], store: Historian, *, now: Callable[[], datetime] | None = None,
                 refresh_s: float = 10.0, mode: str = "view", owns_store: bool = False) -> None:
        if not sites:
            raise ValueError("the camp page needs at least one site")
        self.sites = {s.name: s for s in sites}
        self.store = store
        self._now = now
        self.refresh_s = refresh_s
        self.mode = mode
        self.owns_store = owns_store

    @classmethod
    def for_service(cls, site: Site, store: ServiceStore, now: Callable[[], datetime],
                    refresh_s: float = 10.0) -> "CampPage":
        """The page of a running service: its own reader of the service's store (another
        connection, so a page request never holds the service's writes), the service's clock."""
        reader = store.reader()
        return cls([site], reader, now=now, refresh_s=refresh_s, mode="service",
                   owns_store=reader is not store)

    def close(self) -> None:
        """Close the store reader this page opened (not a store it was handed)."""
        if self.owns_store:
            self.store.close()

    def now(self, site: Site) -> datetime:
        if self._now is not None:
            return self._now()
        return store_now(self.store, site) or datetime.now(timezone.utc)

    def handle(self, path: str, query: str) -> tuple[int, str, bytes]:
        """Answer ``GET path?query``."""
        try:
            if path in _STATIC:
                return Reply(200, _STATIC[path], _static(path.lstrip("/")))
            if path in ("/", "/fragment"):
                req = parse_request(query, list(self.sites))
                return Reply(200, HTML, self._page(req, fragment=path == "/fragment").encode())
            if path in _REPORTS:
                return self._report(parse_request(query, list(self.sites)), *_REPORTS[path])
            return Reply(404, HTML, render_error(404, f"no page {path[:80]!r} here").encode())
        except BadRequest as exc:
            return Reply(400, HTML, render_error(400, str(exc)).encode())
        except MicrogridError as exc:  # the store is down or failed a query
            log.warning("camp page %s: %s", path, exc)
            return Reply(503, HTML, render_error(503, f"the store cannot answer now: {exc}").encode())

    def data(self, req: PageRequest) -> PageData:
        """What the page shows for a request (the browser tests read it too)."""
        site = self.sites[req.site]
        return read_page(self.store, site, req.range, self.now(site))

    def _page(self, req: PageRequest, fragment: bool) -> str:
        t0 = time.perf_counter()
        d = self.data(req)
        html = render_live(d, req) if fragment else render_page(
            d, req, [(s.name, f"{s.name} ({s.mission})") for s in self.sites.values()],
            self.refresh_s, self.mode)
        log.debug("camp page %s %s in %.0f ms", req.site, req.range.key, 1000 * (time.perf_counter() - t0))
        return html

    def _report(self, req: PageRequest, fmt: str, content_type: str) -> Reply:
        site = self.sites[req.site]
        start, end = req.range.bounds(self.now(site))
        try:
            summary = summarize_range(self.store, site, start, end, label=req.range.key)
        except ReportError as exc:
            return Reply(404, HTML, render_error(404, str(exc)).encode())
        with tempfile.TemporaryDirectory(prefix="microgrid-report-") as tmp:
            path = write_report(summary, fmt, Path(tmp) / f"report.{fmt}")
            return Reply(200, content_type, Path(path).read_bytes())


def _static(name: str) -> bytes:
    return resources.files("microgrid.web").joinpath("static", name).read_bytes()
