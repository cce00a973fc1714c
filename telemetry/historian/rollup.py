"""Roll-ups: per-minute and per-quarter-hour statistics of the measured readings (pure).

A camp's raw readings are kept for a configurable time (30 days by default); their roll-ups are
kept for good (docs/architecture.md §5). A roll-up tier (``1m``, ``15m``) holds, for every series
(same measurement, same tags) and bucket, five statistics per field, as fields named
``<field>__<stat>``:

=========  ===========================================================
``count``  values in the bucket
``sum``    their sum (a mean over any multiple of the bucket is sum/count)
``min``    smallest
``max``    largest
``last``   the value at the latest time in the bucket
=========  ===========================================================

so any aggregated query whose interval is a multiple of the tier's bucket gets the same answer
from the tier as from the raw readings (up to floating-point summation order; for ``last``
across several series, a tie is decided at the bucket's time, not at the points' own times).

:class:`Downsampler` turns the stream of written points into roll-up points as buckets close
(the newest reading of the site is ``grace`` past a bucket's end); a point rewritten or arriving
late re-emits its bucket while the bucket's points are still held (``keep``), later ones count
as ``late`` and stay in the raw readings only. It also emits, per site and tier, a
``rollup_watermark`` point at time 0: ``from_s`` (roll-ups exist from there on) and ``closed_s``
(every bucket before it is complete), which tells a reader which buckets the tier can answer
(:func:`route`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import numpy as np

from telemetry.historian.base import QuerySpec, parse_interval

STATS = ("count", "sum", "min", "max", "last")
WATERMARK = "rollup_watermark"
#: Measurements that are rolled up and whose raw readings expire: the measured telemetry.
#: The rest (``energy``, ``genset_energy``, ``plan``, ``forecast``, ``setpoint``,
#: ``optimizer``, ``alarm``, ``fuel``, ``fuel_delivery``...) is a record, small, and kept as written.
TELEMETRY = frozenset({"pv_inverter", "battery", "genset", "load_meter", "fuel_tank", "camp"})

Point = tuple[str, tuple, dict, int]  #: measurement, sorted tag items, fields, time [ns]


def stat_field(field_name: str, stat: str) -> str:
    """The tier's field holding ``stat`` of ``field_name`` (``power_kw__sum``)."""
    return f"{field_name}__{stat}"


@dataclass(frozen=True)
class RetentionPolicy:
    """How long raw readings stay and which roll-ups are kept (for good).

    Parameters
    ----------
    raw_days : float or None
        Raw readings of ``measurements`` are deleted this long after the newest one (and only
        once rolled up); None keeps them. [d]
    tiers : sequence of str
        Roll-up buckets, finest first, each dividing the next (``("1m", "15m")``).
    measurements : frozenset of str
        What is rolled up and expires.
    grace_s : float
        A bucket closes when the site's newest reading is this far past its end. [s]
    keep_s : float
        Points are held this long behind the newest, so late or rewritten points re-emit their
        bucket. [s]
    """

    raw_days: float | None = 30.0
    tiers: tuple[str, ...] = ("1m", "15m")
    measurements: frozenset[str] = TELEMETRY
    grace_s: float = 60.0
    keep_s: float = 1800.0

    def __post_init__(self) -> None:
        ns = [parse_interval(t) for t in self.tiers]
        if any(b % a for a, b in zip(ns, ns[1:])) or ns != sorted(ns):
            raise ValueError(f"roll-up tiers {self.tiers} must go finest first, each dividing the next")
        if self.keep_s < self.grace_s + max(ns) / 1e9:
            raise ValueError(f"keep_s ({self.keep_s:g} s) must cover grace_s plus the coarsest "
                             f"bucket ({self.grace_s + max(ns) / 1e9:g} s)")
        if self.raw_days is not None and self.raw_days <= 0:
            raise ValueError(f"raw_days must be > 0 (or None to keep raw readings), got {self.raw_days}")

    @property
    def tier_ns(self) -> dict[str, int]:
        return {t: parse_interval(t) for t in self.tiers}


