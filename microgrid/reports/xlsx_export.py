"""XLSX export (openpyxl): sheets Summary, Daily, Gensets, Gaps.

Numbers are stored as numbers (full precision, display formats set per unit); a missing value is
an empty cell; times are written as naive UTC (Gaps also has a local-time column).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

from microgrid.reports.summary import ReportSummary
from microgrid.reports.tables import (
    DAILY_COLUMNS,
    GAP_COLUMNS,
    GENSET_COLUMNS,
    daily_table,
    gap_table,
    genset_table,
    loading_band_labels,
    summary_rows,
)

_FORMATS = {"kWh": "#,##0", "L": "#,##0", "%": "0.0", "h": "#,##0.0", "t": "#,##0.0",
            "d": "0.0", "L/person/day": "0.00", "kWh/L": "0.00", "kg/L": "0.00"}
_BOLD = Font(bold=True)


def _cell(v):
    if isinstance(v, datetime) and v.tzinfo is not None:
        return v.astimezone(timezone.utc).replace(tzinfo=None)
    return v


def _table(ws, columns, rows) -> None:
    ws.append([f"{label} [{unit}]" if unit and unit not in ("starts",) else label
               for _, label, unit in columns])
    for c in ws[1]:
        c.font = _BOLD
    for row in rows:
        ws.append([_cell(v) for v in row])
    for j, (_, _, unit) in enumerate(columns, start=1):
        fmt = _FORMATS.get(unit)
        for i in range(2, len(rows) + 2):
            cell = ws.cell(row=i, column=j)
            if fmt:
                cell.number_format = fmt
            elif isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif hasattr(cell.value, "isoformat"):
                cell.number_format = "yyyy-mm-dd"
    for j in range(1, len(columns) + 1):
        ws.column_dimensions[ws.cell(row=1, column=j).column_letter].width = 16


def write_xlsx(s: ReportSummary, path: str | Path) -> Path:
    """Write the report workbook. Returns the path."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Summary"
    ws.append(["section", "metric", "label", "value", "unit"])
    for c in ws[1]:
        c.font = _BOLD
    for r in summary_rows(s):
        ws.append([r.section, r.key, r.label, r.value, r.unit])
        if r.unit in _FORMATS and isinstance(r.value, float):
            ws.cell(row=ws.max_row, column=4).number_format = _FORMATS[r.unit]
    for col, width in zip("ABCDE", (14, 26, 40, 18, 14)):
        ws.column_dimensions[col].width = width
    _table(wb.create_sheet("Daily"), DAILY_COLUMNS, daily_table(s))
    bands = loading_band_labels()
    gcols = GENSET_COLUMNS + tuple((f"load_{i}", f"Run at {b}", "h") for i, b in enumerate(bands))
    _table(wb.create_sheet("Gensets"), gcols,
           [row + list(g.loading_h) for row, g in zip(genset_table(s), s.gensets)])
    gaps = wb.create_sheet("Gaps")
    _table(gaps, GAP_COLUMNS, gap_table(s))
    if not s.gaps:
        gaps.append(["no gaps: every 15-min bucket of the period has complete data"])
    wb.save(path)
    return Path(path)
