"""Everything the camp page shows, read from a historian (any backend, through the contract).

The headline figures are the environmental report's own (:func:`~microgrid.reports.source.summarize_range`
over the page's range), so the page and a report of the same range state the same numbers. The
charts are aggregated queries the tiered store answers from its roll-ups; the device table and
the plan are raw points of the last minutes and of the next 24 h. Alarms and fuel autonomy come
from :mod:`microgrid.web.alarms_fuel`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Sequence

import numpy as np
import pandas as pd

from microgrid.errors import MicrogridError, ReportError
from microgrid.reports.source import summarize_range
from microgrid.reports.summary import ReportSummary
from microgrid.site import Site, device_kind
from microgrid.web.alarms_fuel import Alarms, fuel_autonomy_days, read_alarms
from microgrid.web.ranges import PageRange
from telemetry.historian.base import Historian
from telemetry.register_profile import Profile, load_profile

#: How far back the device table looks for a device's newest reading.
DEVICE_WINDOW = timedelta(minutes=15)
#: A device whose newest good reading is older than this many poll intervals is offline.
STALE_POLLS = 3.0
PLAN_AHEAD = timedelta(hours=24)
CAMP_FIELDS = ("pv_kw", "battery_kw", "genset_kw", "load_kw", "soc_pct")
#: Field shown in the device table, per device kind: (field, label, unit).
KEY_FIELDS = {"pv_inverter": (("ac_power_kw", "", "kW"),),
              "battery": (("power_kw", "", "kW"), ("soc_pct", "SOC", "%")),
              "genset": (("power_kw", "", "kW"), ("load_pct", "load", "%")),
              "load_meter": (("power_kw", "", "kW"),)}
SETPOINT_FIELDS = ("value", "accepted", "dry_run", "fault", "rate_limited")


@dataclass(frozen=True)
class Line:
    """One series of a chart: times [UTC] and values (NaN = no data)."""

    key: str
    label: str
    times: pd.DatetimeIndex
    values: np.ndarray
    style: str = "solid"  #: solid, dashed

    @property
    def points(self) -> int:
        return int(np.count_nonzero(~np.isnan(self.values)))


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    unit: str
    start: datetime
    end: datetime
    lines: tuple[Line, ...]
    hlines: tuple[tuple[float, str], ...] = ()  #: (value, label), drawn dashed
    band: tuple[pd.DatetimeIndex, np.ndarray, np.ndarray] | None = None  #: (times, low, high)
    y_range: tuple[float | None, float | None] = (None, None)


@dataclass(frozen=True)
class Span:
    """A genset planned on over [start, end)."""

    device: str
    start: datetime
    end: datetime
    power_kw: float  #: mean planned power. [kW]


@dataclass(frozen=True)
class PlanView:
    """The next 24 h of the newest plan: which gensets run when."""

    start: datetime
    end: datetime
    units: tuple[str, ...]
    spans: tuple[Span, ...]
    strategy: str | None


@dataclass(frozen=True)
class DeviceRow:
    name: str
    kind: str
    state: str  #: online, offline, no data
    last_ok: datetime | None
    values: tuple[str, ...]
    alarms: int | None  #: None: alarms not known
    setpoints: tuple[tuple[str, str], ...]  #: (point and value, state)


@dataclass
class PageData:
    site: Site
    range: PageRange
    start: datetime
    end: datetime
    now: datetime
    summary: ReportSummary | None
    summary_note: str | None
    alarms: Alarms
    fuel_autonomy_days: float | None
    charts: list[Chart] = field(default_factory=list)
    plan: PlanView | None = None
    devices: list[DeviceRow] = field(default_factory=list)


def store_now(store: Historian, site: Site) -> datetime | None:
    """The newest camp reading of ``site`` (a store being viewed is "now" there)."""
    t = store.latest_time("camp", list(CAMP_FIELDS), {"site": site.name})
    return None if t is None else t.to_pydatetime()


def read_page(store: Historian, site: Site, page_range: PageRange, now: datetime) -> PageData:
    """Everything the page shows for ``site`` over ``page_range`` ending at ``now``."""
    start, end = page_range.bounds(now)
    summary, note = None, None
    try:
        summary = summarize_range(store, site, start, end, label=page_range.key)
    except ReportError as exc:
        note = str(exc)
    alarms = read_alarms(store, site, now)
    data = PageData(site, page_range, start, end, now, summary, note, alarms,
                    fuel_autonomy_days(store, site, now))
    data.charts = _charts(store, site, page_range, start, end)
    data.plan = _plan(store, site, now)
    data.devices = _devices(store, site, now, alarms)
    return data


def _frame(store: Historian, measurement: str, fields: Sequence[str], start: datetime, end: datetime,
           tags: dict[str, str], **kw: Any) -> pd.DataFrame:
    return store.query(measurement, list(fields), start, end, tags=tags, **kw)


def _grid(start: datetime, end: datetime, bucket: str) -> pd.DatetimeIndex:
    return pd.date_range(start, end, freq=pd.Timedelta(bucket), inclusive="left", name="time").as_unit("ns")


def _on_grid(df: pd.DataFrame, grid: pd.DatetimeIndex, col: str, join: int = 0) -> np.ndarray:
    """``df[col]`` on the chart's buckets; ``join``: bridge up to that many empty buckets
    between two values (a 15-min plan or forecast drawn on 5-min buckets is a line, not dots)."""
    s = df[col] if col in df.columns else pd.Series(dtype=float)
    s = s.reindex(grid) if len(s) else pd.Series(np.nan, index=grid)
    if join:
        s = s.interpolate(limit=join, limit_area="inside")
    return s.to_numpy(dtype=float)


def _line(df: pd.DataFrame, grid: pd.DatetimeIndex, col: str, key: str, label: str,
          style: str = "solid", join: int = 0) -> Line:
    return Line(key, label, grid, _on_grid(df, grid, col, join), style)


def _charts(store: Historian, site: Site, r: PageRange, start: datetime, end: datetime) -> list[Chart]:
    tags = {"site": site.name}
    grid = _grid(start, end, r.bucket)
    join = max(0, int(pd.Timedelta("15min") / pd.Timedelta(r.bucket)) - 1)  # plan, forecast: 15 min
    agg = {"agg": "mean", "interval": r.bucket}
    camp = _frame(store, "camp", CAMP_FIELDS, start, end, tags, **agg)
    plan = _frame(store, "plan", ["soc_pct"], start, end, tags, **agg)
    fc = _frame(store, "forecast", ["p10_kw", "p50_kw", "p90_kw"], start, end,
                {**tags, "quantity": "pv"}, **agg)
    power = Chart("power", "Power flows", "kW", start, end, (
        _line(camp, grid, "load_kw", "load", "load"),
        _line(camp, grid, "pv_kw", "pv", "PV"),
        _line(camp, grid, "genset_kw", "genset", "gensets"),
        _line(camp, grid, "battery_kw", "battery", "battery (+ discharge)")))
    soc = Chart("soc", "Battery state of charge", "%", start, end, (
        _line(camp, grid, "soc_pct", "soc", "measured"),
        _line(plan, grid, "soc_pct", "plan", "plan", "dashed", join)), y_range=(0.0, 100.0))
    band = (grid, _on_grid(fc, grid, "p10_kw", join), _on_grid(fc, grid, "p90_kw", join)) if len(fc) else None
    pv = Chart("pv", "PV: measured and forecast", "kW", start, end, (
        _line(camp, grid, "pv_kw", "pv", "measured"),
        _line(fc, grid, "p50_kw", "forecast", "forecast (p50; band p10-p90)", "dashed", join)), band=band)
    return [power, soc, _loading(store, site, grid, start, end, agg), pv]


def _loading(store: Historian, site: Site, grid: pd.DatetimeIndex, start: datetime, end: datetime,
             agg: dict[str, str]) -> Chart:
    """Loading while running per unit: mean(load %) / mean(running) per bucket (load is 0 when
    a unit is stopped), so a unit running half a bucket at 60 % shows 60 %, not 30 %."""
    df = _frame(store, "genset", ["load_pct", "running"], start, end, {"site": site.name},
                group_by_tags=["device"], **agg)
    lines = []
    for g in site.gensets:
        part = df[df["device"] == g.name] if len(df) else df
        running = part["running"].reindex(grid) if len(part) else pd.Series(np.nan, index=grid)
        load = part["load_pct"].reindex(grid) if len(part) else pd.Series(np.nan, index=grid)
        loading = (load / running).where(running > 0.0)
        lines.append(Line(g.name, g.name, grid, loading.to_numpy(dtype=float)))
    mins = sorted({g.min_load_pct for g in site.gensets})
    hl = tuple((m, f"minimum load {m:g} %") for m in mins)
    return Chart("loading", "Genset loading while running", "%", start, end, tuple(lines), hl,
                 y_range=(0.0, 110.0))


def _plan(store: Historian, site: Site, now: datetime) -> PlanView:
    """The newest plan's steps over the next 24 h (the step holding ``now`` included), merged
    into on-spans per genset. A step lasts until the next one (the last: as long as the one
    before it)."""
    end = now + PLAN_AHEAD
    df = _frame(store, "plan_genset", ["on", "power_kw"], now - timedelta(hours=2), end,
                {"site": site.name}, group_by_tags=["device", "strategy"])
    units = tuple(g.name for g in site.gensets)
    if df.empty:
        return PlanView(now, end, units, (), None)
    df = df.reset_index()
    strategy = str(df.sort_values("time")["strategy"].iloc[-1])
    spans: list[Span] = []
    for dev, part in df.groupby("device", sort=False):
        part = part.sort_values("time")
        times = [t.to_pydatetime() for t in part["time"]]
        steps = [b - a for a, b in zip(times, times[1:])] or [timedelta(minutes=15)]
        stops = times[1:] + [times[-1] + steps[-1]]
        run: list[tuple[datetime, datetime, float]] = []
        for t, stop, on, kw in zip(times, stops, part["on"], part["power_kw"]):
            if on >= 0.5 and stop > now:
                if run and run[-1][1] == t:
                    run[-1] = (run[-1][0], stop, run[-1][2] + kw * (stop - t).total_seconds())
                else:
                    run.append((t, stop, kw * (stop - t).total_seconds()))
        for a, b, kws in run:
            lo, hi = max(a, now), min(b, end)
            if hi > lo:
                spans.append(Span(str(dev), lo, hi, kws / (b - a).total_seconds()))
    return PlanView(now, end, units, tuple(spans), strategy)


def _enum_names(profile_name: str) -> dict[str, dict[float, str]]:
    try:
        profile: Profile = load_profile(profile_name)
    except MicrogridError:
        return {}
    return {p.field: {float(code): name for name, code in p.enum} for p in profile.points if p.enum}


def _setpoint_text(point: str, value: float, names: dict[str, dict[float, str]]) -> str:
    if value != value:
        return point
    named = names.get(point, {}).get(float(value))
    return f"{point} {named}" if named else f"{point} {value:g}"


def _setpoint_state(row: Any) -> str:
    """What became of the newest decision for a point. Dry run never says "confirmed"."""
    if _true(row.dry_run):
        return "would write"
    if _true(row.rate_limited):
        return "held (rate limit)"
    if _true(row.fault):
        return "write failed"
    return "confirmed" if _true(row.accepted) else "refused"


def _true(v: Any) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v)) and v >= 0.5


def _devices(store: Historian, site: Site, now: datetime, alarms: Alarms) -> list[DeviceRow]:
    tags = {"site": site.name}
    t0, t1 = now - DEVICE_WINDOW, now + timedelta(seconds=1)
    kinds = {device_kind(d) for d in site.devices}
    latest: dict[str, pd.DataFrame] = {}
    for kind in sorted(kinds):
        fields = ["online", *[f for f, _, _ in KEY_FIELDS.get(kind, ())]]
        df = _frame(store, kind, fields, t0, t1, tags, group_by_tags=["device"])
        for dev, part in df.groupby("device", sort=False):
            latest[str(dev)] = part
    sp = _frame(store, "setpoint", SETPOINT_FIELDS, t0, t1, tags, group_by_tags=["device", "point"])
    sp_last = sp.reset_index().groupby(["device", "point"], sort=True).last() if len(sp) else None
    rows = []
    for d in site.devices:
        kind = device_kind(d)
        part = latest.get(d.name)
        state, last_ok = "no data", None
        values: tuple[str, ...] = ()
        if part is not None and len(part):
            good = part[part["online"] >= 0.5]
            if len(good):
                last_ok = good.index.max().to_pydatetime()
                row = good.loc[good.index.max()]
                values = tuple(f"{label + ' ' if label else ''}{row[f]:.1f} {unit}"
                               for f, label, unit in KEY_FIELDS.get(kind, ()) if row.get(f) == row.get(f))
            last = part.loc[part.index.max()]
            fresh = last_ok is not None and (now - last_ok).total_seconds() <= \
                STALE_POLLS * float(d.modbus.poll_interval_s) + 1.0
            state = "online" if last["online"] >= 0.5 and fresh else "offline"
        setpoints: list[tuple[str, str]] = []
        if sp_last is not None and d.name in sp_last.index.get_level_values(0):
            names = _enum_names(d.modbus.profile)
            for (_, point), srow in sp_last.loc[[d.name]].iterrows():
                setpoints.append((_setpoint_text(str(point), srow.value, names), _setpoint_state(srow)))
        count = alarms.by_device.get(d.name, 0) if alarms.known else None
        rows.append(DeviceRow(d.name, kind, state, last_ok, values, count, tuple(setpoints)))
    return rows
