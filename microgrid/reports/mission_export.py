"""The mission report as CSV, XLSX, HTML or PDF, with its chart (renewable fraction per camp and for
the mission against the target, and energy by source per camp).

- CSV: one tidy table ``section, camp, metric, label, value, unit``: ``mission`` rows (the
  mission's figures and its target), then ``camp`` rows (each camp's figures and flag, the last
  "camp" being the mission's totals); missing values are empty cells, never 0.
- XLSX: sheets Mission and Camps. HTML (self-contained) and PDF: the figures, the progress
  sentence, the camps table with flags, the chart and the method.
"""

from __future__ import annotations

import base64
import csv
import io
import textwrap
from html import escape
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from openpyxl import Workbook
from openpyxl.styles import Font

from microgrid.reports.charts import COLORS
from microgrid.reports.csv_export import csv_value
from microgrid.reports.export import output_path
from microgrid.reports.mission import MissionSummary
from microgrid.reports.mission_tables import CAMP_COLUMNS, camp_table, method, mission_rows, progress_sentence
from microgrid.reports.tables import display

__all__ = ["mission_figure", "write_mission_report"]


def title(m: MissionSummary) -> str:
    return f"Mission environmental report - {m.mission.name} - {m.title}"


def mission_figure(m: MissionSummary, figsize: tuple[float, float] = (8.0, 5.2)) -> Figure:
    """Renewable fraction per camp and for the mission with the target line; energy by source per camp."""
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(2, 1, height_ratios=(1, 1))
    names = [c.site.name for c in m.camps] + [f"mission {m.mission.name}"]
    rf = [c.summary.renewable_fraction_pct if c.summary is not None else None for c in m.camps]
    rf.append(m.renewable_fraction_pct)
    x = np.arange(len(names))
    ax1.bar(x, [np.nan if v is None else v for v in rf], color=[COLORS["rf"]] * len(m.camps) + ["#1f5f1f"])
    for i, v in enumerate(rf):
        ax1.text(i, 2 if v is None else v + 1.5, "no data" if v is None else f"{v:.1f} %", ha="center", fontsize=7,
                 color="#a33" if v is None else "#222")
    ax1.axhline(m.target_pct, color="#d62728", ls="--", lw=1.2,
                label=f"target {m.target_pct:g} % by {m.mission.target_year}")
    ax1.set_ylim(0, 100)
    ax1.set_xticks(x, names, fontsize=8)
    ax1.set_ylabel("Renewable fraction [%]")
    ax1.set_title(f"Renewable fraction, {m.label}")
    ax1.legend(fontsize=7, loc="upper left")
    camps = m.camps
    xc = np.arange(len(camps))
    def values(key: str) -> np.ndarray:
        return np.array([np.nan if c.summary is None or getattr(c.summary, key) is None
                         else getattr(c.summary, key) / 1000 for c in camps], float)
    pv, dis, gen = values("pv_kwh"), values("battery_discharge_kwh"), values("genset_kwh")
    ax2.bar(xc, pv, color=COLORS["pv"], label="PV used")
    ax2.bar(xc, dis, bottom=np.nan_to_num(pv), color=COLORS["battery"], label="Battery out")
    ax2.bar(xc, gen, bottom=np.nan_to_num(pv) + np.nan_to_num(dis), color=COLORS["genset"], label="Genset")
    ax2.set_xticks(xc, [c.site.name for c in camps], fontsize=8)
    ax2.set_ylabel("Energy [MWh]")
    ax2.set_title("Energy by source per camp")
    ax2.legend(fontsize=7)
    return fig


def write_mission_report(m: MissionSummary, fmt: str, path: str | Path) -> Path:
    """Render the mission report as ``fmt`` into ``path``.

    Raises
    ------
    ReportError
        Unknown format, or the output folder does not exist.
    """
    path = output_path(fmt, path)
    {"csv": _csv, "xlsx": _xlsx, "html": _html, "pdf": _pdf}[fmt](m, path)
    return path


def csv_rows(m: MissionSummary) -> list[tuple[str, ...]]:
    """The CSV's rows (without the header)."""
    out = [(r.section, "", r.key, r.label, csv_value(r.value), r.unit) for r in mission_rows(m)]
    for row in camp_table(m):
        camp = str(row[0])
        for (key, label, unit), v in zip(CAMP_COLUMNS[1:], row[1:]):
            out.append(("camp", camp, key, label, csv_value(v), unit))
    return out