def bucket_stats(times_ns: np.ndarray, columns: Mapping[str, np.ndarray], interval_ns: int
                 ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The five statistics of every field per epoch-aligned bucket.

    Parameters
    ----------
    times_ns : array of int64
        Strictly increasing times. [ns]
    columns : mapping of str to array of float64
        Values aligned with ``times_ns``; NaN = missing.
    interval_ns : int
        Bucket length. [ns]

    Returns
    -------
    (bucket starts [ns], {"<field>__<stat>": values})
        One entry per bucket holding a point; a field without a value in a bucket has NaN
        statistics there (its count too: missing, not 0).
    """
    t = np.asarray(times_ns, dtype=np.int64)
    if t.size == 0:
        return t, {}
    b = t - ((t % interval_ns) + interval_ns) % interval_ns
    starts = np.flatnonzero(np.r_[True, b[1:] != b[:-1]])
    out: dict[str, np.ndarray] = {}
    index = np.arange(t.size)
    for name, values in columns.items():
        v = np.asarray(values, dtype=np.float64)
        present = ~np.isnan(v)
        count = np.add.reduceat(present.astype(np.int64), starts).astype(np.float64)
        none = count == 0
        count[none] = np.nan
        total = np.add.reduceat(np.where(present, v, 0.0), starts)
        total[none] = np.nan
        last_i = np.maximum.reduceat(np.where(present, index, -1), starts)
        last = np.where(last_i >= 0, v[np.maximum(last_i, 0)], np.nan)
        out[stat_field(name, "count")] = count
        out[stat_field(name, "sum")] = total
        out[stat_field(name, "min")] = np.fmin.reduceat(v, starts)
        out[stat_field(name, "max")] = np.fmax.reduceat(v, starts)
        out[stat_field(name, "last")] = last
    return b[starts], out


@dataclass
class _Site:
    high_ns: int | None = None
    from_ns: int | None = None
    closed_ns: dict[str, int] = field(default_factory=dict)


def _floor(t: int, step: int) -> int:
    return t - t % step


def _ceil(t: int, step: int) -> int:
    return -((-t) // step) * step


class Downsampler:
    """Roll-up points from the stream of written points (module docstring).

    Parameters
    ----------
    policy : RetentionPolicy
    marks : mapping, optional
        ``{site: (from_ns, {tier: closed_ns})}`` already stored (a restarted writer resumes).
    """

    def __init__(self, policy: RetentionPolicy,
                 marks: Mapping[str, tuple[int, Mapping[str, int]]] | None = None) -> None:
        self.policy = policy
        self.tier_ns = policy.tier_ns
        self.coarsest_ns = max(self.tier_ns.values())
        self._grace = int(policy.grace_s * 1e9)
        self._keep = int(policy.keep_s * 1e9)
        self._sites: dict[str, _Site] = {}
        for site, (from_ns, closed) in (marks or {}).items():
            self._sites[site] = _Site(None, from_ns, dict(closed))
        self._buffer: dict[tuple[str, tuple], dict[int, dict[str, float]]] = {}
        self._dirty: dict[str, set[tuple[tuple[str, tuple], int]]] = {t: set() for t in self.tier_ns}
        self.late_points = 0  #: points too old to re-emit their bucket (raw readings only)
        self._sent_marks: dict[tuple[str, str], tuple[int, int]] = {}

    @staticmethod
    def _site_of(tags: tuple) -> str:
        return dict(tags).get("site", "")

    def add(self, points: Iterable[Point]) -> None:
        """Hold the points of rolled-up measurements and mark their buckets (others ignored)."""
        for measurement, tags, fields, t_ns in points:
            if measurement not in self.policy.measurements or not fields:
                continue
            site = self._sites.setdefault(self._site_of(tags), _Site())
            if site.from_ns is None:
                site.from_ns = _ceil(t_ns, self.coarsest_ns)
            floor_keep = self._hold_from(site)
            if t_ns < site.from_ns or (floor_keep is not None and t_ns < floor_keep):
                self.late_points += 1
                continue
            key = (measurement, tags)
            held = self._buffer.setdefault(key, {})
            held.setdefault(t_ns, {}).update(fields)
            for tier, step in self.tier_ns.items():
                self._dirty[tier].add((key, _floor(t_ns, step)))
            if site.high_ns is None or t_ns > site.high_ns:
                site.high_ns = t_ns

    def _hold_from(self, site: _Site) -> int | None:
        """Points before this are no longer held (aligned to the coarsest bucket, so a bucket
        is held whole or not at all)."""
        if site.high_ns is None:
            return None
        return _floor(site.high_ns - self._keep, self.coarsest_ns)

    def _stats(self, key: tuple[str, tuple], b0: int, b1: int) -> dict[str, float]:
        held = self._buffer.get(key, {})
        times = sorted(t for t in held if b0 <= t < b1)
        if not times:
            return {}
        names = sorted({f for t in times for f in held[t]})
        cols = {f: np.array([held[t].get(f, math.nan) for t in times], dtype=np.float64) for f in names}
        _, stats = bucket_stats(np.array(times, dtype=np.int64), cols, b1 - b0)
        return {k: float(v[0]) for k, v in stats.items() if not math.isnan(v[0])}

    def emit(self, final: bool = False) -> dict[str, list[Point]]:
        """Roll-up points of the buckets that closed (all marked buckets when ``final``, e.g.
        at shutdown, without moving ``closed``), with each site's watermark; per tier."""
        out: dict[str, list[Point]] = {t: [] for t in self.tier_ns}
        for tier, step in self.tier_ns.items():
            closed_now = {name: (None if s.high_ns is None else _floor(s.high_ns - self._grace, step))
                          for name, s in self._sites.items()}
            remaining = set()
            for key, b0 in self._dirty[tier]:
                site = self._site_of(key[1])
                limit = closed_now.get(site)
                if final or (limit is not None and b0 + step <= limit):
                    stats = self._stats(key, b0, b0 + step)
                    if stats:
                        out[tier].append((key[0], key[1], stats, b0))
                else:
                    remaining.add((key, b0))
            self._dirty[tier] = remaining
            for name, s in self._sites.items():
                limit = closed_now.get(name)
                if limit is not None and not final:
                    s.closed_ns[tier] = max(s.closed_ns.get(tier, limit), limit)
                if s.from_ns is None:
                    continue
                mark = (s.from_ns, max(s.closed_ns.get(tier, s.from_ns), s.from_ns))
                if out[tier] or self._sent_marks.get((name, tier)) != mark:
                    out[tier].append(self.watermark(name, *mark))
            out[tier].sort(key=lambda p: p[3])
        self._prune()
        return out

    @staticmethod
    def watermark(site: str, from_ns: int, closed_ns: int) -> Point:
        tags = (("site", site),) if site else ()
        return WATERMARK, tags, {"from_s": from_ns / 1e9, "closed_s": max(closed_ns, from_ns) / 1e9}, 0

    def _prune(self) -> None:
        for key in list(self._buffer):
            hold = self._hold_from(self._sites[self._site_of(key[1])])
            if hold is None:
                continue
            held = self._buffer[key]
            for t in [t for t in held if t < hold]:
                del held[t]
            if not held:
                del self._buffer[key]

    def sent(self, points: dict[str, list[Point]]) -> None:
        """Record that ``points`` (from :meth:`emit`) were stored, so an unchanged watermark is
        not written again."""
        for tier, pts in points.items():
            for m, tags, fields, _ in pts:
                if m == WATERMARK:
                    self._sent_marks[(dict(tags).get("site", ""), tier)] = (
                        int(round(fields["from_s"] * 1e9)), int(round(fields["closed_s"] * 1e9)))

    def advance(self, site: str, newest_ns: int) -> None:
        """Take ``newest_ns`` as the site's newest reading (after a bulk import). [ns]"""
        s = self._sites.setdefault(site, _Site())
        s.high_ns = newest_ns if s.high_ns is None else max(s.high_ns, newest_ns)

    def newest(self) -> dict[str, int]:
        """``{site: time of its newest rolled-up reading}`` [ns]."""
        return {name: s.high_ns for name, s in self._sites.items() if s.high_ns is not None}

    def marks(self) -> dict[str, tuple[int, dict[str, int]]]:
        """``{site: (from_ns, {tier: closed_ns})}`` as of the last :meth:`emit`."""
        return {name: (s.from_ns, dict(s.closed_ns)) for name, s in self._sites.items()
                if s.from_ns is not None}


def route(spec: QuerySpec, marks: Mapping[str, tuple[int, int]], tier_ns: Mapping[str, int]
          ) -> list[tuple[str | None, int, int]]:
    """Which source answers which part of an aggregated query: ``[(tier or None for raw,
    start_ns, end_ns)]``, in time order.

    The coarsest tier whose bucket divides the interval (and that has a watermark
    ``marks[tier] = (from_ns, closed_ns)``) answers the whole buckets of ``spec`` that lie in
    [from_ns, closed_ns) and in the query range; the rest (a bucket the range cuts, buckets not
    rolled up yet) comes from the raw readings, so both give the same answer.
    """
    start, end = spec.start_ns, spec.end_ns
    usable = sorted(((ns, name) for name, ns in tier_ns.items() if name in marks), reverse=True)
    iv = spec.interval_ns
    if spec.agg is None:
        return [(None, start, end)]
    if iv is None:
        for ns, name in usable:
            from_ns, closed_ns = marks[name]
            if start % ns == 0 and end % ns == 0 and from_ns <= start and end <= closed_ns:
                return [(name, start, end)]
        return [(None, start, end)]
    fitting = [name for ns, name in usable if iv % ns == 0]
    if not fitting:
        return [(None, start, end)]
    name = fitting[0]
    from_ns, closed_ns = marks[name]
    a = max(_ceil(start, iv), _ceil(from_ns, iv))
    b = min(_floor(end, iv), _floor(closed_ns, iv))
    if a >= b:
        return [(None, start, end)]
    parts: list[tuple[str | None, int, int]] = []
    if start < a:
        parts.append((None, start, a))
    parts.append((name, a, b))
    if b < end:
        parts.append((None, b, end))
    return parts


def tier_fields(agg: str, fields: Sequence[str]) -> tuple[str, list[str]]:
    """(aggregation over the tier, the tier fields it reads) answering ``agg`` of ``fields``."""
    if agg == "mean":
        return "sum", [stat_field(f, s) for f in fields for s in ("sum", "count")]
    stat, over = {"sum": ("sum", "sum"), "count": ("count", "sum"), "min": ("min", "min"),
                  "max": ("max", "max"), "last": ("last", "last")}[agg]
    return over, [stat_field(f, stat) for f in fields]
