"""InfluxQL semantics over long point data, in pandas (pure; the embedded store's query engine).

Input: one row per stored value, columns ``sid`` (series id), ``field``, ``time`` [ns],
``value``, and for every series its key ``skey`` (``tag=value,...`` sorted, which orders ties
as InfluxDB does) and one ``tag:<name>`` column per group tag. Output: the documented result
frame of :mod:`telemetry.historian.base` (through :func:`~telemetry.historian.base.finish_frame`).

Aggregation runs in two steps, as InfluxDB does: per series, field and bucket (``partials``),
then across the series of each group (``agg_frame``): a mean is the sum of sums over the sum of
counts, ``last`` is the value at the latest time (a tie between series goes to the first
series key).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from telemetry.historian.base import QuerySpec, finish_frame


def bucket_starts(spec: QuerySpec, times_ns: pd.Series) -> pd.Series:
    """Bucket of each time: epoch-aligned ``interval`` buckets, or ``start`` without one. [ns]"""
    iv = spec.interval_ns
    if iv is None:
        return pd.Series(spec.start_ns, index=times_ns.index, dtype="int64")
    return times_ns - ((times_ns % iv) + iv) % iv


def partials(spec: QuerySpec, long: pd.DataFrame) -> pd.DataFrame:
    """Per series, field and bucket: columns ``sid, field, time, a, b`` where ``time`` is the
    bucket start and (a, b) are (sum, count) for mean, (value, time of value) for last, and
    (aggregate, NaN) otherwise."""
    df = long.assign(bucket=bucket_starts(spec, long["time"]))
    keys = ["sid", "field", "bucket"]
    g = df.groupby(keys, sort=False)
    nan = float("nan")
    if spec.agg == "mean":
        out = pd.DataFrame({"a": g["value"].sum(), "b": g["value"].count().astype("float64")})
    elif spec.agg == "sum":
        out = pd.DataFrame({"a": g["value"].sum(), "b": nan})
    elif spec.agg == "count":
        out = pd.DataFrame({"a": g["value"].count().astype("float64"), "b": nan})
    elif spec.agg == "max":
        out = pd.DataFrame({"a": g["value"].max(), "b": nan})
    elif spec.agg == "min":
        out = pd.DataFrame({"a": g["value"].min(), "b": nan})
    else:  # last: the value at the latest time of the series in the bucket
        rows = df.loc[g["time"].idxmax()]
        out = pd.DataFrame({"a": rows["value"].to_numpy(), "b": rows["time"].to_numpy(dtype="float64")},
                           index=pd.MultiIndex.from_frame(rows[keys]))
    return out.reset_index().rename(columns={"bucket": "time"})


def _wide(spec: QuerySpec, long: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Long (keys..., field, value) -> the documented result shape."""
    # one value per (keys, field): an unstack, not an aggregation
    wide = long.dropna(subset=["value"]).set_index([*keys, "field"])["value"].unstack("field").reset_index()
    tag_cols = {t: wide[f"tag:{t}"].tolist() for t in spec.group_by_tags}
    field_cols = {f: wide[f].tolist() for f in spec.fields if f in wide.columns}
    return finish_frame(spec, wide["time"].tolist(), tag_cols, field_cols)


def raw_frame(spec: QuerySpec, long: pd.DataFrame, series: Mapping[int, tuple[str, ...]]) -> pd.DataFrame:
    """Raw points: one row per series and time with at least one requested field.

    ``series``: series id -> (series key, group tag values...). Rows come ordered by series key
    then time before the contract's sort by time (and group tags), so ties keep InfluxDB's
    series order."""
    sid = long["sid"].to_numpy(dtype=np.int64)
    t = long["time"].to_numpy(dtype=np.int64)
    keys = sorted(series, key=lambda k: series[k][0])
    rank = {k: i for i, k in enumerate(keys)}
    r = np.fromiter((rank[k] for k in sid), dtype=np.int64, count=len(sid))
    order = np.lexsort((t, r))
    r, t = r[order], t[order]
    new = np.r_[True, (r[1:] != r[:-1]) | (t[1:] != t[:-1])]
    row = np.cumsum(new) - 1
    col = pd.Categorical(long["field"].to_numpy()[order], categories=list(spec.fields)).codes
    mat = np.full((int(row[-1]) + 1 if len(row) else 0, len(spec.fields)), np.nan)
    ok = col >= 0
    mat[row[ok], col[ok]] = long["value"].to_numpy(dtype=np.float64)[order][ok]
    rows_r = r[new]
    tag_cols = {tag: [series[keys[i]][1 + j] for i in rows_r] for j, tag in enumerate(spec.group_by_tags)}
    return finish_frame(spec, t[new], tag_cols, {f: mat[:, i] for i, f in enumerate(spec.fields)})


def agg_frame(spec: QuerySpec, parts: pd.DataFrame) -> pd.DataFrame:
    """Combine :func:`partials` (with ``skey`` and group-tag columns) across the series of each
    group into the result frame."""
    keys = [*[f"tag:{t}" for t in spec.group_by_tags], "field", "time"]
    g = parts.groupby(keys, sort=False, dropna=False)
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
        s = (parts.sort_values(["b", "skey"], ascending=[False, True], kind="mergesort")
             .groupby(keys, sort=False, dropna=False)["a"].first())
    long = s.rename("value").reset_index()
    return _wide(spec, long, ["time", *[f"tag:{t}" for t in spec.group_by_tags]])