def _csv(m: MissionSummary, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(("section", "camp", "metric", "label", "value", "unit"))
        w.writerows(csv_rows(m))


def _xlsx(m: MissionSummary, path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "Mission"
    ws.append(["section", "metric", "label", "value", "unit"])
    for r in mission_rows(m):
        ws.append([r.section, r.key, r.label, r.value, r.unit])
    camps = wb.create_sheet("Camps")
    camps.append([label + (f" [{unit}]" if unit else "") for _, label, unit in CAMP_COLUMNS])
    for row in camp_table(m):
        camps.append(row)
    for sheet in (ws, camps):
        for c in sheet[1]:
            c.font = Font(bold=True)
    wb.save(path)


def _png(m: MissionSummary) -> str:
    buf = io.BytesIO()
    mission_figure(m).savefig(buf, format="png", dpi=110)
    return base64.b64encode(buf.getvalue()).decode()


def _html(m: MissionSummary, path: Path) -> None:
    figures = "".join(f"<tr><td>{escape(r.label)}</td><td class='num'>{escape(display(r.value, r.unit))}</td>"
                      f"<td>{escape('' if isinstance(r.value, str) else r.unit)}</td></tr>" for r in mission_rows(m))
    head = "".join(f"<th>{escape(label)}{f' [{unit}]' if unit else ''}</th>" for _, label, unit in CAMP_COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{escape(display(v, u))}</td>" for (_, _, u), v in zip(CAMP_COLUMNS, row))
                   + "</tr>" for row in camp_table(m))
    path.write_text(f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title(m))}</title>
<style>body {{ font-family: 'DejaVu Sans', Arial, sans-serif; margin: 2em; color: #222; max-width: 70em; }}
table {{ border-collapse: collapse; margin: 0.5em 0; font-size: 0.85em; }}
th, td {{ border: 1px solid #ccc; padding: 0.2em 0.5em; }} td.num {{ text-align: right; }}
.progress {{ font-weight: bold; }} img {{ max-width: 100%; }}</style></head><body>
<h1>{escape(title(m))}</h1>
<p class="progress">{escape(progress_sentence(m))}</p>
<h2>Camps</h2><table><tr>{head}</tr>{body}</table>
<p><img alt="renewable fraction per camp" src="data:image/png;base64,{_png(m)}"></p>
<h2>Mission figures</h2><table>{figures}</table>
<p><b>Method.</b> {escape(method(m))}</p>
</body></html>
""", encoding="utf-8")


def _pdf(m: MissionSummary, path: Path) -> None:
    with matplotlib.rc_context({"pdf.fonttype": 42}):
        with PdfPages(path, metadata={"Title": title(m), "Subject": "mission environmental report"}) as pdf:
            pdf.savefig(_summary_page(m))
            pdf.savefig(mission_figure(m, (8.27, 11.69 * 0.6)))


def _summary_page(m: MissionSummary) -> Figure:
    fig = Figure(figsize=(8.27, 11.69))
    mono = {"family": "DejaVu Sans Mono"}
    fig.text(0.06, 0.96, title(m), fontsize=12, weight="bold", va="top")
    fig.text(0.06, 0.925, "\n".join(textwrap.wrap(progress_sentence(m), 100)), fontsize=9, va="top")
    lines = [f"{r.label:<58} {display(r.value, r.unit):>16} {'' if isinstance(r.value, str) else r.unit}"
             for r in mission_rows(m)]
    fig.text(0.06, 0.88, "\n".join(lines), fontsize=7.5, va="top", linespacing=1.4, **mono)
    short = {"camp": ("Camp", 16), "renewable_fraction_pct": ("RF %", 6), "fuel_l": ("Diesel L", 10),
             "co2_t": ("CO2 t", 7), "fuel_avoided_l": ("Avoided L", 10), "completeness_pct": ("Data %", 6),
             "flag": ("Flag", 44)}
    cols = [(i, *short[k]) for i, (k, _, _) in enumerate(CAMP_COLUMNS) if k in short]

    def cell(i: int, width: int, value: object) -> str:
        text = str(value) if i == 0 else display(value, CAMP_COLUMNS[i][2])
        return text[:width].ljust(width) if i == 0 or CAMP_COLUMNS[i][0] == "flag" else text[:width].rjust(width)

    head = "  ".join(name.ljust(w) if i == 0 or name == "Flag" else name.rjust(w) for i, name, w in cols)
    rows = ["  ".join(cell(i, w, row[i]) for i, _, w in cols) for row in camp_table(m)]
    fig.text(0.06, 0.49, "Camps", fontsize=11, weight="bold", va="top")
    fig.text(0.04, 0.465, "\n".join([head, *rows]), fontsize=6.5, va="top", linespacing=1.5, **mono)
    fig.text(0.06, 0.12, "\n".join(textwrap.wrap("Method. " + method(m), 120)), fontsize=7, va="top", color="#444")
    return fig
