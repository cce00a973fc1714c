"""The camp page's HTML: the shell (header, selectors) and the live part that refreshes (pure).

Everything from the store or the site file is escaped. Each headline figure carries its exact
value in ``data-value`` (``repr`` of the float the report computed, or empty when not known), so
the browser tests compare the page with the report to the last bit; the text shows it formatted
like the report does (:func:`microgrid.reports.tables.display`).
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Sequence
from zoneinfo import ZoneInfo

from microgrid.reports.tables import display
from microgrid.web.ranges import RANGES, PageRequest
from microgrid.web.reads import Chart, PageData
from microgrid.web.svg import render_chart, render_plan

DASH = "\u2014"


def _local(t: datetime | None, tz: ZoneInfo, fmt: str = "%d %b %H:%M") -> str:
    return DASH if t is None else t.astimezone(tz).strftime(fmt)


def _figure(key: str, label: str, value: float | None, unit: str, note: str = "") -> str:
    text = DASH if value is None else display(value, unit)
    exact = "" if value is None else repr(float(value))
    return (f'<div class="figure" data-figure="{key}" data-value="{exact}">'
            f'<div class="label">{escape(label)}</div>'
            f'<div class="value">{escape(text)}<span class="unit">{escape(unit)}</span></div>'
            f'<div class="note">{escape(note)}</div></div>')


def _headline(d: PageData) -> str:
    s = d.summary
    alarms = d.alarms.count
    cards = [
        _figure("renewable_fraction_pct", "Renewable fraction", None if s is None else s.renewable_fraction_pct,
                "%", "1 - genset kWh / load kWh"),
        _figure("fuel_l", "Diesel burnt", None if s is None else s.fuel_l, "L", s.fuel_basis if s else ""),
        _figure("fuel_avoided_l", "Diesel avoided", None if s is None else s.fuel_avoided_l, "L",
                "against the same load on gensets alone"),
        _figure("co2_t", "CO\u2082", None if s is None else s.co2_t, "t",
                f"{s.emission_factor_kg_per_l:g} kg per litre" if s else ""),
        _figure("fuel_autonomy_days", "Fuel autonomy", d.fuel_autonomy_days, "d",
                "at the plan's daily burn" if d.fuel_autonomy_days is not None else "no fuel ledger in the store"),
        _figure("active_alarms", "Active alarms", None if alarms is None else float(alarms), "",
                "" if alarms is not None else "no alarm data in the store"),
    ]
    note = ""
    if s is None:
        note = f'<p class="notice">{escape(d.summary_note or "no energy data in this range")}</p>'
    elif s.completeness_pct < 99.0:
        note = (f'<p class="notice">data completeness {s.completeness_pct:.1f} % '
                f'({len(s.gaps)} gap{"s" if len(s.gaps) != 1 else ""}); missing data is not filled</p>')
    return f'<section class="figures" aria-label="headline figures">{"".join(cards)}</section>{note}'


def _legend(chart: Chart) -> str:
    items = [f'<li class="l-{escape(line.key)} l{i} {line.style}"><span class="swatch"></span>'
             f'{escape(line.label)}</li>' for i, line in enumerate(chart.lines)]
    items += [f'<li class="hline"><span class="swatch"></span>{escape(label)}</li>' for _, label in chart.hlines]
    return f'<ul class="legend">{"".join(items)}</ul>'


def _charts(d: PageData, tz: ZoneInfo) -> str:
    out = []
    for c in d.charts:
        out.append(f'<figure class="chart" id="chart-{c.key}"><figcaption>{escape(c.title)} '
                   f'<span class="unit">[{escape(c.unit)}]</span></figcaption>{render_chart(c, tz)}'
                   f'{_legend(c)}</figure>')
    if d.plan is not None:
        strategy = f" ({escape(d.plan.strategy)})" if d.plan.strategy else ""
        out.append(f'<figure class="chart" id="chart-plan"><figcaption>Plan, next 24 h: which '
                   f'gensets run when{strategy}</figcaption>{render_plan(d.plan, tz)}</figure>')
    return f'<section class="charts">{"".join(out)}</section>'


def _devices(d: PageData, tz: ZoneInfo) -> str:
    rows = []
    for r in d.devices:
        sp = "".join(f'<li><span class="sp">{escape(p)}</span> <span class="sp-state" '
                     f'data-state="{escape(st)}">{escape(st)}</span></li>' for p, st in r.setpoints)
        alarms = DASH if r.alarms is None else str(r.alarms)
        rows.append(
            f'<tr data-device="{escape(r.name)}" data-state="{escape(r.state)}">'
            f'<th scope="row">{escape(r.name)}<div class="kind">{escape(r.kind.replace("_", " "))}</div></th>'
            f'<td><span class="state {escape(r.state.replace(" ", "-"))}">{escape(r.state)}</span></td>'
            f'<td>{escape(_local(r.last_ok, tz, "%d %b %H:%M:%S"))}<div class="values">'
            f'{escape(", ".join(r.values))}</div></td>'
            f'<td class="num">{escape(alarms)}</td><td><ul class="setpoints">{sp or DASH}</ul></td></tr>')
    return ('<section class="devices"><h2>Devices</h2><div class="scroll"><table>'
            '<thead><tr><th scope="col">device</th><th scope="col">state</th>'
            '<th scope="col">last good reading</th><th scope="col">alarms</th>'
            '<th scope="col">setpoints</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div></section>')


def render_live(d: PageData, req: PageRequest) -> str:
    """The part of the page that refreshes (``/fragment``)."""
    tz = ZoneInfo(d.site.location.timezone)
    q = escape(req.query())
    span = (f'{_local(d.start, tz)} \u2013 {_local(d.end, tz)} ({escape(d.site.location.timezone)}), '
            f'as of {_local(d.now, tz, "%d %b %Y %H:%M:%S")}')
    return (f'<div class="range" data-start="{d.start.isoformat()}" data-end="{d.end.isoformat()}" '
            f'data-now="{d.now.isoformat()}">{escape(d.range.label)}: {span}</div>'
            f'{_headline(d)}{_charts(d, tz)}{_devices(d, tz)}'
            f'<p class="reports">Environmental report for this range: '
            f'<a href="/report.html?{q}">HTML</a> \u00b7 <a href="/report.pdf?{q}">PDF</a></p>')


def render_page(d: PageData, req: PageRequest, sites: Sequence[tuple[str, str]], refresh_s: float,
                mode: str) -> str:
    """The whole page: header with the site and range selectors, the live part, the footer."""
    site = d.site
    options = "".join(f'<option value="{escape(name)}"{" selected" if name == req.site else ""}>'
                      f'{escape(label)}</option>' for name, label in sites)
    selector = ("" if len(sites) < 2 else
                f'<form class="site" method="get" action="/"><label>camp <select id="site-select" '
                f'name="site">{options}</select></label><input type="hidden" name="range" '
                f'value="{escape(req.range.key)}"><noscript><button>show</button></noscript></form>')
    ranges = "".join(
        f'<a class="range-link" href="/?{escape(PageRequest(req.site, r).query())}"'
        f'{" aria-current=page" if r.key == req.range.key else ""}>{escape(r.label)}</a>'
        for r in RANGES.values())
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{escape(site.name)} \u00b7 camp microgrid</title>"
        "<link rel=\"stylesheet\" href=\"/app.css\"><script src=\"/app.js\" defer></script></head>"
        f"<body><header><h1>{escape(site.name)} <span class=\"mission\">{escape(site.mission)}</span></h1>"
        f"<nav>{selector}<div class=\"ranges\">{ranges}</div></nav></header>"
        f"<main id=\"live\" data-src=\"/fragment?{escape(req.query())}\" data-refresh-s=\"{refresh_s:g}\" "
        f"data-generation=\"0\">{render_live(d, req)}</main>"
        f"<footer>read-only {escape(mode)} \u00b7 refreshes every {refresh_s:g} s without reloading "
        f"\u00b7 times in {escape(site.location.timezone)}</footer></body></html>")


def render_error(status: int, message: str) -> str:
    """A small page for a refused request (400, 404, 503)."""
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{status}</title><link rel=\"stylesheet\" href=\"/app.css\"></head><body>"
            f"<main><h1>{status}</h1><p class=\"error\">{escape(message)}</p><p><a href=\"/\">camp page</a>"
            "</p></main></body></html>")
