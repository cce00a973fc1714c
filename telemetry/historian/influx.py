"""InfluxDB backends: 1.x through ``/write`` + ``/query``; 2.x/3.x through influxdb-client's
write API and the v1-compatible ``/query`` (InfluxQL; the bucket needs a DBRP mapping).

Both read with InfluxQL (docs/architecture.md §5: no Flux) through the same code
(:class:`InfluxQLReader`). Errors are typed: :class:`~telemetry.historian.base.HistorianUnavailable`
for connection failures, timeouts and 5xx (retry later), :class:`~telemetry.historian.base.HistorianAuthError`
for 401/403, :class:`~telemetry.historian.base.WriteRejected` for other 4xx on write. Messages
name the URL and database, never a password or token (credentials travel in headers, never in
the URL).

The 2.x path cannot be exercised against a server here (only InfluxDB 1.6 is installed); its
argument building is tested (``write_kwargs``) and its query path is the 1.x one.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Iterable

import pandas as pd
import requests

from microgrid.errors import HistorianError
from microgrid.readings import Reading
from telemetry.historian.base import Historian, HistorianAuthError, HistorianUnavailable, QuerySpec, WriteRejected
from telemetry.historian.influxql import build_influxql, frame_from_result, ident
from telemetry.historian.lineprotocol import LineEncoder, LineProtocolError

log = logging.getLogger(__name__)


def _raise_for(resp: requests.Response, what: str, where: str) -> None:
    """Typed error for a non-2xx answer; the body (InfluxDB's error text) is included, trimmed."""
    code = resp.status_code
    if 200 <= code < 300:
        return
    body = resp.text[:300].strip()
    if code in (401, 403):
        raise HistorianAuthError(f"{what} {where}: HTTP {code} (credentials refused; check the "
                                 f"user/password or token given in the environment)")
    if code >= 500 or code in (408, 429):
        raise HistorianUnavailable(f"{what} {where}: HTTP {code}: {body}")
    if code == 404:  # database / bucket missing: an operator fixes it; the spool keeps the data
        raise HistorianError(f"{what} {where}: HTTP 404 (database or bucket not found; create "
                             f"it): {body}")
    raise WriteRejected(f"{what} {where}: HTTP {code}: {body}")


class InfluxQLReader(Historian):
    """Shared InfluxQL read path (``GET /query?db=&epoch=ns``) of both InfluxDB backends."""

    url: str
    query_db: str
    query_rp: str | None
    timeout_s: float
    _session: requests.Session

    def probe(self) -> None:
        """One ``SHOW MEASUREMENTS LIMIT 1`` (see :meth:`Historian.probe`)."""
        self.raw_influxql("SHOW MEASUREMENTS LIMIT 1")

    def raw_influxql(self, q: str, *, epoch: str = "ns") -> list[dict[str, Any]]:
        """Run InfluxQL text on the server; returns the ``results`` list of the JSON answer.

        Raises
        ------
        HistorianError
            Transport, auth or statement error (the statement's own ``error`` included).
        """
        where = f"{self.url}/query (db {self.query_db!r})"
        method = self._session.get if q.lstrip().upper().startswith(("SELECT", "SHOW")) \
            else self._session.post
        try:
            resp = method(f"{self.url}/query", params={"db": self.query_db, "epoch": epoch, "q": q},
                          timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise HistorianUnavailable(f"query {where}: {type(exc).__name__}") from exc
        if resp.status_code == 400:
            raise HistorianError(f"query {where}: {resp.text[:300].strip()}")
        _raise_for(resp, "query", where)
        results = resp.json().get("results", [])
        for r in results:
            if "error" in r:
                raise HistorianError(f"query {where}: {r['error']}")
        return results

    def run_query(self, spec: QuerySpec) -> pd.DataFrame:
        q = build_influxql(spec, self.query_rp)
        results = self.raw_influxql(q)
        return frame_from_result(spec, results[0] if results else {})

    batch_points = 5000

    def write(self, readings: Iterable[Reading]) -> None:
        """Encode and send in batches of :attr:`batch_points` (no spool: a failure raises and
        the batches not yet sent are the caller's to retry; put a spool in front for that)."""
        try:
            for payload, _ in self._encoder.batches(readings, self.batch_points):
                self.write_lines(payload)
        except LineProtocolError as exc:
            raise WriteRejected(f"write to {self.url}: {exc}") from exc

    def close(self) -> None:
        self._session.close()


class InfluxV1Historian(InfluxQLReader):
    """InfluxDB 1.x: ``POST /write?db=&rp=&precision=ns`` with line protocol.

    Parameters
    ----------
    url : str
        Base URL, e.g. ``http://127.0.0.1:8086``.
    database : str
        Database to write and query.
    retention_policy : str, optional
        Write into (and query from) this retention policy; default the database's default.
    username, password : str, optional
        Basic auth when the server has auth enabled (from the environment; never logged).
    timeout_s : float
        HTTP timeout per request. [s]
    gzip : bool
        Send payloads gzip-compressed (``Content-Encoding: gzip``).
    """

    def __init__(self, url: str, database: str, *, retention_policy: str | None = None,
                 username: str | None = None, password: str | None = None,
                 timeout_s: float = 10.0, gzip: bool = False) -> None:
        self.url = url.rstrip("/")
        self.database = self.query_db = database
        self.retention_policy = self.query_rp = retention_policy
        self.timeout_s = timeout_s
        self.gzip = gzip
        self._encoder = LineEncoder()
        self._session = requests.Session()
        if username:
            self._session.auth = (username, password or "")
        params = {"db": database, "precision": "ns"}
        if retention_policy:
            params["rp"] = retention_policy
        self._write_params = params

    def create_database(self) -> None:
        """``CREATE DATABASE`` (idempotent; needs admin rights when auth is on)."""
        self.raw_influxql(f"CREATE DATABASE {ident(self.database)}")

    def ensure_retention_policy(self, name: str, duration_h: float | None) -> None:
        """Create retention policy ``name`` on the database, or alter its duration to match
        (never made the default: dashboards keep reading the default policy). Needs admin
        rights when auth is on.

        Parameters
        ----------
        duration_h : float or None
            How long InfluxDB keeps points; None keeps them for good (``INF``). At least 1 h. [h]
        """
        if duration_h is not None and duration_h < 1:
            raise HistorianError(f"retention policy {name!r}: InfluxDB keeps points at least 1 h, "
                                 f"got {duration_h:g} h")
        duration = "INF" if duration_h is None else f"{int(round(duration_h))}h"
        res = self.raw_influxql(f"SHOW RETENTION POLICIES ON {ident(self.database)}")
        series = (res[0].get("series") or [{}])[0] if res else {}
        cols = series.get("columns", [])
        current = {row[cols.index("name")]: row[cols.index("duration")]
                   for row in series.get("values", []) or []}
        if name not in current:
            self.raw_influxql(f"CREATE RETENTION POLICY {ident(name)} ON {ident(self.database)} "
                              f"DURATION {duration} REPLICATION 1")
        elif _duration_h(current[name]) != (None if duration_h is None else int(round(duration_h))):
            self.raw_influxql(f"ALTER RETENTION POLICY {ident(name)} ON {ident(self.database)} "
                              f"DURATION {duration}")

    def write_lines(self, payload: bytes) -> None:
        headers = {"Content-Type": "text/plain; charset=utf-8"}
        if self.gzip:
            import gzip
            payload = gzip.compress(payload, compresslevel=1)
            headers["Content-Encoding"] = "gzip"
        where = f"{self.url}/write (db {self.database!r})"
        try:
            resp = self._session.post(f"{self.url}/write", params=self._write_params,
                                      data=payload, headers=headers, timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise HistorianUnavailable(f"write {where}: {type(exc).__name__}") from exc
        _raise_for(resp, "write", where)


class InfluxV2Historian(InfluxQLReader):
    """InfluxDB 2.x / 3.x / Cloud: writes through influxdb-client's synchronous WriteApi;
    InfluxQL reads through the v1-compatible ``/query`` (``Authorization: Token ...``).

    Parameters
    ----------
    url : str
        Base URL, e.g. ``http://influxdb:8086``.
    org, bucket : str
        Where to write.
    token : str
        API token (from the environment or a file; never logged).
    query_db : str, optional
        Database name of the bucket's DBRP mapping for InfluxQL (default: the bucket name).
    timeout_s : float
        HTTP timeout per request. [s]
    """

    def __init__(self, url: str, org: str, bucket: str, token: str, *,
                 query_db: str | None = None, query_rp: str | None = None,
                 timeout_s: float = 10.0) -> None:
        if not token:
            raise HistorianError(f"InfluxDB 2.x at {url}: no token (set MICROGRID_INFLUX_TOKEN "
                                 f"or MICROGRID_INFLUX_TOKEN_FILE)")
        self.url = url.rstrip("/")
        self.org, self.bucket = org, bucket
        self.query_db, self.query_rp = query_db or bucket, query_rp
        self.timeout_s = timeout_s
        self._token = token
        self._encoder = LineEncoder()
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Token {token}"
        self._client = None
        self._write_api = None

    def __repr__(self) -> str:  # never show the token
        return f"InfluxV2Historian(url={self.url!r}, org={self.org!r}, bucket={self.bucket!r})"

    def write_kwargs(self, payload: bytes) -> dict[str, Any]:
        """Arguments given to ``WriteApi.write`` for one batch."""
        from influxdb_client import WritePrecision
        return {"bucket": self.bucket, "org": self.org, "record": payload,
                "write_precision": WritePrecision.NS}

    def _api(self):
        if self._write_api is None:
            from influxdb_client import InfluxDBClient
            from influxdb_client.client.write_api import SYNCHRONOUS
            self._client = InfluxDBClient(url=self.url, token=self._token, org=self.org,
                                          timeout=int(self.timeout_s * 1000))
            self._write_api = self._client.write_api(write_options=SYNCHRONOUS)
        return self._write_api

    def write_lines(self, payload: bytes) -> None:
        from influxdb_client.rest import ApiException
        from urllib3.exceptions import HTTPError
        where = f"{self.url}/api/v2/write (org {self.org!r}, bucket {self.bucket!r})"
        try:
            self._api().write(**self.write_kwargs(payload))
        except ApiException as exc:
            resp = requests.Response()
            resp.status_code = int(exc.status or 0)
            resp._content = (exc.body or exc.reason or "").encode() \
                if isinstance(exc.body or exc.reason or "", str) else b""
            if resp.status_code == 0:
                raise HistorianUnavailable(f"write {where}: no answer") from None
            _raise_for(resp, "write", where)
        except (HTTPError, OSError) as exc:
            raise HistorianUnavailable(f"write {where}: {type(exc).__name__}") from None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = self._write_api = None
        super().close()


def _duration_h(text: str) -> int | None:
    """InfluxDB's shown duration (``720h0m0s``; ``0s`` = INF) in whole hours; None for INF."""
    parts = dict((u, int(v)) for v, u in re.findall(r"(\d+)([hms])", text))
    hours = parts.get("h", 0) + parts.get("m", 0) / 60 + parts.get("s", 0) / 3600
    return None if hours == 0 else int(round(hours))
