"""Store-and-forward: a durable on-disk queue of line-protocol batches in front of a historian.

:class:`Spool` is the queue: one SQLite file (WAL, ``synchronous=FULL``, so a batch is fsynced
before ``append`` returns). :class:`SpooledHistorian` puts it in front of any
:class:`~telemetry.historian.base.Historian`:

- ``write(readings)`` encodes to line protocol in batches of ``batch_points`` and appends them
  to the spool; nothing goes over the network on this path (fast, never blocks on an outage);
- ``drain_once()`` sends the oldest batches in order and deletes each one only after the store
  acknowledged it (2xx); at the first transport/server/auth failure it stops and keeps the
  batch for the next try. A batch the store refuses for good (HTTP 400: bad line protocol,
  field type conflict) would block the queue forever, so it is moved to a ``rejected`` table
  with an ERROR log instead;
- replay never duplicates: a retried batch is the identical payload (same batch id, same
  points, same timestamps) and InfluxDB (and the SQLite store) overwrite same series + time;
- bounded: when appending would exceed ``max_bytes`` or ``max_points``, the *new* batch is
  dropped (oldest data kept), with a WARNING log and the ``dropped_*`` counters, never silently;
- ``flush(timeout_s)`` drains until empty or timeout; ``close()`` flushes what it can and keeps
  the rest on disk for the next start; ``drain_forever(stop_event)`` is the asyncio task the
  service runs; ``status()`` is what the status endpoint shows.

Thread-safety: the spool's file is used under a lock; one drain runs at a time.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from microgrid.errors import HistorianError
from microgrid.readings import Reading
from telemetry.historian.base import Historian, QuerySpec, WriteRejected
from telemetry.historian.influx import InfluxQLReader
from telemetry.historian.lineprotocol import LineEncoder, LineProtocolError

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches(id INTEGER PRIMARY KEY AUTOINCREMENT, created_ns INTEGER NOT NULL,
    points INTEGER NOT NULL, nbytes INTEGER NOT NULL, codec TEXT NOT NULL, payload BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS rejected(id INTEGER PRIMARY KEY, created_ns INTEGER, rejected_ns INTEGER,
    points INTEGER, codec TEXT, payload BLOB, reason TEXT);
"""


@dataclass(frozen=True)
class SpoolDepth:
    """What the spool holds. ``bytes`` is the stored (possibly compressed) size. [B]"""

    batches: int
    points: int
    bytes: int


@dataclass(frozen=True)
class Batch:
    """One queued batch: its id (stable across restarts), point count and line protocol."""

    id: int
    points: int
    payload: bytes


