"""Inline SVG charts for the camp page, drawn on the server (pure: data in, markup out).

No script and no library: a chart is an ``<svg>`` with a ``viewBox`` that scales to the width of
a laptop or a phone; colours come from the page's stylesheet through class names. Each drawn
series carries ``data-series`` and ``data-points`` (values drawn), so a test can tell a chart
with data from an empty one. Times on the axes are the site's local time.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from microgrid.web.reads import Chart, PlanView

W, H = 720, 230
LEFT, RIGHT, TOP, BOTTOM = 46, 10, 10, 24
_TICK_STEPS = [timedelta(hours=h) for h in (1, 2, 3, 6, 12)] + [timedelta(days=d) for d in (1, 2, 7)]


def _nice_step(span: float, target: int = 5) -> float:
    raw = span / max(target, 1)
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def _y_bounds(chart: Chart) -> tuple[float, float] | None:
    vals = [line.values[~np.isnan(line.values)] for line in chart.lines]
    if chart.band is not None:
        vals += [b[~np.isnan(b)] for b in chart.band[1:]]
    data = np.concatenate(vals) if vals else np.empty(0)
    if data.size == 0:
        return None
    lo = min(0.0, float(data.min()))
    hi = max(float(data.max()), *(v for v, _ in chart.hlines)) if chart.hlines else float(data.max())
    if chart.y_range[0] is not None:
        lo = min(lo, chart.y_range[0])
    if chart.y_range[1] is not None:
        hi = max(hi, chart.y_range[1]) if hi > chart.y_range[1] * 0.5 else chart.y_range[1]
    if hi - lo < 1e-9:
        hi = lo + 1.0
    step = _nice_step(hi - lo)
    return math.floor(lo / step) * step, math.ceil(hi / step) * step


class _Scale:
    def __init__(self, start: datetime, end: datetime, lo: float, hi: float):
        self.t0 = pd.Timestamp(start).value
        self.span = max(pd.Timestamp(end).value - self.t0, 1)
        self.lo, self.hi = lo, hi

    def x(self, t_ns: np.ndarray | int) -> np.ndarray:
        return LEFT + (np.asarray(t_ns, dtype=float) - self.t0) / self.span * (W - LEFT - RIGHT)

    def y(self, v: np.ndarray | float) -> np.ndarray:
        return TOP + (self.hi - np.asarray(v, dtype=float)) / (self.hi - self.lo) * (H - TOP - BOTTOM)


def _runs(ok: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) index ranges of consecutive True."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(int), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def _path(xs: np.ndarray, ys: np.ndarray, ok: np.ndarray) -> str:
    parts = []
    for a, b in _runs(ok):
        pts = " L".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs[a:b], ys[a:b]))
        if b - a == 1:  # a lone point: a short tick so it shows
            pts += f" L{xs[a] + 1.5:.1f},{ys[a]:.1f}"
        parts.append("M" + pts)
    return " ".join(parts)


def _x_ticks(start: datetime, end: datetime, tz: ZoneInfo) -> list[tuple[datetime, str]]:
    span = end - start
    step = next((s for s in _TICK_STEPS if span / s <= 7), _TICK_STEPS[-1])
    local = start.astimezone(tz)
    if step < timedelta(days=1):
        first = local.replace(minute=0, second=0, microsecond=0)
        hours = step.seconds // 3600
        first += timedelta(hours=(-first.hour) % hours)
        fmt = "%H:%M"
    else:
        first = local.replace(hour=0, minute=0, second=0, microsecond=0)
        fmt = "%d %b"
    out, t = [], first
    while t < end:
        if t >= start:
            out.append((t, t.strftime(fmt) if not (fmt == "%H:%M" and t.hour == 0) else t.strftime("%d %b")))
        t = (t + step).astimezone(tz)
    return out


def _axes(scale: _Scale, chart: Chart, tz: ZoneInfo) -> list[str]:
    out = []
    step = _nice_step(scale.hi - scale.lo)
    v = scale.lo
    while v <= scale.hi + step * 1e-6:
        y = float(scale.y(v))
        out.append(f'<line class="grid" x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
                   f'<text class="tick" x="{LEFT - 4}" y="{y + 3:.1f}" text-anchor="end">{v:g}</text>')
        v += step
    for t, label in _x_ticks(chart.start, chart.end, tz):
        x = float(scale.x(pd.Timestamp(t).value))
        out.append(f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{H - BOTTOM}"/>'
                   f'<text class="tick" x="{x:.1f}" y="{H - 8}" text-anchor="middle">{escape(label)}</text>')
    return out


def render_chart(chart: Chart, tz: ZoneInfo) -> str:
    """The chart as an ``<svg>`` element (an empty frame with a note when it has no data)."""
    head = (f'<svg class="chart-svg" viewBox="0 0 {W} {H}" role="img" '
            f'aria-label="{escape(chart.title)} [{escape(chart.unit)}]" data-chart="{chart.key}">')
    bounds = _y_bounds(chart)
    if bounds is None:
        return (head + f'<text class="empty" x="{W / 2}" y="{H / 2}" text-anchor="middle">'
                f'no data in this range</text></svg>')
    scale = _Scale(chart.start, chart.end, *bounds)
    body = _axes(scale, chart, tz)
    if chart.band is not None:
        times, low, high = chart.band
        ok = ~(np.isnan(low) | np.isnan(high))
        xs = scale.x(times.as_unit("ns").asi8)
        for a, b in _runs(ok):
            top = " L".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs[a:b], scale.y(high[a:b])))
            bottom = " L".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs[a:b][::-1], scale.y(low[a:b][::-1])))
            body.append(f'<path class="band" d="M{top} L{bottom} Z"/>')
    for v, label in chart.hlines:
        y = float(scale.y(v))
        body.append(f'<line class="hline" x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}">'
                    f'<title>{escape(label)}</title></line>')
    for i, line in enumerate(chart.lines):
        ok = ~np.isnan(line.values)
        d = _path(scale.x(line.times.as_unit("ns").asi8), scale.y(np.where(ok, line.values, 0.0)), ok)
        body.append(f'<path class="line l-{escape(line.key)} l{i} {line.style}" data-series="{escape(line.key)}" '
                    f'data-points="{line.points}" d="{d}"><title>{escape(line.label)}</title></path>')
    return head + "".join(body) + "</svg>"


def render_plan(plan: PlanView, tz: ZoneInfo) -> str:
    """The next 24 h of the plan: one row per genset, a bar where it is planned to run."""
    row_h, top = 26, 8
    height = top + row_h * len(plan.units) + BOTTOM
    head = (f'<svg class="chart-svg" viewBox="0 0 {W} {height}" role="img" '
            f'aria-label="Planned genset runs, next 24 h" data-chart="plan" data-spans="{len(plan.spans)}">')
    scale = _Scale(plan.start, plan.end, 0.0, 1.0)
    body = []
    for t, label in _x_ticks(plan.start, plan.end, tz):
        x = float(scale.x(pd.Timestamp(t).value))
        body.append(f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{height - BOTTOM}"/>'
                    f'<text class="tick" x="{x:.1f}" y="{height - 8}" text-anchor="middle">{escape(label)}</text>')
    for i, unit in enumerate(plan.units):
        y = top + i * row_h
        body.append(f'<text class="unit" x="{LEFT - 4}" y="{y + row_h / 2 + 4:.1f}" text-anchor="end">'
                    f'{escape(unit)}</text><line class="grid" x1="{LEFT}" x2="{W - RIGHT}" '
                    f'y1="{y + row_h:.1f}" y2="{y + row_h:.1f}"/>')
        for s in (s for s in plan.spans if s.device == unit):
            x0 = float(scale.x(pd.Timestamp(s.start).value))
            x1 = float(scale.x(pd.Timestamp(s.end).value))
            label = (f"{unit}: {s.start.astimezone(tz):%H:%M}-{s.end.astimezone(tz):%H:%M}, "
                     f"about {s.power_kw:.0f} kW")
            body.append(f'<rect class="run u{i}" data-unit="{escape(unit)}" x="{x0:.1f}" y="{y + 4}" '
                        f'width="{max(x1 - x0, 1.0):.1f}" height="{row_h - 8}"><title>{escape(label)}</title></rect>')
    if not plan.spans:
        body.append(f'<text class="empty" x="{W / 2}" y="{top + row_h * len(plan.units) / 2 + 4:.1f}" '
                    f'text-anchor="middle">no genset planned to run</text>')
    return head + "".join(body) + "</svg>"
