"""PDF export with matplotlib's PdfPages (no system dependencies).

Page 1 is the one-page summary an officer can forward (site, mission, period, headline figures,
completeness, method, a small daily-energy chart); page 2 the charts; page 3 gensets and gaps;
then the daily table. Fonts are embedded as TrueType (``pdf.fonttype`` 42) so the text can be
searched and extracted (``pdftotext``).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from microgrid.reports.charts import PLOTTERS, plot_daily_energy
from microgrid.reports.html_export import _unit, completeness_sentence, title
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

A4 = (8.27, 11.69)
MAX_GAPS_LISTED = 30
DAILY_ROWS_PER_PAGE = 45
_MONO = {"family": "DejaVu Sans Mono"}


def _text_table(fig: Figure, x: float, y: float, columns, rows, size: float = 7.5) -> float:
    """Fixed-width table at figure coords (x, y) going down; returns the y below it."""
    head = [label + (f" [{u}]" if u and u != "starts" else "") for _, label, u in columns]
    cells = [[display(v, u) for (_, _, u), v in zip(columns, r)] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h)
              for i, h in enumerate(head)]
    line_h = size * 1.45 / 72.0 / fig.get_figheight()

    def fmt(items):
        return "  ".join(s.rjust(w) if i else s.ljust(w) for i, (s, w) in enumerate(zip(items, widths)))

    fig.text(x, y, fmt(head), fontsize=size, weight="bold", va="top", **_MONO)
    y -= line_h
    for c in cells:
        fig.text(x, y, fmt(c), fontsize=size, va="top", **_MONO)
        y -= line_h
    return y - line_h


def _wrapped(fig: Figure, x: float, y: float, text: str, size: float = 8.5,
             width: int = 105, **kw) -> float:
    lines = textwrap.wrap(text, width)
    fig.text(x, y, "\n".join(lines), fontsize=size, va="top", linespacing=1.35, **kw)
    return y - len(lines) * size * 1.35 / 72.0 / fig.get_figheight() - 0.012


def summary_page(s: ReportSummary) -> Figure:
    """Page 1: the forwardable one-page summary."""
    fig = Figure(figsize=A4)
    fig.text(0.07, 0.955, title(s), fontsize=13, weight="bold", va="top", wrap=True)
    y = _wrapped(fig, 0.07, 0.915, f"Site {s.site}, mission {s.mission}, headcount "
                 f"{s.headcount}. Period {s.period.label}: {s.period.title}, {s.timezone}.", 9.5)
    cols = (("label", "Figure", ""), ("value", "Value", ""), ("unit", "Unit", ""))
    rows = [[r.label, display(r.value, r.unit), _unit(r)] for r in headline_rows(s)]
    y = _text_table(fig, 0.07, y - 0.01, cols, rows, size=9.5)
    y = _wrapped(fig, 0.07, y, completeness_sentence(s, 'on page 3'), 8.5,
                 color="#a33" if s.gaps else "#222")
    y = _wrapped(fig, 0.07, y, "Method. " + s.method, 7.5, width=120, color="#444")
    ax_h = min(0.30, max(0.10, y - 0.16))
    plot_daily_energy(fig.add_axes((0.10, 0.08, 0.84, ax_h)), s)
    return fig


def charts_page(s: ReportSummary) -> Figure:
    """Page 2: the three charts."""
    fig = Figure(figsize=A4, layout="constrained")
    for ax, plot in zip(fig.subplots(3, 1, height_ratios=(1.25, 1, 1.1)), PLOTTERS):
        plot(ax, s)
    return fig


def tables_page(s: ReportSummary) -> Figure:
    """Page 3: per-genset figures and the gaps."""
    fig = Figure(figsize=A4)
    fig.text(0.06, 0.96, "Gensets", fontsize=12, weight="bold", va="top")
    y = _text_table(fig, 0.06, 0.93, GENSET_COLUMNS, genset_table(s), size=7.5)
    fig.text(0.06, y - 0.01, "Gaps (missing or partial data; not filled)", fontsize=12,
             weight="bold", va="top")
    gaps = gap_table(s)
    if not gaps:
        fig.text(0.06, y - 0.04, "No gaps: every 15-min interval has complete data.", fontsize=9,
                 va="top")
        return fig
    y = _text_table(fig, 0.06, y - 0.04, GAP_COLUMNS, gaps[:MAX_GAPS_LISTED], size=7.5)
    if len(gaps) > MAX_GAPS_LISTED:
        fig.text(0.06, y, f"... and {len(gaps) - MAX_GAPS_LISTED} more gaps (full list in the "
                 "XLSX 'Gaps' sheet or the CSV).", fontsize=8, va="top")
    return fig


def daily_pages(s: ReportSummary) -> list[Figure]:
    """Pages 4+: the daily table."""
    rows = daily_table(s)
    pages = []
    for i in range(0, max(1, len(rows)), DAILY_ROWS_PER_PAGE):
        fig = Figure(figsize=A4)
        fig.text(0.05, 0.96, "Daily figures" + (" (continued)" if i else ""), fontsize=12,
                 weight="bold", va="top")
        _text_table(fig, 0.05, 0.93, DAILY_COLUMNS, rows[i:i + DAILY_ROWS_PER_PAGE], size=7)
        pages.append(fig)
    return pages


def write_pdf(s: ReportSummary, path: str | Path) -> Path:
    """Write the PDF report. Returns the path."""
    path = Path(path)
    with matplotlib.rc_context({"pdf.fonttype": 42}):
        with PdfPages(path, metadata={"Title": title(s), "Subject": "environmental report"}) as pdf:
            for fig in (summary_page(s), charts_page(s), tables_page(s), *daily_pages(s)):
                pdf.savefig(fig)
    return path
