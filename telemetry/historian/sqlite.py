"""The embedded historian: one SQLite file, zero set-up (the default store).

Layout (schema version 2; docs/architecture.md §5)::

    series(id INTEGER PRIMARY KEY, measurement TEXT, tags TEXT)   -- tags: canonical JSON
        UNIQUE(measurement, tags)
    points(series_id, field, time_ns, value REAL)                  -- recent values, one row each
        PRIMARY KEY(series_id, field, time_ns) WITHOUT ROWID, INDEX points_time(time_ns)
    chunks(series_id, start_ns, end_ns, first_ns, last_ns, n, nv, data BLOB)
        UNIQUE(series_id, start_ns)                                -- one packed window per series

A write lands in ``points`` (a row per value: about 65 bytes each). Compaction packs every
window (``window_s``, an hour by default) that ended more than ``compact_lag_s`` before the
newest reading into one columnar chunk per series (:mod:`telemetry.historian.chunks`: about a
byte per value; slow series such as the 15-min ``energy`` roll-ups go into daily chunks), on
writes at most every ``compact_every_s`` and at most
``compact_budget_rows`` rows at a time, so a write never waits long. A ``namespace`` gives a
roll-up tier its own pair of tables (``points_1m``/``chunks_1m``) in the same file and the same
series table.

A point is one (series, field, time) value, so a reading without a field stores nothing for it
(missing stays missing) and writing the same series + time again overwrites only the fields it
carries, exactly as InfluxDB does; a write into a window already packed is a row until its
window is packed again, and the row wins meanwhile. Queries merge rows and chunks and apply
InfluxQL semantics in pandas (:mod:`telemetry.historian.aggregate`).

Older files (schema version 1: ``points`` only) open as they are: their rows are the recent half
of version 2, the ``chunks`` table is added and the next compactions pack the old rows, oldest
window first, a budget at a time (the file does not shrink, SQLite reuses the freed pages).
Opened ``readonly``, a file is never changed, whatever its version.

WAL mode: readers in other processes (the report CLI, the camp page) never block the writer,
and a query reads rows and chunks in one read transaction. Thread-safety: one connection per
instance, every call serialised by a lock. Retention: with ``retention_days`` set, points older
than that (wall clock) are deleted on write, at most once every ``retention_check_s``, and by
:meth:`apply_retention`; :meth:`delete_range` deletes a time range of some measurements.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Collection, Iterable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from microgrid.errors import HistorianError
from microgrid.readings import Reading
from telemetry.historian import sqlite_chunks as store
from telemetry.historian.aggregate import agg_frame, partials, raw_frame
from telemetry.historian.base import Historian, QuerySpec, WriteRejected, empty_frame
from telemetry.historian.lineprotocol import LineProtocolError, parse_lines, time_to_ns

SCHEMA_VERSION = "2"
_BASE = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS series(
    id INTEGER PRIMARY KEY, measurement TEXT NOT NULL, tags TEXT NOT NULL,
    UNIQUE(measurement, tags));
"""
_NS_PER_DAY = 86400 * 10**9
_MIN_NS = -(2**63)
#: Measurements stamped in the future by design (a plan, a forecast): their points do not move
#: the compaction horizon.
FUTURE_MEASUREMENTS = ("plan", "plan_genset", "forecast")
#: Slow series (a few points an hour) packed by the day rather than by the hour: fewer, fuller
#: chunks, so a month of them is 30 chunks to read. [s]
DAILY = 86400.0
SLOW_MEASUREMENTS = {m: DAILY for m in ("energy", "genset_energy", "plan", "plan_genset", "forecast",
                                        "optimizer", "setpoint", "alarm", "fuel_delivery",
                                        "rollup_watermark")}

Point = tuple[str, tuple, dict, int]


