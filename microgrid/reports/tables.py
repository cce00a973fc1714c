"""A report summary as rows: the one layout every format (CSV, XLSX, HTML, PDF) renders.

``headline_rows`` are the figures of the one-page summary; ``summary_rows`` add the detail;
``daily_table``, ``genset_table`` and ``gap_table`` are the tabular parts. ``display`` is the
one number formatting of the human-readable formats (HTML, PDF), so a test can look for
exactly the string an officer reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from microgrid.reports.summary import LOADING_EDGES_PCT, ReportSummary

NOT_MEASURED = "not measured"
NO_DATA = "n/a"


@dataclass(frozen=True)
class Row:
    """One figure: ``section`` / ``key`` identify it, ``label`` is what a reader sees."""

    section: str
    key: str
    label: str
    value: float | str | None
    unit: str


def display(value: Any, unit: str = "") -> str:
    """The human-readable form of a value in ``unit`` (used by HTML and PDF)."""
    if value is None:
        return NO_DATA
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    v = float(value)
    if unit in ("kWh", "L", "kW"):
        return f"{v:,.0f}"
    if unit in ("%", "h", "t", "d"):
        return f"{v:,.1f}"
    if unit in ("L/person/day", "kWh/L", "kg/L"):
        return f"{v:.2f}"
    if unit == "convoys":
        return f"{v:,.1f}"
    if unit in ("", "starts", "people", "gaps"):
        return f"{v:,.0f}"
    return f"{v:,.2f}"


def headline_rows(s: ReportSummary) -> list[Row]:
    """The figures of the one-page summary, in reading order."""
    return [
        Row("renewables", "renewable_fraction_pct", "Renewable fraction (1 - genset/load)",
            s.renewable_fraction_pct, "%"),
        Row("diesel", "fuel_l", f"Diesel burnt ({s.fuel_basis})", s.fuel_l, "L"),
        Row("diesel", "fuel_l_per_person_day", "Diesel per person per day",
            s.fuel_l_per_person_day, "L/person/day"),
        Row("emissions", "co2_t", "CO2 emitted", s.co2_t, "t"),
        Row("avoided", "fuel_avoided_l", "Diesel avoided vs diesel-only camp", s.fuel_avoided_l, "L"),
        Row("avoided", "co2_avoided_t", "CO2 avoided vs diesel-only camp", s.co2_avoided_t, "t"),
        Row("energy", "load_kwh", "Camp load served", s.load_kwh, "kWh"),
        Row("energy", "pv_kwh", "PV used", s.pv_kwh, "kWh"),
        Row("energy", "genset_kwh", "Genset energy", s.genset_kwh, "kWh"),
        Row("energy", "battery_charge_kwh", "Battery in (charge)", s.battery_charge_kwh, "kWh"),
        Row("energy", "battery_discharge_kwh", "Battery out (discharge)",
            s.battery_discharge_kwh, "kWh"),
        Row("energy", "curtailed_kwh", "PV curtailed",
            NOT_MEASURED if s.curtailed_kwh is None else s.curtailed_kwh, "kWh"),
        Row("diesel", "kwh_per_l", "Genset kWh per litre", s.kwh_per_l, "kWh/L"),
        *fuel_logistics_rows(s),
        Row("data", "completeness_pct", "Data completeness", s.completeness_pct, "%"),
    ]


def fuel_logistics_rows(s: ReportSummary) -> list[Row]:
    """Diesel delivered, deliveries and convoys avoided (docs/architecture.md §12)."""
    f = s.fuel_logistics
    tanker = f"{s.tanker_size_l:,.0f} L" if s.tanker_size_l else "no tanker size in the site file"
    return [
        Row("fuel logistics", "delivered_l", "Diesel delivered", None if f is None else f.delivered_l, "L"),
        Row("fuel logistics", "deliveries", "Deliveries (convoys)", None if f is None else float(f.deliveries), ""),
        Row("fuel logistics", "convoys_avoided", f"Convoys avoided (litres avoided / {tanker})",
            s.convoys_avoided, "convoys"),
    ]


def summary_rows(s: ReportSummary) -> list[Row]:
    """Every figure of the summary (headline + detail + per genset), for CSV/XLSX."""
    p = s.period
    rows = [
        Row("report", "site", "Site", s.site, ""),
        Row("report", "mission", "Mission", s.mission, ""),
        Row("report", "period", "Period", p.label, ""),
        Row("report", "period_title", "Period (in words)", p.title, ""),
        Row("report", "first_day", "First day (local)", p.first_day.isoformat(), ""),
        Row("report", "last_day", "Last day (local)", p.last_day.isoformat(), ""),
        Row("report", "timezone", "Timezone", s.timezone, ""),
        Row("report", "start_utc", "Period start (UTC)", _iso(p.start_utc), ""),
        Row("report", "end_utc", "Period end (UTC, exclusive)", _iso(p.end_utc), ""),
        Row("report", "headcount", "Headcount", float(s.headcount), "people"),
        Row("report", "emission_factor_kg_per_l", "CO2 emission factor",
            s.emission_factor_kg_per_l, "kg/L"),
        *headline_rows(s),
        Row("diesel", "fuel_basis", "Fuel basis", s.fuel_basis, ""),
        Row("diesel", "fuel_metered_l", "Diesel metered", s.fuel_metered_l, "L"),
        Row("diesel", "fuel_estimated_l", "Diesel estimated from fuel curve",
            s.fuel_estimated_l, "L"),
        Row("avoided", "diesel_only_fuel_l", "Diesel-only counterfactual fuel",
            s.diesel_only_fuel_l, "L"),
        Row("data", "days_in_period", "Days in period", float(s.days_in_period), "d"),
        Row("data", "days_with_data", "Days with data (covered hours / 24)", s.days_with_data, "d"),
        Row("data", "gap_count", "Gaps (stretches with missing data)", float(len(s.gaps)), "gaps"),
        Row("data", "data_start_utc", "First data (UTC)", _iso(s.data_start_utc), ""),
        Row("data", "data_end_utc", "Last data end (UTC)", _iso(s.data_end_utc), ""),
        Row("method", "method", "Method", s.method, ""),
    ]
    for g in s.gensets:
        sec = f"genset {g.name}"
        rows += [Row(sec, "run_h", "Run hours", g.run_h, "h"),
                 Row(sec, "starts", "Starts", g.starts, "starts"),
                 Row(sec, "below_min_h", "Hours below minimum load", g.below_min_h, "h"),
                 Row(sec, "genset_kwh", "Energy", g.genset_kwh, "kWh"),
                 Row(sec, "fuel_l", "Diesel", g.fuel_l, "L"),
                 Row(sec, "fuel_estimated_l", "of which estimated", g.fuel_estimated_l, "L"),
                 Row(sec, "kwh_per_l", "kWh per litre", g.kwh_per_l, "kWh/L"),
                 Row(sec, "mean_loading_pct", "Mean loading while running", g.mean_loading_pct, "%")]
    return rows


DAILY_COLUMNS = (("day", "Day (local)", ""), ("load_kwh", "Load", "kWh"),
                 ("pv_kwh", "PV used", "kWh"), ("genset_kwh", "Genset", "kWh"),
                 ("battery_charge_kwh", "Battery in", "kWh"),
                 ("battery_discharge_kwh", "Battery out", "kWh"),
                 ("curtailed_kwh", "Curtailed", "kWh"), ("fuel_l", "Diesel", "L"),
                 ("renewable_fraction_pct", "Renewable", "%"),
                 ("completeness_pct", "Complete", "%"))
GENSET_COLUMNS = (("name", "Genset", ""), ("rated_kw", "Rated", "kW"), ("run_h", "Run", "h"),
                  ("starts", "Starts", "starts"), ("below_min_h", "Below min", "h"),
                  ("genset_kwh", "Energy", "kWh"), ("fuel_l", "Diesel", "L"),
                  ("fuel_estimated_l", "Estimated", "L"), ("kwh_per_l", "kWh/L", "kWh/L"),
                  ("mean_loading_pct", "Mean load", "%"))
GAP_COLUMNS = (("start_utc", "From (UTC)", ""), ("end_utc", "To (UTC)", ""),
               ("start_local", "From (local)", ""), ("missing_h", "Missing", "h"),
               ("coverage_pct", "Coverage", "%"))


def daily_table(s: ReportSummary) -> list[list[Any]]:
    """Rows of DAILY_COLUMNS (day as ``date``; None = no data)."""
    return [[getattr(d, k) for k, _, _ in DAILY_COLUMNS] for d in s.daily]


def genset_table(s: ReportSummary) -> list[list[Any]]:
    """Rows of GENSET_COLUMNS, one per genset."""
    return [[getattr(g, k) for k, _, _ in GENSET_COLUMNS] for g in s.gensets]


def gap_table(s: ReportSummary) -> list[list[Any]]:
    """Rows of GAP_COLUMNS, one per gap (times as aware datetimes)."""
    from zoneinfo import ZoneInfo
    zone = ZoneInfo(s.timezone)
    return [[g.start_utc, g.end_utc, g.start_utc.astimezone(zone).replace(tzinfo=None),
             g.missing_h, g.coverage_pct] for g in s.gaps]


def loading_band_labels() -> list[str]:
    """Labels of the genset loading bands: ``0-10 %`` ... ``>= 100 %``."""
    e = LOADING_EDGES_PCT
    return [f"{a}-{b} %" for a, b in zip(e[:-1], e[1:])] + [f">= {e[-1]} %"]


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")
