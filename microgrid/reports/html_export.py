"""HTML export: one self-contained page (charts embedded as PNG), the one-page summary first.

Printing it gives the summary on page 1 (a page break follows it), then the charts and tables.
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

from microgrid.reports.charts import all_figures, png_bytes
from microgrid.reports.summary import ReportSummary
from microgrid.reports.tables import (
    DAILY_COLUMNS,
    GAP_COLUMNS,
    GENSET_COLUMNS,
    daily_table,
    display,
    gap_table,
    genset_table,
    headline_rows,
)

_CSS = """
body { font-family: 'DejaVu Sans', Arial, sans-serif; margin: 2em; color: #222; max-width: 60em; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.headline td:first-child { width: 26em; } .note { color: #555; font-size: 0.9em; }
.warn { color: #a33; } section.summary { page-break-after: always; }
img { max-width: 100%; }
"""


def title(s: ReportSummary) -> str:
    """Report title, shared by HTML and PDF."""
    return f"Environmental report - {s.site} ({s.mission}) - {s.period.title}"


def _unit(row) -> str:
    """A headline row's unit for display (none next to words such as 'not measured')."""
    return "" if isinstance(row.value, str) else row.unit


def completeness_sentence(s: ReportSummary, where: str = "below") -> str:
    """How complete the data is, in words (shared by HTML and PDF)."""
    p = s.period
    text = (f"Data completeness {display(s.completeness_pct, '%')} % "
            f"({display(s.days_with_data, 'd')} of {s.days_in_period} days, "
            f"{p.first_day:%d %b %Y} - {p.last_day:%d %b %Y}, {s.timezone}).")
    if s.gaps:
        missing = sum(g.missing_h for g in s.gaps)
        text += (f" {len(s.gaps)} gap(s) with {display(missing, 'h')} h of missing data are "
                 f"listed {where}; they are not filled, so totals cover only the data present.")
    else:
        text += " No gaps."
    return text


def _table(columns, rows, css: str = "") -> str:
    head = "".join(f"<th>{escape(label)}{f' [{unit}]' if unit and unit != 'starts' else ''}</th>"
                   for _, label, unit in columns)
    body = []
    for row in rows:
        cells = []
        for (_, _, unit), v in zip(columns, row):
            is_num = isinstance(v, (int, float)) or v is None
            cells.append(f"<td class='{'num' if is_num else ''}'>{escape(display(v, unit))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table class='{css}'><tr>{head}</tr>{''.join(body)}</table>"


def render_html(s: ReportSummary) -> str:
    """The report as one HTML document."""
    head = [("label", "Figure", ""), ("value", "Value", ""), ("unit", "Unit", "")]
    rows = [[r.label, display(r.value, r.unit), _unit(r)] for r in headline_rows(s)]
    charts = "".join(
        f"<p><img alt='chart {i}' src='data:image/png;base64,"
        f"{base64.b64encode(png_bytes(f)).decode()}'></p>" for i, f in enumerate(all_figures(s), 1))
    gaps = (_table(GAP_COLUMNS, gap_table(s)) if s.gaps
            else "<p>No gaps: every 15-min interval of the period has complete data.</p>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title(s))}</title>
<style>{_CSS}</style></head><body>
<section class="summary">
<h1>{escape(title(s))}</h1>
<p>Site <b>{escape(s.site)}</b>, mission <b>{escape(s.mission)}</b>, headcount {s.headcount};
period <b>{escape(s.period.label)}</b>: {escape(s.period.title)}.</p>
{_table(head, rows, "headline")}
<p class="{'warn' if s.gaps else 'note'}">{escape(completeness_sentence(s))}</p>
<p class="note"><b>Method.</b> {escape(s.method)}</p>
</section>
<h2>Charts</h2>{charts}
<h2>Gensets</h2>{_table(GENSET_COLUMNS, genset_table(s))}
<h2>Gaps (missing or partial data)</h2>{gaps}
<h2>Daily figures</h2>{_table(DAILY_COLUMNS, daily_table(s))}
</body></html>
"""


def write_html(s: ReportSummary, path: str | Path) -> Path:
    """Write the HTML report. Returns the path."""
    path = Path(path)
    path.write_text(render_html(s), encoding="utf-8")
    return path
