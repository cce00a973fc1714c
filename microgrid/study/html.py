"""``study.html``: fuel against capex with the Pareto front, the answer, and the whole table.

One self-contained page (the chart embedded as PNG, matplotlib Agg, no pyplot state).
"""

from __future__ import annotations

import base64
import io
import math
from html import escape
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from microgrid.study.economics import StudyRow
from microgrid.study.results import HEADER, Outcome, csv_rows, least_cost, pareto_front

__all__ = ["render_study_html", "write_study_html"]

_MARKERS = {"milp": "o", "cycle-charging": "s", "load-following": "^"}


def fuel_capex_figure(rows: list[StudyRow], target_pct: float) -> Figure:
    """Fuel per year against capex: every row, the Pareto front, the rows reaching the target."""
    fig = Figure(figsize=(8.0, 4.6), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for strategy in sorted({r.sizing.strategy for r in rows}):
        mine = [r for r in rows if r.sizing.strategy == strategy]
        ax.scatter([r.capex_usd / 1e6 for r in mine], [r.fuel_l_per_year / 1e3 for r in mine],
                   marker=_MARKERS.get(strategy, "o"), color="#7f7f7f", label=strategy, zorder=2)
    reach = [r for r in rows if r.renewable_fraction_pct >= target_pct]
    if reach:
        ax.scatter([r.capex_usd / 1e6 for r in reach], [r.fuel_l_per_year / 1e3 for r in reach], s=90,
                   facecolors="none", edgecolors="#2ca02c", label=f"≥ {target_pct:g} % renewable", zorder=3)
    front = pareto_front(rows)
    ax.plot([r.capex_usd / 1e6 for r in front], [r.fuel_l_per_year / 1e3 for r in front], color="#3b7dd8",
            lw=1.2, label="Pareto front", zorder=1)
    best = least_cost(rows, target_pct)
    if best is not None:
        ax.scatter([best.capex_usd / 1e6], [best.fuel_l_per_year / 1e3], marker="*", s=260, color="#d62728",
                   label="least capex reaching the target", zorder=4)
    for r in rows:
        ax.annotate(f"{r.sizing.pv_kwp:g}/{r.sizing.battery_kwh:g}", (r.capex_usd / 1e6, r.fuel_l_per_year / 1e3),
                    fontsize=6, xytext=(3, 3), textcoords="offset points", color="#555")
    ax.set_xlabel("Capex of PV and battery [M USD]")
    ax.set_ylabel("Diesel [1,000 L per year]")
    ax.set_title("Fuel against capex (labels: PV kWp / battery kWh)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return fig


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return base64.b64encode(buf.getvalue()).decode()


def render_study_html(title: str, context: list[str], outcomes: list[Outcome], target_pct: float,
                      answer: str) -> str:
    """The page: title, what was run, the answer, the chart, the table."""
    rows = [o.row for o in outcomes if o.row is not None]
    chart = "<p>No combination finished.</p>"
    if rows:
        png = _png(fuel_capex_figure(rows, target_pct))
        chart = f"<p><img alt='fuel against capex' src='data:image/png;base64,{png}'></p>"
    head = "".join(f"<th>{escape(h)}</th>" for h in HEADER)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
                   for row in csv_rows(outcomes, target_pct))
    failed = [o for o in outcomes if o.row is None]
    fails = ("<h2>Failed</h2><ul>" + "".join(f"<li>{escape(o.sizing.label)}: {escape(o.error)}</li>"
                                               for o in failed) + "</ul>") if failed else ""
    items = "".join(f"<li>{escape(c)}</li>" for c in context)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>body {{ font-family: 'DejaVu Sans', Arial, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; font-size: 0.8em; }} th, td {{ border: 1px solid #ccc; padding: 0.15em 0.4em; }}
td {{ text-align: right; }} .answer {{ font-size: 1.1em; font-weight: bold; }} img {{ max-width: 100%; }}</style>
</head><body>
<h1>{escape(title)}</h1>
<p class="answer">{escape(answer)}</p>
<ul>{items}</ul>
{chart}
<h2>Every combination</h2>
<table><tr>{head}</tr>{body}</table>
{fails}
<p>Fuel is SOC-adjusted (the diesel worth of the stored energy a run used up is added) and scaled to a year;
avoided litres, convoys and payback are against the camp as built with the same strategy.
{'Pareto front: no other combination has both less capex and less fuel.' if math.isfinite(target_pct) else ''}</p>
</body></html>
"""


def write_study_html(path: Path, title: str, context: list[str], outcomes: list[Outcome], target_pct: float,
                     answer: str) -> Path:
    path.write_text(render_study_html(title, context, outcomes, target_pct, answer), encoding="utf-8")
    return path
