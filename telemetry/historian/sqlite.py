"""The embedded historian: one SQLite file, zero set-up (the default store).

Schema (version 1)::

    series(id INTEGER PRIMARY KEY, measurement TEXT, tags TEXT)   -- tags: canonical JSON
        UNIQUE(measurement, tags)                                  -- series lookup
    points(series_id, field, time_ns, value REAL)
        PRIMARY KEY(series_id, field, time_ns) WITHOUT ROWID       -- range scans per series
        INDEX points_time(time_ns)                                 -- retention deletes

A point is one (series, field, time) value, so a reading without a field stores nothing for it
(missing stays missing) and writing the same series + time again overwrites only the fields it
carries, exactly as InfluxDB does. Aggregations are computed per series in SQL and combined in
pandas with InfluxQL semantics (see :mod:`telemetry.historian.base`).

WAL mode: readers in other processes (the report CLI, a notebook) never block the writer.
Thread-safety: one connection per instance, every call serialised by a lock, so one
:class:`SQLiteHistorian` may be shared by threads (e.g. the asyncio loop and a
``to_thread`` drain). Retention: with ``retention_days`` set, points older than that are deleted
on write, at most once every ``retention_check_s``, and by :meth:`apply_retention`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Iterable

import pandas as pd

from microgrid.errors import HistorianError
from microgrid.readings import Reading
from telemetry.historian.base import Historian, QuerySpec, WriteRejected, empty_frame, finish_frame
from telemetry.historian.lineprotocol import LineProtocolError, parse_lines, time_to_ns

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS series(
    id INTEGER PRIMARY KEY, measurement TEXT NOT NULL, tags TEXT NOT NULL,
    UNIQUE(measurement, tags));
CREATE TABLE IF NOT EXISTS points(
    series_id INTEGER NOT NULL, field TEXT NOT NULL, time_ns INTEGER NOT NULL, value REAL NOT NULL,
    PRIMARY KEY(series_id, field, time_ns)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS points_time ON points(time_ns);
INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', '1');
"""
_NS_PER_DAY = 86400 * 10**9