class Spool:
    """Durable FIFO of line-protocol batches in one SQLite file.

    Parameters
    ----------
    path : str or Path
        The spool file (created with its folder).
    max_bytes : int
        Bound on the stored size of queued batches. [B]
    max_points : int, optional
        Bound on queued points.
    compress : bool
        Store payloads zlib-compressed (smaller spool during long outages, more CPU).
    """

    def __init__(self, path: str | Path, *, max_bytes: int = 1 << 30,
                 max_points: int | None = None, compress: bool = False) -> None:
        self.path = Path(path)
        self.max_bytes, self.max_points, self.compress = max_bytes, max_points, compress
        self.dropped_batches = self.dropped_points = self.rejected_batches = 0
        self._lock = threading.Lock()
        # payloads appended by this process, kept in memory until acknowledged so the send
        # path does not read back what it just wrote (bounded; older ones are read from disk)
        self._recent: dict[int, bytes] = {}
        self._recent_bytes = 0
        self.recent_max_bytes = 64 << 20
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), check_same_thread=False,
                                       isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            n, p, b = self._db.execute("SELECT count(*), coalesce(sum(points), 0), "
                                       "coalesce(sum(nbytes), 0) FROM batches").fetchone()
        except (sqlite3.Error, OSError) as exc:
            raise HistorianError(f"cannot open the spool {self.path}: {exc}") from exc
        self._batches, self._points, self._bytes = n, p, b
        if n:
            log.info("spool %s holds %d batches (%d points) from before; they are sent first",
                     self.path, n, p)

    def depth(self) -> SpoolDepth:
        """Current queue depth."""
        return SpoolDepth(self._batches, self._points, self._bytes)

    def append(self, payload: bytes, points: int) -> int | None:
        """Persist one batch (fsynced). Returns its id, or None when the spool is full and the
        batch was dropped (WARNING logged, ``dropped_*`` counted)."""
        data, codec = (zlib.compress(payload, 1), "zlib") if self.compress else (payload, "raw")
        with self._lock:
            full_b = self._bytes + len(data) > self.max_bytes
            full_p = self.max_points is not None and self._points + points > self.max_points
            if full_b or full_p:
                self.dropped_batches += 1
                self.dropped_points += points
                log.warning("SPOOL FULL (%s: %d batches, %d points, %d bytes; bound %s): "
                            "DROPPING a new batch of %d points; %d points dropped so far. The "
                            "store has been unreachable; the oldest data is kept.",
                            self.path, self._batches, self._points, self._bytes,
                            f"{self.max_bytes} bytes" + (f" / {self.max_points} points"
                                                         if self.max_points else ""),
                            points, self.dropped_points)
                return None
            try:
                cur = self._db.execute("INSERT INTO batches(created_ns, points, nbytes, codec, "
                                       "payload) VALUES (?, ?, ?, ?, ?)",
                                       (time.time_ns(), points, len(data), codec, data))
            except sqlite3.Error as exc:
                raise HistorianError(f"cannot append to the spool {self.path}: {exc}") from exc
            self._batches += 1
            self._points += points
            self._bytes += len(data)
            batch_id = cur.lastrowid
            if batch_id is not None and self._recent_bytes + len(payload) <= self.recent_max_bytes:
                self._recent[batch_id] = payload
                self._recent_bytes += len(payload)
            return batch_id

    def peek(self, limit: int = 1) -> list[Batch]:
        """The oldest ``limit`` batches, oldest first (not removed)."""
        out = []
        with self._lock:
            heads = self._db.execute("SELECT id, points FROM batches ORDER BY id LIMIT ?",
                                     (limit,)).fetchall()
            for i, p in heads:
                payload = self._recent.get(i)
                if payload is None:
                    c, d = self._db.execute("SELECT codec, payload FROM batches WHERE id=?",
                                            (i,)).fetchone()
                    payload = zlib.decompress(d) if c == "zlib" else bytes(d)
                out.append(Batch(i, p, payload))
        return out

    def _forget(self, batch_id: int, row: tuple | None) -> None:
        payload = self._recent.pop(batch_id, None)
        if payload is not None:
            self._recent_bytes -= len(payload)
        if row:
            self._batches -= 1
            self._points -= row[0]
            self._bytes -= row[1]

    def ack(self, batch_id: int) -> None:
        """Delete a batch the store acknowledged. The delete is not fsynced: if it is lost in a
        power cut, the batch is sent again, which overwrites identical points (no duplicate)."""
        with self._lock:
            self._db.execute("PRAGMA synchronous=NORMAL")
            try:
                row = self._db.execute("DELETE FROM batches WHERE id=? RETURNING points, nbytes",
                                       (batch_id,)).fetchone()
            finally:
                self._db.execute("PRAGMA synchronous=FULL")
            self._forget(batch_id, row)

    def reject(self, batch_id: int, reason: str) -> None:
        """Move a batch the store refused for good to the ``rejected`` table (kept for a human)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("INSERT OR REPLACE INTO rejected SELECT id, created_ns, ?, points, "
                             "codec, payload, ? FROM batches WHERE id=?",
                             (time.time_ns(), reason, batch_id))
            row = self._db.execute("DELETE FROM batches WHERE id=? RETURNING points, nbytes",
                                   (batch_id,)).fetchone()
            self._db.execute("COMMIT")
            self._forget(batch_id, row)
            if row:
                self.rejected_batches += 1

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None  # type: ignore[assignment]


class SpooledHistorian(Historian):
    """Any historian behind a durable spool (module docstring).

    Parameters
    ----------
    inner : Historian
        Where batches go (InfluxDB normally; any backend works). Queries go straight to it.
    spool : Spool
        The queue (owned: closed by :meth:`close`).
    batch_points : int
        Points per batch when encoding readings.
    close_flush_timeout_s : float
        How long :meth:`close` tries to send what is queued. [s]
    """

    def __init__(self, inner: Historian, spool: Spool, *, batch_points: int = 5000,
                 close_flush_timeout_s: float = 5.0) -> None:
        self.inner, self.spool = inner, spool
        self.batch_points = batch_points
        self.close_flush_timeout_s = close_flush_timeout_s
        self.sent_batches = self.sent_points = 0
        self.last_error: str | None = None
        self._encoder = LineEncoder()
        self._encode_lock = threading.Lock()
        self._drain_lock = threading.Lock()
        self._wake: asyncio.Event | None = None

    # -- writing (spool only) ----------------------------------------------------------------
    def write(self, readings: Iterable[Reading]) -> None:
        with self._encode_lock:
            try:
                for payload, n in self._encoder.batches(readings, self.batch_points):
                    self.spool.append(payload, n)
            except LineProtocolError as exc:
                raise WriteRejected(f"reading not writable: {exc}") from exc

    def write_lines(self, payload: bytes) -> None:
        if payload and not payload.endswith(b"\n"):
            payload += b"\n"
        n = payload.count(b"\n")
        if n:
            self.spool.append(payload, n)

    # -- draining ----------------------------------------------------------------------------
    def drain_once(self, max_batches: int | None = None) -> int:
        """Send queued batches oldest first until empty, ``max_batches`` sent, or a failure.

        Returns the number of batches acknowledged. Never raises for store failures: they are
        logged (once per outage) and kept in :attr:`last_error`.
        """
        sent = 0
        with self._drain_lock:
            while max_batches is None or sent < max_batches:
                batches = self.spool.peek(1)
                if not batches:
                    break
                b = batches[0]
                try:
                    self.inner.write_lines(b.payload)
                except WriteRejected as exc:
                    log.error("spool batch %d (%d points) refused for good, moved to the "
                              "'rejected' table of %s: %s", b.id, b.points, self.spool.path, exc)
                    self.spool.reject(b.id, str(exc))
                    continue
                except HistorianError as exc:
                    if self.last_error is None:
                        log.warning("store unreachable, keeping %d batches spooled: %s",
                                    self.spool.depth().batches, exc)
                    self.last_error = str(exc)
                    break
                self.spool.ack(b.id)
                sent += 1
                self.sent_batches += 1
                self.sent_points += b.points
                if self.last_error is not None:
                    log.warning("store reachable again; draining %d spooled batches",
                                self.spool.depth().batches)
                    self.last_error = None
        return sent

    def flush(self, timeout_s: float = 10.0, retry_s: float = 0.2) -> bool:
        """Drain until the spool is empty (True) or ``timeout_s`` passed (False). [s]"""
        deadline = time.monotonic() + timeout_s
        while True:
            self.drain_once()
            if self.spool.depth().batches == 0:
                return True
            if time.monotonic() + retry_s >= deadline:
                return False
            time.sleep(retry_s)

    async def drain_forever(self, stop_event: asyncio.Event, interval_s: float = 1.0,
                            max_backoff_s: float = 30.0) -> None:
        """Asyncio task: drain every ``interval_s`` (in a worker thread), backing off
        exponentially up to ``max_backoff_s`` while the store is unreachable, until
        ``stop_event`` is set. [s]"""
        backoff = interval_s
        while not stop_event.is_set():
            try:
                await asyncio.to_thread(self.drain_once)
            except Exception as exc:  # a bug must not kill the drain task: log, back off, retry
                log.exception("spool drain failed unexpectedly")
                self.last_error = f"{type(exc).__name__}: {exc}"
            backoff = interval_s if self.last_error is None else min(backoff * 2, max_backoff_s)
            try:
                await asyncio.wait_for(stop_event.wait(), timeout=backoff)
            except asyncio.TimeoutError:
                pass

    # -- reading and status ------------------------------------------------------------------
    def run_query(self, spec: QuerySpec) -> pd.DataFrame:
        return self.inner.run_query(spec)

    def probe(self) -> None:
        """Probe the server behind the spool (:meth:`Historian.probe`)."""
        self.inner.probe()

    def raw_influxql(self, q: str, **kw: Any) -> list[dict[str, Any]]:
        """Passed to the inner historian (InfluxDB backends only)."""
        if not isinstance(self.inner, InfluxQLReader):
            raise HistorianError(f"{type(self.inner).__name__} does not speak InfluxQL")
        return self.inner.raw_influxql(q, **kw)

    def status(self) -> dict[str, Any]:
        """Spool depth and counters for the status endpoint (JSON-able)."""
        d = self.spool.depth()
        return {"spool_batches": d.batches, "spool_points": d.points, "spool_bytes": d.bytes,
                "sent_points": self.sent_points, "dropped_batches": self.spool.dropped_batches,
                "dropped_points": self.spool.dropped_points,
                "rejected_batches": self.spool.rejected_batches,
                "store_reachable": self.last_error is None, "last_error": self.last_error}

    def close(self) -> None:
        """Flush what can be sent within ``close_flush_timeout_s``; keep the rest on disk."""
        try:
            if not self.flush(self.close_flush_timeout_s):
                d = self.spool.depth()
                log.warning("closing with %d batches (%d points) still spooled in %s; they are "
                            "sent at the next start", d.batches, d.points, self.spool.path)
        finally:
            self.spool.close()
            self.inner.close()
