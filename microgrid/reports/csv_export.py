"""CSV export: one tidy long table of the whole report.

Columns ``section, item, metric, label, value, unit``:

- ``section`` = report / energy / renewables / diesel / emissions / avoided / data / method /
  ``genset <name>`` for the summary figures (``item`` empty);
- ``section`` = ``daily`` with ``item`` = the local date (YYYY-MM-DD), one row per figure;
- ``section`` = ``gap`` with ``item`` = the gap's number, rows start_utc / end_utc / missing_h /
  coverage_pct.

Numbers are written with 3 decimals; a missing value is an empty cell (never 0); a quantity the
site does not measure (curtailment without available-power readings) says ``not measured``.
One file, so a spreadsheet pivot (section × metric) gives the summary, the days or the gaps.
"""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

from microgrid.reports.summary import ReportSummary
from microgrid.reports.tables import DAILY_COLUMNS, GAP_COLUMNS, daily_table, gap_table, summary_rows

HEADER = ("section", "item", "metric", "label", "value", "unit")


def csv_value(v) -> str:
    """A value as written in the CSV: numbers with 3 decimals, missing = empty."""
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.isoformat().replace("+00:00", "Z")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, (int, float)):
        return f"{float(v):.3f}"
    return str(v)


def csv_rows(s: ReportSummary) -> list[tuple[str, ...]]:
    """The CSV's rows (without the header)."""
    out = [(r.section, "", r.key, r.label, csv_value(r.value), r.unit) for r in summary_rows(s)]
    for row in daily_table(s):
        day = row[0].isoformat()
        for (key, label, unit), v in zip(DAILY_COLUMNS[1:], row[1:]):
            out.append(("daily", day, key, label, csv_value(v), unit))
    for i, row in enumerate(gap_table(s), start=1):
        for (key, label, unit), v in zip(GAP_COLUMNS, row):
            if key != "start_local":
                out.append(("gap", str(i), key, label, csv_value(v), unit))
    return out


def write_csv(s: ReportSummary, path: str | Path) -> Path:
    """Write the report as one tidy CSV (UTF-8, comma separated). Returns the path."""
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        w.writerows(csv_rows(s))
    return path