class SQLiteHistorian(Historian):
    """Historian in one SQLite file.

    Parameters
    ----------
    path : str or Path
        Database file (created with its folder when missing, unless ``readonly``).
    retention_days : float, optional
        Keep this many days of points (wall clock, every measurement); None keeps everything. [d]
    retention_check_s : float
        Minimum time between retention deletes triggered by writes. [s]
    namespace : str
        ``""`` for readings; a roll-up tier's name (``"1m"``) for its own tables.
    window_s : float
        Length of a packed window. [s]
    compact_lag_s : float
        A window is packed once the newest reading is this much past its end. [s]
    compact_every_s : float
        Minimum wall time between compactions triggered by writes (0: every write). [s]
    compact_budget_rows : int
        Rows packed per compaction at most (the rest waits for the next one).
    readonly : bool
        Open without writing anything (no schema, no migration); writes raise.
    chunk_s : mapping of str to float
        A longer packed window for some measurements (a multiple of ``window_s``). [s]
    """

    def __init__(self, path: str | Path, *, retention_days: float | None = None,
                 retention_check_s: float = 60.0, namespace: str = "", window_s: float = 3600.0,
                 compact_lag_s: float = 300.0, compact_every_s: float = 10.0,
                 compact_budget_rows: int = 20_000, readonly: bool = False,
                 future_measurements: Collection[str] = FUTURE_MEASUREMENTS,
                 chunk_s: Mapping[str, float] | None = None) -> None:
        if namespace and not namespace.replace("_", "").isalnum():
            raise HistorianError(f"SQLite historian namespace {namespace!r}: letters, digits and _ only")
        self.path = Path(path)
        self.retention_days = retention_days
        self.retention_check_s = retention_check_s
        self.namespace = namespace
        self.window_ns = int(window_s * 1e9)
        self.compact_lag_ns = int(compact_lag_s * 1e9)
        self.compact_every_s = compact_every_s
        self.compact_budget_rows = compact_budget_rows
        self.readonly = readonly
        self.future_measurements = frozenset(future_measurements)
        self.chunk_ns = {m: int(v * 1e9) for m, v in (SLOW_MEASUREMENTS if chunk_s is None else chunk_s).items()}
        bad = [m for m, v in self.chunk_ns.items() if v % self.window_ns]
        if bad:
            raise HistorianError(f"SQLite historian {self.path}: chunk_s of {', '.join(bad)} is not a "
                                 f"multiple of window_s ({window_s:g} s)")
        self._measurement_of: dict[int, str] = {}
        self.high_water_ns: int | None = None  #: newest time written (not future measurements)
        self.tables = store.Tables.of(namespace)
        self._lock = threading.Lock()
        self._series: dict[tuple[str, tuple], int] = {}
        self._last_retention = 0.0
        self._last_compaction = 0.0
        self._db: sqlite3.Connection | None = self._connect()
        self._has_chunks = self._table_exists(self.tables.chunks)
        self._has_points = self._table_exists(self.tables.points)  # False: readonly, tier never written

    def _connect(self) -> sqlite3.Connection:
        try:
            if self.readonly:
                if not self.path.is_file():
                    raise HistorianError(f"no SQLite historian at {self.path}")
                db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False,
                                     isolation_level=None)
                db.execute("PRAGMA busy_timeout=10000")
                return db
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=10000")
            db.executescript(_BASE + self.tables.ddl())
            self._migrate(db)
            return db
        except (sqlite3.Error, OSError) as exc:
            raise HistorianError(f"cannot open the SQLite historian {self.path}: {exc}") from exc

    @staticmethod
    def _migrate(db: sqlite3.Connection) -> None:
        """Version 1 (rows only) -> 2: the rows stay (recent half); chunks come by compaction."""
        row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is None or row[0] != SCHEMA_VERSION:
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)",
                       (SCHEMA_VERSION,))

    def _table_exists(self, name: str) -> bool:
        assert self._db is not None
        return self._db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                                (name,)).fetchone() is not None

    @property
    def schema_version(self) -> str | None:
        """The file's schema version (``"1"`` for a file not migrated, e.g. opened readonly)."""
        with self._lock:
            db = self._open_db()
            row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        return None if row is None else row[0]

    def _open_db(self) -> sqlite3.Connection:
        if self._db is None:
            raise HistorianError(f"the SQLite historian {self.path} is closed")
        return self._db

    # -- writing -----------------------------------------------------------------------------
    def _series_id(self, db: sqlite3.Connection, measurement: str, tags: tuple) -> int:
        key = (measurement, tags)
        sid = self._series.get(key)
        if sid is None:
            text = json.dumps(dict(tags), separators=(",", ":"), sort_keys=True)
            db.execute("INSERT OR IGNORE INTO series(measurement, tags) VALUES (?, ?)",
                       (measurement, text))
            sid = db.execute("SELECT id FROM series WHERE measurement=? AND tags=?",
                             (measurement, text)).fetchone()[0]
            self._series[key] = sid
        return sid

    def _writable(self) -> sqlite3.Connection:
        db = self._open_db()
        if self.readonly:
            raise HistorianError(f"the SQLite historian {self.path} is open read-only")
        return db

    def _insert(self, points: Iterable[Point]) -> None:
        with self._lock:
            db = self._writable()
            newest = None
            try:
                db.execute("BEGIN IMMEDIATE")
                rows: list[tuple[int, str, int, float]] = []
                for measurement, tags, fields, t_ns in points:
                    sid = self._series_id(db, measurement, tags)
                    rows.extend((sid, f, t_ns, v) for f, v in fields.items())
                    if measurement not in self.future_measurements and (newest is None or t_ns > newest):
                        newest = t_ns
                db.executemany(f"INSERT OR REPLACE INTO {self.tables.points}(series_id, field, "
                               f"time_ns, value) VALUES (?, ?, ?, ?)", rows)
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback(db)
                raise HistorianError(f"writing to the SQLite historian {self.path} failed: "
                                     f"{exc}") from exc
            if newest is not None and (self.high_water_ns is None or newest > self.high_water_ns):
                self.high_water_ns = newest
            self._maintain_locked(db)

    def _rollback(self, db: sqlite3.Connection) -> None:
        if db.in_transaction:
            db.execute("ROLLBACK")
        self._series.clear()

    def _maintain_locked(self, db: sqlite3.Connection) -> None:
        """Retention and compaction due after a write."""
        if (self.retention_days is not None
                and time.monotonic() - self._last_retention >= self.retention_check_s):
            self._apply_retention_locked(time.time_ns())
        if (self.high_water_ns is not None
                and time.monotonic() - self._last_compaction >= self.compact_every_s):
            more = self._compact_locked(db, self.high_water_ns - self.compact_lag_ns,
                                        self.compact_budget_rows)
            self._last_compaction = 0.0 if more else time.monotonic()

    def write(self, readings: Iterable[Reading]) -> None:
        self._insert(reading_points(readings))

    def write_lines(self, payload: bytes) -> None:
        try:
            points = list(parse_lines(payload))
        except (LineProtocolError, UnicodeDecodeError) as exc:
            raise WriteRejected(f"SQLite historian {self.path}: {exc}") from exc
        self._insert(points)

    def write_columns(self, measurement: str, tags: Mapping[str, str], times_ns: np.ndarray,
                      columns: Mapping[str, np.ndarray]) -> int:
        """Bulk import: a block of one series written straight into chunks (merged with what
        the windows hold; the block wins). NaN = missing. Returns the values written.

        Parameters
        ----------
        times_ns : array of int64
            Strictly increasing times. [ns]
        columns : mapping of str to array of float64
            One array per field, aligned with ``times_ns``.
        """
        key = tuple(sorted((k, str(v)) for k, v in tags.items() if v not in (None, "")))
        with self._lock:
            db = self._writable()
            try:
                db.execute("BEGIN IMMEDIATE")
                sid = self._series_id(db, measurement, key)
                n = store.write_block(db, self.tables, sid, np.asarray(times_ns, dtype=np.int64),
                                      columns, self.chunk_ns.get(measurement, self.window_ns))
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback(db)
                raise HistorianError(f"writing to the SQLite historian {self.path} failed: "
                                     f"{exc}") from exc
            self._has_chunks = True
            if measurement not in self.future_measurements and len(times_ns):
                newest = int(times_ns[-1])
                self.high_water_ns = max(self.high_water_ns or newest, newest)
            return n

    # -- maintenance -------------------------------------------------------------------------
    def compact(self, horizon_ns: int | None = None, budget_rows: int | None = None) -> int:
        """Pack the windows that ended before ``horizon_ns`` (default: the newest reading less
        ``compact_lag_s``) into chunks, at most ``budget_rows`` rows (default: all). Returns
        the rows packed."""
        with self._lock:
            db = self._writable()
            horizon = horizon_ns if horizon_ns is not None else (
                None if self.high_water_ns is None else self.high_water_ns - self.compact_lag_ns)
            if horizon is None:
                return 0
            before = store.stored_values(db, self.tables, True)[0]
            self._compact_locked(db, horizon, budget_rows if budget_rows is not None else 2**62)
            return before - store.stored_values(db, self.tables, True)[0]

    def _compact_locked(self, db: sqlite3.Connection, horizon_ns: int, budget: int) -> bool:
        try:
            db.execute("BEGIN IMMEDIATE")
            _, more = store.compact(db, self.tables, horizon_ns, self.window_ns, budget,
                                    chunk_ns=lambda sid: self._chunk_ns_of(db, sid))
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback(db)
            raise HistorianError(f"compacting the SQLite historian {self.path} failed: {exc}") from exc
        self._has_chunks = True
        return more

    def _chunk_ns_of(self, db: sqlite3.Connection, sid: int) -> int:
        m = self._measurement_of.get(sid)
        if m is None:
            m = self._measurement_of[sid] = db.execute("SELECT measurement FROM series WHERE id=?",
                                                       (sid,)).fetchone()[0]
        return self.chunk_ns.get(m, self.window_ns)

    def apply_retention(self, now_ns: int | None = None) -> int:
        """Delete points older than ``retention_days`` before ``now_ns``; returns how many."""
        with self._lock:
            return self._apply_retention_locked(time.time_ns() if now_ns is None else now_ns)

    def _apply_retention_locked(self, now_ns: int) -> int:
        self._last_retention = time.monotonic()
        if self.retention_days is None:
            return 0
        return self._delete_locked(_MIN_NS, now_ns - int(self.retention_days * _NS_PER_DAY), None)

    def delete_range(self, lo_ns: int, hi_ns: int, measurements: Collection[str] | None = None) -> int:
        """Delete the values in [lo_ns, hi_ns) of ``measurements`` (default all); a packed
        window goes when it lies inside the range. Returns the values deleted."""
        with self._lock:
            return self._delete_locked(lo_ns, hi_ns, measurements)

    def _delete_locked(self, lo_ns: int, hi_ns: int, measurements: Collection[str] | None) -> int:
        db = self._writable()
        sids = None
        if measurements is not None:
            ph = ",".join("?" * len(measurements))
            sids = [r[0] for r in db.execute(f"SELECT id FROM series WHERE measurement IN ({ph})",
                                             list(measurements))]
        try:
            db.execute("BEGIN IMMEDIATE")
            n = store.delete_range(db, self.tables, lo_ns, hi_ns, sids, self._has_chunks)
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback(db)
            raise HistorianError(f"deleting from the SQLite historian {self.path} failed: {exc}") from exc
        return n

    def stored_values(self) -> tuple[int, int]:
        """(values held as rows, values held in chunks) in this namespace."""
        with self._lock:
            return store.stored_values(self._open_db(), self.tables, self._has_chunks)

    # -- reading -----------------------------------------------------------------------------
    @staticmethod
    def _matching_series(db: sqlite3.Connection, measurement: str, tags: Mapping[str, str],
                         group_by_tags: tuple[str, ...] = ()) -> dict[int, tuple[str, ...]]:
        """series id -> (series key, values of the group tags), for series matching the tag
        filters. The series key (``tag=value,...`` sorted) orders ties as InfluxDB does."""
        out = {}
        for sid, text in db.execute("SELECT id, tags FROM series WHERE measurement=?", (measurement,)):
            stags = json.loads(text)
            if all(stags.get(k) == str(v) for k, v in tags.items()):
                key = ",".join(f"{k}={v}" for k, v in sorted(stags.items()))
                out[sid] = (key, *(stags.get(t, "") for t in group_by_tags))
        return out

    def series(self, measurement: str | None = None) -> list[tuple[str, dict[str, str]]]:
        """Every series key stored (``(measurement, tags)``), optionally of one measurement."""
        with self._lock:
            db = self._open_db()
            sql, args = "SELECT measurement, tags FROM series", []
            if measurement is not None:
                sql, args = sql + " WHERE measurement=?", [measurement]
            return [(m, json.loads(t)) for m, t in db.execute(sql, args)]

    def readings(self, measurements: Collection[str] | None = None) -> Iterator[Reading]:
        """Every stored point (of ``measurements``, default all) as readings, series by series
        in time order: to export or copy a store."""
        for measurement, tags in self.series():
            if measurements is not None and measurement not in measurements:
                continue
            with self._lock:
                db = self._open_db()
                sids = list(self._matching_series(db, measurement, tags)) if self._has_points else []
                sids = [sid for sid in sids if self._series_tags(db, sid) == tags]
                long = store.read_long(db, self.tables, sids, None, _MIN_NS, 2**63 - 1, self._has_chunks) \
                    if sids else None
            if long is None or long.empty:
                continue
            for t_ns, part in long.sort_values("time", kind="mergesort").groupby("time", sort=True):
                yield Reading(pd.Timestamp(int(t_ns), tz="UTC"), measurement, dict(tags),
                              dict(zip(part["field"], part["value"].astype(float))))

    @staticmethod
    def _series_tags(db: sqlite3.Connection, sid: int) -> dict[str, str]:
        return json.loads(db.execute("SELECT tags FROM series WHERE id=?", (sid,)).fetchone()[0])

    def run_query(self, spec: QuerySpec) -> pd.DataFrame:
        with self._lock:
            db = self._open_db()
            try:
                db.execute("BEGIN")  # one snapshot for rows and chunks
                try:
                    series = (self._matching_series(db, spec.measurement, spec.tags, spec.group_by_tags)
                              if self._has_points else {})
                    long = (store.read_long(db, self.tables, list(series), spec.fields, spec.start_ns,
                                            spec.end_ns, self._has_chunks) if series else None)
                finally:
                    db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise HistorianError(f"query of {spec.measurement!r} in the SQLite historian "
                                     f"{self.path} failed: {exc}") from exc
        if long is None or long.empty:
            return empty_frame(spec)
        if spec.agg is None:
            return raw_frame(spec, long, series)
        groups = pd.DataFrame([(sid, *g) for sid, g in series.items()],
                              columns=["sid", "skey", *[f"tag:{t}" for t in spec.group_by_tags]])
        return agg_frame(spec, partials(spec, long).merge(groups, on="sid", how="left"))

    def latest_time(self, measurement: str, fields: Sequence[str],
                    tags: Mapping[str, str] | None = None) -> pd.Timestamp | None:
        with self._lock:
            db = self._open_db()
            sids = list(self._matching_series(db, measurement, tags or {})) if self._has_points else []
            ns = (store.latest_ns(db, self.tables, sids, list(fields), self._has_chunks)
                  if sids and fields else None)
        return None if ns is None else pd.Timestamp(ns, tz="UTC")

    def reader(self) -> "SQLiteHistorian":
        """A second, read-only connection to the same file and namespace (for another thread)."""
        return SQLiteHistorian(self.path, namespace=self.namespace, readonly=True,
                               window_s=self.window_ns / 1e9,
                               chunk_s={m: v / 1e9 for m, v in self.chunk_ns.items()})

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def reading_points(readings: Iterable[Reading]) -> Iterator[Point]:
    """Readings as ``(measurement, sorted tag tuple, present finite fields, time [ns])``, the
    shape :func:`~telemetry.historian.lineprotocol.parse_lines` gives; readings without a
    value are skipped (missing stays missing)."""
    for r in readings:
        fields = {k: v for k, v in r.present_fields().items() if v - v == 0.0}  # drop +-inf
        if fields:
            tags = tuple(sorted((k, str(v)) for k, v in r.tags.items() if v is not None and v != ""))
            yield r.measurement, tags, fields, time_to_ns(r.time)
