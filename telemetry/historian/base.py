"""The historian interface: write readings, query a measurement over a time range.

Every backend (SQLite, InfluxDB 1.x/2.x, the spool in front of either) implements
:class:`Historian`, and one contract test suite checks that they answer the same query with the
same DataFrame. The semantics are InfluxQL's, because dashboards query InfluxDB directly:

- the range is ``start <= time < end`` (start inclusive, end exclusive), times in UTC;
- ``agg`` with ``interval`` groups into buckets aligned to the Unix epoch
  (``GROUP BY time(15m)``); a bucket is stamped with its start, even when that lies before
  ``start``; buckets with no point are absent (``fill(none)``), never 0;
- ``agg`` without ``interval`` gives one row stamped ``start``;
- ``last`` is the value at the latest time in the bucket (across the matched series unless
  grouped; a tie between series goes to the first series key, as InfluxDB does);
- a reading without a field has that field missing (NaN), never 0; a row appears only when at
  least one requested field has a value;
- writing the same series (measurement + tags) at the same time again overwrites the fields it
  carries and keeps the others (idempotent replay).

Result shape (:meth:`Historian.query`): a DataFrame indexed by a ``DatetimeIndex`` named
``time`` (tz UTC, ns). Columns: first one string column per tag in ``group_by_tags`` (in that
order; ``""`` for points without the tag), then one float64 column per requested field in the
requested order (NaN = missing; ``count`` values are floats too). Rows are sorted by time, then by
the group tags (points of different series at the same time in an ungrouped raw query come in
no defined order, as in InfluxQL). An empty result has the same columns and no rows.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from microgrid.errors import HistorianError
from microgrid.readings import Reading, utc

AGGREGATIONS = ("mean", "sum", "last", "max", "min", "count")
_INTERVAL = re.compile(r"^([1-9][0-9]*)(ms|s|m|h|d|w)$")
_UNIT_NS = {"ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9,
            "d": 86400 * 10**9, "w": 7 * 86400 * 10**9}


class HistorianUnavailable(HistorianError):
    """The store cannot be reached now (connection refused, timeout, 5xx); retry later."""


class WriteRejected(HistorianError):
    """The store refused a write for good (bad line protocol, field type conflict, too large);
    retrying the same batch cannot succeed."""


class HistorianAuthError(HistorianError):
    """The store refused the credentials (HTTP 401/403). The message names the URL, never the
    secret."""


def parse_interval(interval: str) -> int:
    """Length of an InfluxQL duration literal such as ``"15m"``. [ns]

    Raises
    ------
    HistorianError
        ``interval`` is not ``<positive integer><ms|s|m|h|d|w>``.
    """
    m = _INTERVAL.match(interval or "")
    if not m:
        raise HistorianError(f"interval {interval!r} is not a duration like '15m', '1h', '30s', "
                             f"'1d' (units ms, s, m, h, d, w)")
    return int(m.group(1)) * _UNIT_NS[m.group(2)]


@dataclass(frozen=True)
class QuerySpec:
    """One validated query; both backends execute it with the same meaning (module docstring).

    Parameters
    ----------
    measurement : str
        docs/architecture.md §4 measurement, e.g. ``"genset"``.
    fields : sequence of str
        Fields to return, in this column order.
    start, end : datetime
        Range ``start <= time < end``; aware (naive is taken as UTC).
    tags : mapping, optional
        Exact tag filters, e.g. ``{"site": "malakal", "device": "dg-1"}``.
    agg : str, optional
        One of ``mean sum last max min count``; None returns raw points.
    interval : str, optional
        Bucket length like ``"15m"``; only with ``agg``.
    group_by_tags : sequence of str
        Tags whose values split the result into series (one column each).
    """

    measurement: str
    fields: tuple[str, ...]
    start: datetime
    end: datetime
    tags: Mapping[str, str] = field(default_factory=dict)
    agg: str | None = None
    interval: str | None = None
    group_by_tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", tuple(self.fields))
        object.__setattr__(self, "group_by_tags", tuple(self.group_by_tags or ()))
        object.__setattr__(self, "tags", dict(self.tags or {}))
        object.__setattr__(self, "start", utc(self.start))
        object.__setattr__(self, "end", utc(self.end))
        if not self.measurement:
            raise HistorianError("query needs a measurement")
        if not self.fields:
            raise HistorianError(f"query of {self.measurement!r} names no field")
        if len(set(self.fields)) != len(self.fields):
            raise HistorianError(f"query of {self.measurement!r} repeats a field: {self.fields}")
        if self.agg is not None and self.agg not in AGGREGATIONS:
            raise HistorianError(f"agg {self.agg!r} is not one of {', '.join(AGGREGATIONS)} "
                                 f"(or None for raw points)")
        if self.interval is not None:
            if self.agg is None:
                raise HistorianError(f"interval {self.interval!r} needs an agg "
                                     f"({', '.join(AGGREGATIONS)})")
            parse_interval(self.interval)
        if self.end <= self.start:
            raise HistorianError(f"query of {self.measurement!r}: end {self.end.isoformat()} "
                                 f"is not after start {self.start.isoformat()}")

    @property
    def start_ns(self) -> int:
        return pd.Timestamp(self.start).value

    @property
    def end_ns(self) -> int:
        return pd.Timestamp(self.end).value

    @property
    def interval_ns(self) -> int | None:
        return parse_interval(self.interval) if self.interval else None


def empty_frame(spec: QuerySpec) -> pd.DataFrame:
    """The result shape with no rows."""
    idx = pd.DatetimeIndex([], tz="UTC", name="time").as_unit("ns")
    cols = {t: pd.Series([], dtype=object) for t in spec.group_by_tags}
    cols.update({f: pd.Series([], dtype="float64") for f in spec.fields})
    return pd.DataFrame(cols, index=idx)


def finish_frame(spec: QuerySpec, times_ns: Sequence[int], tag_cols: Mapping[str, Sequence[str]],
                 field_cols: Mapping[str, Sequence[float | None] | np.ndarray]) -> pd.DataFrame:
    """Assemble a result from columns (times in ns) into the documented shape, sorted by time
    then group tags. Both backends end here, so the shape cannot drift between them."""
    if len(times_ns) == 0:
        return empty_frame(spec)
    times = times_ns if isinstance(times_ns, np.ndarray) else list(times_ns)
    idx = pd.DatetimeIndex(pd.to_datetime(times, unit="ns", utc=True), name="time")
    data: dict[str, object] = {t: pd.array(list(tag_cols[t]), dtype=object)
                               for t in spec.group_by_tags}
    for f in spec.fields:
        vals = field_cols.get(f)
        if isinstance(vals, np.ndarray) and vals.dtype.kind == "f":  # already numbers: as they are
            data[f] = vals.astype("float64", copy=False)
            continue
        data[f] = (pd.array([float("nan")] * len(times_ns), dtype="float64") if vals is None else
                   pd.to_numeric(pd.Series(list(vals), dtype="object"), errors="coerce")
                   .astype("float64").to_numpy())
    df = pd.DataFrame(data, index=idx.as_unit("ns"))
    if spec.group_by_tags:
        order = df.reset_index().sort_values(["time", *spec.group_by_tags], kind="mergesort").index
        df = df.iloc[order]
    else:
        df = df.sort_index(kind="mergesort")
    return df


class Historian(ABC):
    """A time-series store of :class:`~microgrid.readings.Reading` points.

    Use as a context manager (``with open_historian(spec) as h: ...``); :meth:`close` releases
    connections. See the module docstring for the query semantics and result shape.
    """

    @abstractmethod
    def write(self, readings: Iterable[Reading]) -> None:
        """Store readings. NaN/None fields are dropped (missing stays missing).

        Raises
        ------
        HistorianUnavailable
            The store cannot be reached (retry later; the spool does).
        WriteRejected
            The store refused the data for good.
        """

    @abstractmethod
    def write_lines(self, payload: bytes) -> None:
        """Store a batch already encoded as InfluxDB line protocol (ns precision), as the
        spool keeps it. Same errors as :meth:`write`."""

    def query(self, measurement: str, fields: Sequence[str] | str, start: datetime,
              end: datetime, *, tags: Mapping[str, str] | None = None, agg: str | None = None,
              interval: str | None = None, group_by_tags: Sequence[str] = ()) -> pd.DataFrame:
        """Fields of a measurement over ``start <= time < end``.

        Parameters
        ----------
        measurement : str
            e.g. ``"genset"``.
        fields : str or sequence of str
            Field names (columns, in this order).
        start, end : datetime
            Range [UTC]; start inclusive, end exclusive.
        tags : mapping, optional
            Exact tag filters, e.g. ``{"site": "malakal", "device": "dg-1"}``.
        agg : {"mean", "sum", "last", "max", "min", "count"}, optional
            Aggregation; None for raw points.
        interval : str, optional
            Bucket length (``"15m"``), epoch-aligned; empty buckets are absent.
        group_by_tags : sequence of str
            Split into one series per value of these tags (e.g. ``("device",)``); each becomes
            a column before the fields.

        Returns
        -------
        DataFrame
            Indexed by ``time`` [UTC]; group-tag columns, then one float column per field.

        Raises
        ------
        HistorianError
            Invalid query, or the store failed it.
        """
        spec = QuerySpec(measurement, (fields,) if isinstance(fields, str) else tuple(fields),
                         start, end, tags or {}, agg, interval, tuple(group_by_tags or ()))
        return self.run_query(spec)

    @abstractmethod
    def run_query(self, spec: QuerySpec) -> pd.DataFrame:
        """Execute a validated :class:`QuerySpec` (what :meth:`query` builds)."""

    def probe(self) -> None:  # noqa: B027 -- optional hook: an embedded store has nothing to reach
        """Check the server answers (one cheap request).

        Raises
        ------
        HistorianUnavailable
            The server cannot be reached now (a spool in front keeps every reading meanwhile).
        HistorianError
            Another answer that no retry can fix (refused credentials, a missing database).
        """

    def write_columns(self, measurement: str, tags: Mapping[str, str], times_ns: np.ndarray,
                      columns: Mapping[str, np.ndarray]) -> int:
        """Store a block of one series given as columns (bulk import); NaN = missing.

        Parameters
        ----------
        times_ns : array of int64
            Strictly increasing times. [ns]
        columns : mapping of str to array of float64
            One array per field, aligned with ``times_ns``.

        Returns
        -------
        int
            Values written. This default writes readings; the embedded store packs the block
            directly.
        """
        names = list(columns)
        values = np.column_stack([np.asarray(columns[f], dtype=np.float64) for f in names]) \
            if names else np.empty((len(times_ns), 0))
        readings = [Reading(pd.Timestamp(int(t), tz="UTC"), measurement, dict(tags),
                            {f: float(v) for f, v in zip(names, row) if v == v})
                    for t, row in zip(times_ns, values)]
        self.write([r for r in readings if r.fields])
        return int((~np.isnan(values)).sum())

    def latest_time(self, measurement: str, fields: Sequence[str],
                    tags: Mapping[str, str] | None = None) -> pd.Timestamp | None:
        """Time of the newest point of ``measurement`` (matching ``tags``) that has one of
        ``fields``, or None. [UTC]

        This default asks the store for daily counts over the 1,100 days before two days from
        now (wall clock), then for the points of the newest day; backends may answer directly.
        """
        names = list(fields)
        end = pd.Timestamp.now(tz="UTC").floor("D") + pd.Timedelta(days=2)
        counts = self.query(measurement, names, end - pd.Timedelta(days=1100), end, tags=tags,
                            agg="count", interval="1d")
        if counts.empty:
            return None
        day = counts.index.max()
        points = self.query(measurement, names, day, day + pd.Timedelta(days=1), tags=tags)
        return None if points.empty else points.index.max()

    def reader(self) -> "Historian":
        """A historian to read this store from another thread or task (the camp page). This
        default is the historian itself; a backend with one connection opens another."""
        return self

    def close(self) -> None:  # noqa: B027 -- optional hook: a store without connections has nothing to close
        """Release connections (idempotent)."""

    def __enter__(self) -> "Historian":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
