"""InfluxQL for a :class:`~telemetry.historian.base.QuerySpec`, and the JSON answer back to the
documented DataFrame. Pure: no I/O (the InfluxDB backend sends the text).
"""

from __future__ import annotations

from typing import Any

from microgrid.errors import HistorianError
from telemetry.historian.base import QuerySpec, empty_frame, finish_frame


def ident(name: str) -> str:
    """A double-quoted InfluxQL identifier."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def literal(value: str) -> str:
    """A single-quoted InfluxQL string literal."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def build_influxql(spec: QuerySpec, retention_policy: str | None = None) -> str:
    """The SELECT statement that answers ``spec`` with the historian's semantics.

    Times are integer nanoseconds (``time >= 1700000000000000000``), so no time-zone or
    precision parsing happens server-side; ``fill(none)`` leaves empty buckets out.
    """
    if spec.agg is None:
        cols = ", ".join(ident(f) for f in spec.fields)
    else:
        cols = ", ".join(f"{spec.agg}({ident(f)}) AS {ident(f)}" for f in spec.fields)
    source = ident(spec.measurement)
    if retention_policy:
        source = f"{ident(retention_policy)}.{source}"
    where = [f"time >= {spec.start_ns}", f"time < {spec.end_ns}"]
    where += [f"{ident(k)} = {literal(v)}" for k, v in sorted(spec.tags.items())]
    q = f"SELECT {cols} FROM {source} WHERE {' AND '.join(where)}"
    group = ([f"time({spec.interval})"] if spec.interval else []) + \
        [ident(t) for t in spec.group_by_tags]
    if group:
        q += " GROUP BY " + ", ".join(group)
    if spec.agg is not None:
        q += " fill(none)"
    return q


def frame_from_result(spec: QuerySpec, result: dict[str, Any]) -> Any:
    """One statement's result (``results[i]`` of ``/query?epoch=ns``) as the documented frame.

    Without ``interval``, an aggregate row is stamped ``start`` (InfluxQL stamps a lone selector
    such as ``last`` with the point's own time; the historian contract does not).
    """
    if "error" in result:
        raise HistorianError(f"InfluxQL error for {spec.measurement!r}: {result['error']}")
    times: list[int] = []
    tags: dict[str, list[str]] = {t: [] for t in spec.group_by_tags}
    fields: dict[str, list] = {f: [] for f in spec.fields}
    for series in result.get("series", []) or []:
        cols = series["columns"]
        stags = series.get("tags") or {}
        pos = {c: i for i, c in enumerate(cols)}
        for row in series.get("values", []) or []:
            vals = [row[pos[f]] if f in pos else None for f in spec.fields]
            if all(v is None for v in vals):
                continue
            times.append(spec.start_ns if spec.agg and not spec.interval else int(row[0]))
            for t in spec.group_by_tags:
                tags[t].append(stags.get(t, ""))
            for f, v in zip(spec.fields, vals):
                fields[f].append(v)
    if not times:
        return empty_frame(spec)
    return finish_frame(spec, times, tags, fields)