class SQLiteHistorian(Historian):
    """Historian in one SQLite file.

    Parameters
    ----------
    path : str or Path
        Database file (created with its folder when missing).
    retention_days : float, optional
        Keep this many days of points; None keeps everything. [d]
    retention_check_s : float
        Minimum time between retention deletes triggered by writes. [s]
    """

    def __init__(self, path: str | Path, *, retention_days: float | None = None,
                 retention_check_s: float = 60.0) -> None:
        self.path = Path(path)
        self.retention_days = retention_days
        self.retention_check_s = retention_check_s
        self._lock = threading.Lock()
        self._series: dict[tuple[str, tuple], int] = {}
        self._last_retention = 0.0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), check_same_thread=False,
                                       isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=10000")
            self._db.executescript(SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise HistorianError(f"cannot open the SQLite historian {self.path}: {exc}") from exc

    # -- writing -----------------------------------------------------------------------------
    def _series_id(self, measurement: str, tags: tuple) -> int:
        key = (measurement, tags)
        sid = self._series.get(key)
        if sid is None:
            text = json.dumps(dict(tags), separators=(",", ":"), sort_keys=True)
            self._db.execute("INSERT OR IGNORE INTO series(measurement, tags) VALUES (?, ?)",
                             (measurement, text))
            sid = self._db.execute("SELECT id FROM series WHERE measurement=? AND tags=?",
                                   (measurement, text)).fetchone()[0]
            self._series[key] = sid
        return sid

    def _check_open(self) -> None:
        if self._db is None:
            raise HistorianError(f"the SQLite historian {self.path} is closed")

    def _insert(self, points: Iterable[tuple[str, tuple, dict, int]]) -> None:
        with self._lock:
            self._check_open()
            try:
                self._db.execute("BEGIN IMMEDIATE")
                rows = []
                for measurement, tags, fields, t_ns in points:
                    sid = self._series_id(measurement, tags)
                    rows.extend((sid, f, t_ns, v) for f, v in fields.items())
                self._db.executemany("INSERT OR REPLACE INTO points(series_id, field, time_ns, "
                                     "value) VALUES (?, ?, ?, ?)", rows)
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                self._series.clear()
                raise HistorianError(f"writing to the SQLite historian {self.path} failed: "
                                     f"{exc}") from exc
            if (self.retention_days is not None
                    and time.monotonic() - self._last_retention >= self.retention_check_s):
                self._apply_retention_locked(time.time_ns())

    def write(self, readings: Iterable[Reading]) -> None:
        def points():
            for r in readings:
                fields = r.present_fields()
                fields = {k: v for k, v in fields.items() if v - v == 0.0}  # drop +-inf
                if fields:
                    tags = tuple(sorted((k, str(v)) for k, v in r.tags.items()
                                        if v is not None and v != ""))
                    yield r.measurement, tags, fields, time_to_ns(r.time)
        self._insert(points())

    def write_lines(self, payload: bytes) -> None:
        try:
            points = list(parse_lines(payload))
        except (LineProtocolError, UnicodeDecodeError) as exc:
            raise WriteRejected(f"SQLite historian {self.path}: {exc}") from exc
        self._insert(points)

    def apply_retention(self, now_ns: int | None = None) -> int:
        """Delete points older than ``retention_days`` before ``now_ns``; returns how many."""
        with self._lock:
            return self._apply_retention_locked(time.time_ns() if now_ns is None else now_ns)

    def _apply_retention_locked(self, now_ns: int) -> int:
        self._last_retention = time.monotonic()
        if self.retention_days is None:
            return 0
        cutoff = now_ns - int(self.retention_days * _NS_PER_DAY)
        return self._db.execute("DELETE FROM points WHERE time_ns < ?", (cutoff,)).rowcount

    # -- reading -----------------------------------------------------------------------------
    def _matching_series(self, spec: QuerySpec) -> dict[int, tuple[str, ...]]:
        """series id -> (series key, values of the group tags), for series matching the tag
        filters. The series key (``tag=value,...`` sorted) orders ties as InfluxDB does."""
        out = {}
        for sid, text in self._db.execute("SELECT id, tags FROM series WHERE measurement=?",
                                          (spec.measurement,)):
            tags = json.loads(text)
            if all(tags.get(k) == str(v) for k, v in spec.tags.items()):
                key = ",".join(f"{k}={v}" for k, v in sorted(tags.items()))
                out[sid] = (key, *(tags.get(t, "") for t in spec.group_by_tags))
        return out

    def run_query(self, spec: QuerySpec) -> pd.DataFrame:
        with self._lock:
            self._check_open()
            try:
                series = self._matching_series(spec)
                if not series:
                    return empty_frame(spec)
                rows = self._fetch(spec, list(series))
            except sqlite3.Error as exc:
                raise HistorianError(f"query of {spec.measurement!r} in the SQLite historian "
                                     f"{self.path} failed: {exc}") from exc
        if not rows:
            return empty_frame(spec)
        df = pd.DataFrame(rows, columns=["sid", "field", "time", "a", "b"])
        groups = pd.DataFrame([(sid, *g) for sid, g in series.items()],
                              columns=["sid", "skey", *[f"tag:{t}" for t in spec.group_by_tags]])
        df = df.merge(groups, on="sid", how="left")
        return _raw_frame(spec, df) if spec.agg is None else _agg_frame(spec, df)

    def _fetch(self, spec: QuerySpec, sids: list[int]) -> list[tuple]:
        ph_s, ph_f = ",".join("?" * len(sids)), ",".join("?" * len(spec.fields))
        where = (f"series_id IN ({ph_s}) AND field IN ({ph_f}) AND time_ns >= ? AND time_ns < ?")
        args: list = [*sids, *spec.fields, spec.start_ns, spec.end_ns]
        if spec.agg is None:
            sql = f"SELECT series_id, field, time_ns, value, NULL FROM points WHERE {where}"
            return self._db.execute(sql, args).fetchall()
        iv = spec.interval_ns
        bucket = ("(time_ns - ((time_ns % :iv) + :iv) % :iv)".replace(":iv", str(iv)) if iv
                  else str(spec.start_ns))
        sel = {"mean": "sum(value), count(value)", "sum": "sum(value), NULL",
               "count": "count(value), NULL", "max": "max(value), NULL",
               "min": "min(value), NULL", "last": "value, max(time_ns)"}[spec.agg]
        sql = (f"SELECT series_id, field, {bucket} AS b, {sel} FROM points WHERE {where} "
               f"GROUP BY series_id, field, b")
        return self._db.execute(sql, args).fetchall()

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None  # type: ignore[assignment]


def _wide(spec: QuerySpec, long: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Long (keys..., field, value) -> the documented result shape."""
    wide = long.pivot_table(index=keys, columns="field", values="value", aggfunc="first",
                            dropna=True).reset_index()
    tag_cols = {t: wide[f"tag:{t}"].tolist() for t in spec.group_by_tags}
    field_cols = {f: wide[f].tolist() for f in spec.fields if f in wide.columns}
    return finish_frame(spec, wide["time"].tolist(), tag_cols, field_cols)


def _raw_frame(spec: QuerySpec, df: pd.DataFrame) -> pd.DataFrame:
    long = df.rename(columns={"a": "value"})
    return _wide(spec, long, ["skey", "sid", "time", *[f"tag:{t}" for t in spec.group_by_tags]])


def _agg_frame(spec: QuerySpec, df: pd.DataFrame) -> pd.DataFrame:
    keys = [*[f"tag:{t}" for t in spec.group_by_tags], "field", "time"]
    g = df.groupby(keys, sort=False, dropna=False)
    if spec.agg == "mean":
        s = g["a"].sum() / g["b"].sum()
    elif spec.agg in ("sum", "count"):
        s = g["a"].sum()
    elif spec.agg == "max":
        s = g["a"].max()
    elif spec.agg == "min":
        s = g["a"].min()
    else:  # last: the value at the latest time; a tie between series goes to the first series
        # key, as InfluxDB's last() does
        s = (df.sort_values(["b", "skey"], ascending=[False, True], kind="mergesort")
             .groupby(keys, sort=False, dropna=False)["a"].first())
    long = s.rename("value").reset_index()
    return _wide(spec, long, ["time", *[f"tag:{t}" for t in spec.group_by_tags]])
