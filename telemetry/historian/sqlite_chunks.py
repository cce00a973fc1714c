"""The embedded store's two halves on disk: recent points as rows, older windows as chunks.

Functions over one SQLite connection and one namespace's pair of tables (``points``/``chunks``,
or ``points_1m``/``chunks_1m`` for a roll-up tier); :class:`~telemetry.historian.sqlite.SQLiteHistorian`
holds the connection, the lock and the transactions.

- ``points(series_id, field, time_ns, value)``: one row per value, written by every write
  (a write of the same series, field and time replaces the row: idempotent replay);
- ``chunks(series_id, start_ns, end_ns, first_ns, last_ns, n, nv, data)``: one row per series
  and time window [start_ns, end_ns), ``data`` a :mod:`~telemetry.historian.chunks` blob of
  ``n`` times and ``nv`` values.

A value is in exactly one place once compaction ran; between a late write and the next
compaction of its window it can be in both, and the row wins (it is the newer write).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from telemetry.historian.chunks import decode_chunk, encode_chunk


@dataclass(frozen=True)
class Tables:
    """Table names of one namespace (``""`` raw, ``"1m"``... roll-up tiers)."""

    points: str
    chunks: str
    index: str

    @classmethod
    def of(cls, namespace: str) -> "Tables":
        sfx = f"_{namespace}" if namespace else ""
        return cls(f"points{sfx}", f"chunks{sfx}", f"points{sfx}_time")

    def ddl(self) -> str:
        return f"""
