"""A store that holds a camp's years: raw readings for a while, roll-ups for good.

:class:`TieredHistorian` puts a retention policy (:class:`~telemetry.historian.rollup.RetentionPolicy`)
over historians that keep the contract of :mod:`telemetry.historian.base`:

- ``raw``: the measured telemetry (device readings, ``camp`` totals), deleted once older than
  ``raw_days`` (SQLite: by this class, only what is rolled up; InfluxDB: by the retention
  policy it is written to);
- ``keep``: the records (``energy``, ``genset_energy``, ``plan``, ``forecast``, ``setpoint``,
  ``optimizer``, ``alarm``), kept as written (on SQLite the same historian as ``raw``);
- one historian per roll-up tier (``1m``, ``15m``), written by a
  :class:`~telemetry.historian.rollup.Downsampler` as buckets close, kept for good.

Queries keep the contract: raw points come from ``raw``; an aggregated query takes every whole
bucket a tier has from the coarsest tier whose bucket divides the interval, and the rest from
``raw`` (:func:`~telemetry.historian.rollup.route`), so the answer does not depend on where the
data sits, and a 30-day chart reads 2,880 quarter-hours instead of half a million readings.
docs/architecture.md §5.

A writer that fails to store roll-ups keeps them and writes them first next time (and raises,
so a spool in front keeps its batch); a reader (:meth:`reader`, another process) learns which
buckets a tier holds from the tier's ``rollup_watermark`` points.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Callable, Collection, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from microgrid.errors import HistorianError
from microgrid.readings import Reading
from telemetry.historian.base import Historian, QuerySpec, WriteRejected, empty_frame, finish_frame
from telemetry.historian.lineprotocol import LineProtocolError, parse_lines
from telemetry.historian.rollup import (
    WATERMARK,
    Downsampler,
    Point,
    RetentionPolicy,
    bucket_stats,
    route,
    tier_fields,
)
from telemetry.historian.sqlite import reading_points

log = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NS_PER_DAY = 86400 * 10**9
#: ``prune(lo_ns, hi_ns, measurements) -> values deleted``: deletes raw readings in [lo, hi).
Pruner = Callable[[int, int, Collection[str]], int]


def point_readings(points: Iterable[Point]) -> list[Reading]:
    """Points back to readings (times keep their nanoseconds)."""
    return [Reading(pd.Timestamp(t_ns, tz="UTC"), m, dict(tags), fields) for m, tags, fields, t_ns in points]


class TieredHistorian(Historian):
    """Raw readings, records and roll-up tiers behind one historian (module docstring).

    Parameters
    ----------
    raw : Historian
        Where the measured telemetry goes.
    tiers : mapping of str to Historian
        One historian per tier of ``policy.tiers``.
    policy : RetentionPolicy
    keep : Historian, optional
        Where the records go (default: ``raw``).
    prune : callable, optional
        Deletes raw readings in a time range (the embedded store); None when the store expires
        them itself (an InfluxDB retention policy).
    prepare : callable, optional
        Called before writing until it succeeds once (e.g. creating InfluxDB retention policies).
    retention_check_s : float
        Minimum wall time between two prunes. [s]
    readonly : bool
        A reader: writes raise; watermarks are read from the tiers (cached ``mark_ttl_s``).
    """

    def __init__(self, raw: Historian, tiers: Mapping[str, Historian], *, policy: RetentionPolicy,
                 keep: Historian | None = None, prune: Pruner | None = None,
                 prepare: Callable[[], None] | None = None, retention_check_s: float = 60.0,
                 readonly: bool = False, mark_ttl_s: float = 5.0) -> None:
        if set(tiers) != set(policy.tiers):
            raise HistorianError(f"tiered store: tiers {sorted(tiers)} do not match the policy's "
                                 f"{list(policy.tiers)}")
        self.raw, self.keep, self.tiers, self.policy = raw, keep or raw, dict(tiers), policy
        self._prune, self._prepare = prune, prepare
        self.retention_check_s = retention_check_s
        self.readonly = readonly
        self.mark_ttl_s = mark_ttl_s
        self._lock = threading.RLock()
        self._pending: dict[str, list[Point]] = {t: [] for t in policy.tiers}
        self._last_prune = 0.0
        self._mark_cache: tuple[float, dict[str, dict[str, tuple[int, int]]]] | None = None
        #: ``{site: (from_ns, {tier: closed_ns})}`` stored (a writer's own view)
        self._written: dict[str, tuple[int, dict[str, int]]] = {}
        self._down: Downsampler | None = None
        if not readonly:
            self._try_prepare()
            self._written = self._stored_marks()
            self._down = Downsampler(policy, self._written)

    def _try_prepare(self) -> None:
        if self._prepare is None:
            return
        try:
            self._prepare()
            self._prepare = None
        except HistorianError as exc:  # e.g. unreachable: tried again before the first write
            log.warning("tiered store not prepared yet: %s", exc)

    # -- watermarks --------------------------------------------------------------------------
    def _read_marks(self, tier: str) -> dict[str, tuple[int, int]]:
        """``{site: (from_ns, closed_ns)}`` stored in one tier ({} when the tier does not exist
        yet)."""
        try:
            df = self.tiers[tier].query(WATERMARK, ["from_s", "closed_s"], _EPOCH,
                                        _EPOCH + timedelta(seconds=1), group_by_tags=["site"])
        except HistorianError as exc:
            if "retention policy not found" in str(exc):
                return {}
            raise
        return {row.site: (int(round(row.from_s * 1e9)), int(round(row.closed_s * 1e9)))
                for row in df.itertuples() if not (np.isnan(row.from_s) or np.isnan(row.closed_s))}

    def _stored_marks(self) -> dict[str, tuple[int, dict[str, int]]]:
        try:
            per_tier = {t: self._read_marks(t) for t in self.policy.tiers}
        except HistorianError as exc:  # unreachable store: start afresh, the roll-ups resume
            log.warning("cannot read the roll-up watermarks (%s); roll-ups start from the next "
                        "reading", exc)
            return {}
        marks: dict[str, tuple[int, dict[str, int]]] = {}
        for tier, sites in per_tier.items():
            for site, (from_ns, closed_ns) in sites.items():
                f, closed = marks.setdefault(site, (from_ns, {}))
                closed[tier] = closed_ns
                marks[site] = (min(f, from_ns), closed)
        return marks

    def _marks(self, tags: Mapping[str, str]) -> dict[str, tuple[int, int]]:
        """``{tier: (from_ns, closed_ns)}`` for a query with these tag filters: the site's own,
        or, across sites, the range every site covers."""
        with self._lock:
            if self._down is not None:
                per_tier = {t: {site: (f, c[t]) for site, (f, c) in self._written.items() if t in c}
                            for t in self.policy.tiers}
            else:
                now = time.monotonic()
                if self._mark_cache is None or now - self._mark_cache[0] > self.mark_ttl_s:
                    self._mark_cache = (now, {t: self._read_marks(t) for t in self.policy.tiers})
                per_tier = self._mark_cache[1]
        site = tags.get("site")
        out: dict[str, tuple[int, int]] = {}
        for tier, marks in per_tier.items():
            if site is not None:
                if site in marks:
                    out[tier] = marks[site]
            elif marks:
                out[tier] = (max(f for f, _ in marks.values()), min(c for _, c in marks.values()))
        return out

    # -- writing -----------------------------------------------------------------------------
    def write(self, readings: Iterable[Reading]) -> None:
        self._write_points(list(reading_points(readings)))

    def write_lines(self, payload: bytes) -> None:
        try:
            points = list(parse_lines(payload))
        except (LineProtocolError, UnicodeDecodeError) as exc:
            raise WriteRejected(f"tiered store: {exc}") from exc
        self._write_points(points)

    def _write_points(self, points: list[Point]) -> None:
        if self._down is None:
            raise HistorianError("this tiered store is a reader: it does not write")
        with self._lock:
            if self._prepare is not None:
                self._prepare()
                self._prepare = None
            measured = [p for p in points if p[0] in self.policy.measurements]
            records = [p for p in points if p[0] not in self.policy.measurements]
            if self.keep is self.raw:
                self.raw.write(point_readings(points))
            else:
                if measured:
                    self.raw.write(point_readings(measured))
                if records:
                    self.keep.write(point_readings(records))
            self._down.add(measured)
            self._store_rollups(self._down.emit())
            self._maybe_prune()

    def _store_rollups(self, emitted: dict[str, list[Point]]) -> None:
        """Write pending + newly emitted roll-ups tier by tier; what fails stays pending and
        the error is raised (the caller, or the spool in front, tries again)."""
        assert self._down is not None
        for tier, pts in emitted.items():
            self._pending[tier].extend(pts)
        failure: HistorianError | None = None
        for tier in self.policy.tiers:
            todo = self._pending[tier]
            if not todo:
                continue
            try:
                self.tiers[tier].write(point_readings(todo))
            except HistorianError as exc:
                failure = failure or exc
                continue
            self._down.sent({tier: todo})
            for m, tags, fields, _ in todo:
                if m == WATERMARK:
                    site = dict(tags).get("site", "")
                    f, closed = self._written.get(site, (int(round(fields["from_s"] * 1e9)), {}))
                    closed[tier] = int(round(fields["closed_s"] * 1e9))
                    self._written[site] = (f, closed)
            self._pending[tier] = []
        if failure is not None:
            raise failure

    def write_columns(self, measurement: str, tags: Mapping[str, str], times_ns: np.ndarray,
                      columns: Mapping[str, np.ndarray]) -> int:
        """Bulk import of a block of history of one series (bench, migration), through the
        backends' column writers; telemetry is rolled up per bucket the same way as live writes
        (:func:`~telemetry.historian.rollup.bucket_stats`). The block must cover whole buckets
        and not overlap buckets still open in the live stream; declare the tiers complete with
        :meth:`set_marks` afterwards. Returns the values written (raw)."""
        if self._down is None:
            raise HistorianError("this tiered store is a reader: it does not write")
        with self._lock:
            if measurement not in self.policy.measurements:
                return self.keep.write_columns(measurement, tags, times_ns, columns)
            n = self.raw.write_columns(measurement, tags, times_ns, columns)
            for tier, step in self.policy.tier_ns.items():
                starts, stats = bucket_stats(times_ns, columns, step)
                if len(starts):
                    self.tiers[tier].write_columns(measurement, tags, starts, stats)
            return n

    def set_marks(self, site: str, from_ns: int, closed_ns: int) -> None:
        """Declare the tiers complete for ``site`` over [from_ns, closed_ns) after a bulk
        import (:meth:`write_columns`); ``closed_ns`` also counts as the site's newest reading
        for retention."""
        if self._down is None:
            raise HistorianError("this tiered store is a reader: it does not write")
        with self._lock:
            mark = Downsampler.watermark(site, from_ns, closed_ns)
            self._store_rollups({t: [mark] for t in self.policy.tiers})
            self._down = Downsampler(self.policy, self._written)
            self._down.advance(site, closed_ns)

    def _maybe_prune(self, force: bool = False) -> int:
        """Delete raw readings older than ``raw_days`` before the newest, but only those the
        tiers hold ([from, closed) of every site: data from before roll-ups began stays)."""
        if self._prune is None or self.policy.raw_days is None or self._down is None:
            return 0
        if not force and time.monotonic() - self._last_prune < self.retention_check_s:
            return 0
        self._last_prune = time.monotonic()
        newest = self._down.newest()
        spans = []
        for site, (from_ns, closed) in self._written.items():
            if site not in newest or set(closed) != set(self.policy.tiers):
                continue
            cutoff = min(newest[site] - int(self.policy.raw_days * _NS_PER_DAY), min(closed.values()))
            spans.append((from_ns, cutoff))
        if not spans:
            return 0
        lo, hi = max(f for f, _ in spans), min(c for _, c in spans)  # every site's data rolled up
        return self._prune(lo, hi, self.policy.measurements) if hi > lo else 0

    def apply_retention(self) -> int:
        """Delete the raw readings past ``raw_days`` that are rolled up, now. Returns how many."""
        with self._lock:
            return self._maybe_prune(force=True)

    def flush_rollups(self) -> None:
        """Write the roll-ups of the buckets still open (partial: at shutdown)."""
        if self._down is not None:
            with self._lock:
                self._store_rollups(self._down.emit(final=True))

    # -- reading -----------------------------------------------------------------------------
    def run_query(self, spec: QuerySpec) -> pd.DataFrame:
        if spec.measurement not in self.policy.measurements:
            return self.keep.run_query(spec)
        if spec.agg is None:
            return self.raw.run_query(spec)
        marks = self._marks(spec.tags)
        if not marks:
            return self.raw.run_query(spec)
        frames = []
        for source, a, b in route(spec, marks, self.policy.tier_ns):
            part = replace(spec, start=pd.Timestamp(a, tz="UTC"), end=pd.Timestamp(b, tz="UTC"))
            if source is None:
                frames.append(self.raw.run_query(part))
            else:
                frames.append(self._tier_query(source, part))
        return _concat(spec, frames)

    def _tier_query(self, tier: str, spec: QuerySpec) -> pd.DataFrame:
        assert spec.agg is not None
        over, fields = tier_fields(spec.agg, spec.fields)
        df = self.tiers[tier].run_query(replace(spec, fields=tuple(fields), agg=over))
        if df.empty:
            return empty_frame(spec)
        cols: dict[str, Sequence[float]] = {}
        for f in spec.fields:
            if spec.agg == "mean":
                cols[f] = (df[f"{f}__sum"] / df[f"{f}__count"]).to_numpy()
            else:
                cols[f] = df[tier_fields(spec.agg, [f])[1][0]].to_numpy()
        keep = np.zeros(len(df), dtype=bool)
        for v in cols.values():
            keep |= ~np.isnan(np.asarray(v, dtype=float))
        times = df.index.as_unit("ns").asi8[keep]
        tag_cols = {t: df[t].to_numpy()[keep].tolist() for t in spec.group_by_tags}
        return finish_frame(spec, times.tolist(), tag_cols,
                            {f: np.asarray(v)[keep].tolist() for f, v in cols.items()})

    def latest_time(self, measurement: str, fields: Sequence[str],
                    tags: Mapping[str, str] | None = None) -> pd.Timestamp | None:
        """Newest point of ``measurement`` with one of ``fields``: the raw readings', else the
        end of the newest roll-up bucket."""
        target = self.raw if measurement in self.policy.measurements else self.keep
        found = target.latest_time(measurement, fields, tags)
        if found is not None or measurement not in self.policy.measurements:
            return found
        for tier in reversed(self.policy.tiers):
            t = self.tiers[tier].latest_time(measurement, [f"{f}__count" for f in fields], tags)
            if t is not None:
                return t + pd.Timedelta(self.policy.tier_ns[tier], unit="ns")
        return None

    def probe(self) -> None:
        """Probe the store that keeps the raw readings (:meth:`Historian.probe`)."""
        self.raw.probe()

    def reader(self) -> "TieredHistorian":
        """A reader of the same store over the backends' own readers (another connection)."""
        keep = None if self.keep is self.raw else self.keep.reader()
        return TieredHistorian(self.raw.reader(), {t: h.reader() for t, h in self.tiers.items()},
                               policy=self.policy, keep=keep, readonly=True,
                               mark_ttl_s=self.mark_ttl_s)

    def rollup_status(self) -> dict[str, object]:
        """Roll-up state: policy, watermarks per site, roll-ups waiting, late points."""
        with self._lock:
            marks = {site: {"from": _iso(f), **{f"closed_{t}": _iso(c) for t, c in closed.items()}}
                     for site, (f, closed) in self._written.items()}
            return {"raw_days": self.policy.raw_days, "tiers": list(self.policy.tiers),
                    "rollups": marks, "pending_rollups": sum(map(len, self._pending.values())),
                    "late_points": 0 if self._down is None else self._down.late_points}

    def close(self) -> None:
        try:
            if self._down is not None:
                try:
                    self.flush_rollups()
                except HistorianError as exc:
                    log.warning("closing without the roll-ups of the open buckets: %s", exc)
        finally:
            stores = [self.raw, *self.tiers.values()] + ([] if self.keep is self.raw else [self.keep])
            for h in stores:
                h.close()


def _iso(ns: int) -> str:
    return pd.Timestamp(ns, tz="UTC").isoformat().replace("+00:00", "Z")


def _concat(spec: QuerySpec, frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Results of disjoint time ranges as one result, sorted as the contract says."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_frame(spec)
    if len(frames) == 1:
        return frames[0]
    df = pd.concat(frames)
    if spec.group_by_tags:
        order = df.reset_index().sort_values(["time", *spec.group_by_tags], kind="mergesort").index
        return df.iloc[order]
    return df.sort_index(kind="mergesort")
