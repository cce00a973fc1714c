"""The study's table (``results.csv``), its Pareto front and its answer (pure but for the write).

One row per combination × strategy, in the grid's order; a combination whose tasks failed has its
row with ``status`` ``failed`` and empty figures (never zeros). Numbers are written with fixed
decimals so the same study gives the same file wherever it ran.

The Pareto front is over capex and fuel per year: a row is on it when no other row has both less
(or equal) capex and less (or equal) fuel, one of them strictly less. The answer is the row of
least capex whose renewable fraction reaches the target (ties: less fuel).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from microgrid.study.economics import StudyRow
from microgrid.study.spec import Sizing

__all__ = ["COLUMNS", "Outcome", "answer_line", "least_cost", "pareto_front", "write_results_csv"]

#: (column, decimals) of results.csv after the combination columns.
COLUMNS: tuple[tuple[str, int], ...] = (
    ("days", 3), ("renewable_fraction_pct", 2), ("fuel_l", 1), ("fuel_soc_adjusted_l", 1),
    ("fuel_l_per_year", 0), ("fuel_cost_usd_per_year", 0), ("litres_avoided_per_year", 0),
    ("convoys_avoided_per_year", 2), ("co2_t_per_year", 1), ("co2_avoided_t_per_year", 1),
    ("capex_usd", 0), ("added_capex_usd", 0), ("payback_years", 2), ("load_kwh", 1), ("unserved_kwh", 2),
    ("pv_kwh", 1), ("curtailed_kwh", 1), ("genset_kwh", 1), ("genset_run_h", 2), ("genset_starts", 0),
    ("reserve_shortfall_h", 2), ("fallbacks", 0),
)
HEADER = ("pv_kwp", "battery_kwh", "strategy", "status", "as_built", *(c for c, _ in COLUMNS), "pareto",
          "meets_target")


@dataclass(frozen=True)
class Outcome:
    """One combination of the grid: its figures, or the error that stopped it."""

    sizing: Sizing
    row: StudyRow | None
    error: str = ""


def pareto_front(rows: list[StudyRow]) -> list[StudyRow]:
    """Rows no other row beats on both capex and fuel per year (module docstring), by capex."""
    ok = [r for r in rows if math.isfinite(r.fuel_l_per_year)]
    front = [r for r in ok if not any(_dominates(o, r) for o in ok)]
    return sorted(front, key=lambda r: (r.capex_usd, r.fuel_l_per_year))


def _dominates(a: StudyRow, b: StudyRow) -> bool:
    return (a.capex_usd <= b.capex_usd and a.fuel_l_per_year <= b.fuel_l_per_year
            and (a.capex_usd < b.capex_usd or a.fuel_l_per_year < b.fuel_l_per_year))


def least_cost(rows: list[StudyRow], target_pct: float) -> StudyRow | None:
    """The row of least capex reaching ``target_pct`` renewable (ties: less fuel), or None."""
    reach = [r for r in rows if r.renewable_fraction_pct >= target_pct and r.unserved_kwh < 1e-6]
    return min(reach, key=lambda r: (r.capex_usd, r.fuel_l_per_year), default=None)


def answer_line(rows: list[StudyRow], target_pct: float, failed: int = 0) -> str:
    """The one-line answer printed at the end of a study."""
    best = least_cost(rows, target_pct)
    tail = f" ({failed} combination(s) failed; see failures.csv)" if failed else ""
    if best is None:
        if not rows:
            return f"no combination finished{tail}"
        top = max(rows, key=lambda r: r.renewable_fraction_pct)
        return (f"no combination reaches {target_pct:g} % renewable; the highest is {top.sizing.label} at "
                f"{top.renewable_fraction_pct:.1f} %{tail}")
    s = best
    payback = f"payback {s.payback_years:.1f} years" if math.isfinite(s.payback_years) else "no payback"
    convoys = (f", {s.convoys_avoided_per_year:.1f} convoys avoided per year"
               if math.isfinite(s.convoys_avoided_per_year) else "")
    return (f"least-cost combination reaching {target_pct:g} % renewable: {s.sizing.label}: "
            f"{s.renewable_fraction_pct:.1f} % renewable, {s.fuel_l_per_year:,.0f} L of diesel per year "
            f"({s.litres_avoided_per_year:,.0f} L/year avoided against the camp as built{convoys}), "
            f"capex {s.capex_usd / 1e6:.2f} M USD (+{s.added_capex_usd / 1e6:.2f} M USD), {payback}{tail}")


def _cell(value: float | int, decimals: int) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    return f"{float(value):.{decimals}f}"


def csv_rows(outcomes: list[Outcome], target_pct: float) -> list[list[str]]:
    """The rows of results.csv (without the header)."""
    rows = [o.row for o in outcomes if o.row is not None]
    front = {id(r) for r in pareto_front(rows)}
    out = []
    for o in outcomes:
        s = o.sizing
        head = [f"{s.pv_kwp:g}", f"{s.battery_kwh:g}", s.strategy]
        if o.row is None:
            out.append(head + ["failed", ""] + [""] * len(COLUMNS) + ["", ""])
            continue
        r = o.row
        out.append(head + ["ok", "1" if r.as_built else "0"]
                   + [_cell(getattr(r, name), d) for name, d in COLUMNS]
                   + ["1" if id(r) in front else "0",
                      "1" if r.renewable_fraction_pct >= target_pct and r.unserved_kwh < 1e-6 else "0"])
    return out


def write_results_csv(path: Path, outcomes: list[Outcome], target_pct: float) -> Path:
    """Write ``results.csv``. Returns the path."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        w.writerows(csv_rows(outcomes, target_pct))
    return path