CREATE TABLE IF NOT EXISTS {self.points}(
    series_id INTEGER NOT NULL, field TEXT NOT NULL, time_ns INTEGER NOT NULL, value REAL NOT NULL,
    PRIMARY KEY(series_id, field, time_ns)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS {self.index} ON {self.points}(time_ns);
CREATE TABLE IF NOT EXISTS {self.chunks}(
    id INTEGER PRIMARY KEY, series_id INTEGER NOT NULL, start_ns INTEGER NOT NULL,
    end_ns INTEGER NOT NULL, first_ns INTEGER NOT NULL, last_ns INTEGER NOT NULL,
    n INTEGER NOT NULL, nv INTEGER NOT NULL, data BLOB NOT NULL, UNIQUE(series_id, start_ns));
"""


def _placeholders(n: int) -> str:
    return ",".join("?" * n)


def read_long(db: sqlite3.Connection, t: Tables, sids: Sequence[int], fields: Sequence[str] | None,
              start_ns: int, end_ns: int, has_chunks: bool) -> pd.DataFrame:
    """Every stored value of ``fields`` (None: all) of the series ``sids`` in [start_ns,
    end_ns), as long rows ``sid, field, time, value`` (rows and chunks merged; a row wins over a
    chunk value at the same series, field and time)."""
    sid_parts: list[np.ndarray] = []
    field_parts: list[np.ndarray] = []
    time_parts: list[np.ndarray] = []
    value_parts: list[np.ndarray] = []
    chunk_last: dict[int, int] = {}
    if has_chunks:
        sql = (f"SELECT series_id, last_ns, data FROM {t.chunks} WHERE series_id IN "
               f"({_placeholders(len(sids))}) AND start_ns < ? AND end_ns > ? ORDER BY series_id, start_ns")
        for sid, last_ns, blob in db.execute(sql, [*sids, end_ns, start_ns]):
            times, cols = decode_chunk(blob, fields)
            keep = (times >= start_ns) & (times < end_ns)
            for field, values in cols.items():
                m = keep & ~np.isnan(values)
                k = int(m.sum())
                if k:
                    sid_parts.append(np.full(k, sid, dtype=np.int64))
                    field_parts.append(np.full(k, field, dtype=object))
                    time_parts.append(times[m])
                    value_parts.append(values[m])
            chunk_last[sid] = max(chunk_last.get(sid, last_ns), last_ns)
    by_field = "" if fields is None else f"AND field IN ({_placeholders(len(fields))}) "
    sql = (f"SELECT series_id, field, time_ns, value FROM {t.points} WHERE series_id IN "
           f"({_placeholders(len(sids))}) {by_field}AND time_ns >= ? AND time_ns < ?")
    rows = db.execute(sql, [*sids, *(fields or ()), start_ns, end_ns]).fetchall()
    overlap = False
    if rows:
        hot = list(zip(*rows))
        sid_parts.append(np.asarray(hot[0], dtype=np.int64))
        field_parts.append(np.asarray(hot[1], dtype=object))
        time_parts.append(np.asarray(hot[2], dtype=np.int64))
        value_parts.append(np.asarray(hot[3], dtype=np.float64))
        if chunk_last:
            first_hot: dict[int, int] = {}
            for sid, _, time_ns, _ in rows:
                first_hot[sid] = min(first_hot.get(sid, time_ns), time_ns)
            overlap = any(first_hot.get(sid, end_ns) <= last for sid, last in chunk_last.items())
    if not sid_parts:
        return pd.DataFrame({"sid": np.empty(0, np.int64), "field": np.empty(0, object),
                             "time": np.empty(0, np.int64), "value": np.empty(0, np.float64)})
    long = pd.DataFrame({"sid": np.concatenate(sid_parts), "field": np.concatenate(field_parts),
                         "time": np.concatenate(time_parts), "value": np.concatenate(value_parts)})
    if overlap:  # a late write not yet compacted: the row (last in order) wins
        long = long.drop_duplicates(["sid", "field", "time"], keep="last")
    return long


def _window_rows(db: sqlite3.Connection, t: Tables, sid: int, w0: int, w1: int
                 ) -> tuple[np.ndarray, dict[str, np.ndarray]] | None:
    """The chunk of (sid, window) decoded, or None."""
    row = db.execute(f"SELECT data FROM {t.chunks} WHERE series_id=? AND start_ns=?",
                     (sid, w0)).fetchone()
    return None if row is None else decode_chunk(row[0])


def _frame(times: np.ndarray, cols: Mapping[str, np.ndarray]) -> pd.DataFrame:
    return pd.DataFrame(dict(cols), index=pd.Index(np.asarray(times, dtype=np.int64)))


def _store_window(db: sqlite3.Connection, t: Tables, sid: int, w0: int, w1: int,
                  df: pd.DataFrame, level: int) -> None:
    df = df.sort_index()
    _store_arrays(db, t, sid, w0, w1, df.index.to_numpy(dtype=np.int64),
                  {c: df[c].to_numpy(dtype=np.float64) for c in df.columns}, level)


def _store_arrays(db: sqlite3.Connection, t: Tables, sid: int, w0: int, w1: int, times: np.ndarray,
                  cols: Mapping[str, np.ndarray], level: int) -> None:
    """Replace the chunk of (sid, window) with these points (times without any value dropped;
    nothing left: no chunk)."""
    any_value = np.zeros(len(times), dtype=bool)
    for v in cols.values():
        any_value |= ~np.isnan(v)
    if not any_value.all():
        times = times[any_value]
        cols = {c: v[any_value] for c, v in cols.items()}
    if len(times) == 0:
        db.execute(f"DELETE FROM {t.chunks} WHERE series_id=? AND start_ns=?", (sid, w0))
        return
    nv = int(sum(int((~np.isnan(v)).sum()) for v in cols.values()))
    db.execute(f"INSERT OR REPLACE INTO {t.chunks}(series_id, start_ns, end_ns, first_ns, last_ns, n, "
               f"nv, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
               (sid, w0, w1, int(times[0]), int(times[-1]), len(times), nv,
                encode_chunk(times, cols, level)))


def compact(db: sqlite3.Connection, t: Tables, horizon_ns: int, window_ns: int,
            budget_rows: int, level: int = 6, chunk_ns: Callable[[int], int] | None = None
            ) -> tuple[int, bool]:
    """Pack the rows of every window that ends at or before ``horizon_ns`` into chunks, oldest
    window first, until about ``budget_rows`` rows were packed. Runs inside the caller's
    transaction. ``chunk_ns(series id)``: a longer chunk for a series (a multiple of
    ``window_ns``; a slow series, 4 points an hour, is packed by the day), merged into window by
    window.

    Returns
    -------
    (rows packed, more) : tuple
        ``more`` is True when the budget ran out before the backlog did.
    """
    packed = 0
    while True:
        row = db.execute(f"SELECT min(time_ns) FROM {t.points}").fetchone()
        if row is None or row[0] is None:
            return packed, False
        w0 = row[0] - row[0] % window_ns
        w1 = w0 + window_ns
        if w1 > horizon_ns:
            return packed, False
        if packed >= budget_rows:
            return packed, True
        rows = db.execute(f"SELECT series_id, field, time_ns, value FROM {t.points} "
                          f"WHERE time_ns >= ? AND time_ns < ?", (w0, w1)).fetchall()
        hot = pd.DataFrame(rows, columns=["sid", "field", "time", "value"])
        for sid, part in hot.groupby("sid", sort=False):
            span = window_ns if chunk_ns is None else chunk_ns(int(sid))
            c0 = w0 - w0 % span
            new = part.pivot_table(index="time", columns="field", values="value", aggfunc="last")
            old = _window_rows(db, t, int(sid), c0, c0 + span)
            merged = new if old is None else new.combine_first(_frame(*old))
            _store_window(db, t, int(sid), c0, c0 + span, merged, level)
        db.execute(f"DELETE FROM {t.points} WHERE time_ns >= ? AND time_ns < ?", (w0, w1))
        packed += len(rows)


def write_block(db: sqlite3.Connection, t: Tables, sid: int, times_ns: np.ndarray,
                columns: Mapping[str, np.ndarray], window_ns: int, level: int = 6) -> int:
    """Write a block of one series straight into chunks (bulk import), window by window, merged
    with what the windows already hold (the block wins). ``times_ns`` strictly increasing. Runs
    inside the caller's transaction. Returns the number of values written."""
    times = np.asarray(times_ns, dtype=np.int64)
    cols = {f: np.asarray(v, dtype=np.float64) for f, v in columns.items()}
    if times.size == 0:
        return 0
    win = times - ((times % window_ns) + window_ns) % window_ns
    edges = np.flatnonzero(np.r_[True, win[1:] != win[:-1], True])
    written = 0
    for a, b in zip(edges[:-1].tolist(), edges[1:].tolist()):
        w0 = int(win[a])
        w1 = w0 + window_ns
        part = {f: v[a:b] for f, v in cols.items()}
        written += sum(int((~np.isnan(v)).sum()) for v in part.values())
        old = _window_rows(db, t, sid, w0, w1)
        hot = db.execute(f"SELECT field, time_ns, value FROM {t.points} WHERE series_id=? AND "
                         f"time_ns >= ? AND time_ns < ?", (sid, w0, w1)).fetchall()
        if old is None and not hot:  # a fresh window: packed as it is
            _store_arrays(db, t, sid, w0, w1, times[a:b], part, level)
            continue
        merged = _frame(times[a:b], part)
        if hot:
            rows = pd.DataFrame(hot, columns=["field", "time", "value"])
            merged = merged.combine_first(rows.pivot_table(index="time", columns="field",
                                                           values="value", aggfunc="last"))
            db.execute(f"DELETE FROM {t.points} WHERE series_id=? AND time_ns >= ? AND time_ns < ?",
                       (sid, w0, w1))
        if old is not None:
            merged = merged.combine_first(_frame(*old))
        _store_window(db, t, sid, w0, w1, merged, level)
    return written


def delete_range(db: sqlite3.Connection, t: Tables, lo_ns: int, hi_ns: int,
                 sids: Sequence[int] | None, has_chunks: bool) -> int:
    """Delete the values in [lo_ns, hi_ns) (of the series ``sids``, or all): rows one by one,
    a chunk whole when its window lies inside the range. Returns the values deleted."""
    if sids is not None and not sids:
        return 0
    where_s = "" if sids is None else f" AND series_id IN ({_placeholders(len(sids))})"
    args = [] if sids is None else list(sids)
    n = db.execute(f"DELETE FROM {t.points} WHERE time_ns >= ? AND time_ns < ?{where_s}",
                   [lo_ns, hi_ns, *args]).rowcount
    if has_chunks:
        cond = f"start_ns >= ? AND end_ns <= ?{where_s}"
        nv = db.execute(f"SELECT coalesce(sum(nv), 0) FROM {t.chunks} WHERE {cond}",
                        [lo_ns, hi_ns, *args]).fetchone()[0]
        db.execute(f"DELETE FROM {t.chunks} WHERE {cond}", [lo_ns, hi_ns, *args])
        n += int(nv)
    return n


def latest_ns(db: sqlite3.Connection, t: Tables, sids: Sequence[int], fields: Sequence[str],
              has_chunks: bool) -> int | None:
    """Time of the newest value of one of ``fields`` of the series ``sids``. [ns]"""
    ph, fh = _placeholders(len(sids)), _placeholders(len(fields))
    found = [v for (v,) in [db.execute(f"SELECT max(time_ns) FROM {t.points} WHERE series_id IN ({ph}) "
                                       f"AND field IN ({fh})", [*sids, *fields]).fetchone()] if v is not None]
    if has_chunks:
        for sid in sids:  # newest chunks first; the first with one of the fields answers
            for blob, in db.execute(f"SELECT data FROM {t.chunks} WHERE series_id=? ORDER BY start_ns DESC",
                                    (sid,)):
                times, cols = decode_chunk(blob, fields)
                present = np.zeros(len(times), dtype=bool)
                for v in cols.values():
                    present |= ~np.isnan(v)
                if present.any():
                    found.append(int(times[present].max()))
                    break
    return max(found) if found else None


def stored_values(db: sqlite3.Connection, t: Tables, has_chunks: bool) -> tuple[int, int]:
    """(values in rows, values in chunks) of this namespace."""
    rows = db.execute(f"SELECT count(*) FROM {t.points}").fetchone()[0]
    packed = (db.execute(f"SELECT coalesce(sum(nv), 0) FROM {t.chunks}").fetchone()[0]
              if has_chunks else 0)
    return int(rows), int(packed)
