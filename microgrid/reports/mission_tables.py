"""A mission summary as rows: the one layout its CSV, XLSX, HTML and PDF render.

``mission_rows`` are the mission's figures and its progress against the target; ``camp_table``
has one row per camp (``CAMP_COLUMNS``) and a last row of mission totals. Missing is None
(shown ``n/a``), never 0; a camp without data keeps its row, with its flag.
"""

from __future__ import annotations

from typing import Any

from microgrid.reports.mission import CampReport, MissionSummary
from microgrid.reports.tables import Row

#: (key, label, unit) of the camp table.
CAMP_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("camp", "Camp", ""), ("headcount", "People", "people"), ("load_kwh", "Load", "kWh"),
    ("pv_kwh", "PV used", "kWh"), ("genset_kwh", "Genset", "kWh"),
    ("battery_discharge_kwh", "Battery out", "kWh"), ("renewable_fraction_pct", "Renewable fraction", "%"),
    ("fuel_l", "Diesel", "L"), ("fuel_l_per_person_day", "Diesel per person per day", "L/person/day"),
    ("co2_t", "CO2", "t"), ("fuel_avoided_l", "Diesel avoided", "L"), ("convoys_avoided", "Convoys avoided", "convoys"),
    ("completeness_pct", "Data completeness", "%"), ("flag", "Flag", ""),
)


def _camp_values(c: CampReport) -> dict[str, Any]:
    s = c.summary
    out: dict[str, Any] = {"camp": c.site.name, "headcount": float(c.site.headcount), "flag": c.flag,
                           "convoys_avoided": c.convoys_avoided,
                           "completeness_pct": 0.0 if s is None else s.completeness_pct}
    for key in ("load_kwh", "pv_kwh", "genset_kwh", "battery_discharge_kwh", "renewable_fraction_pct", "fuel_l",
                "fuel_l_per_person_day", "co2_t", "fuel_avoided_l"):
        out[key] = None if s is None else getattr(s, key)
    return out


def _total_values(m: MissionSummary) -> dict[str, Any]:
    flagged = len(m.flagged)
    return {"camp": f"Mission {m.mission.name}", "headcount": float(m.mission.headcount), "load_kwh": m.load_kwh,
            "pv_kwh": m.pv_kwh, "genset_kwh": m.genset_kwh, "battery_discharge_kwh": m.battery_discharge_kwh,
            "renewable_fraction_pct": m.renewable_fraction_pct, "fuel_l": m.fuel_l,
            "fuel_l_per_person_day": m.fuel_l_per_person_day, "co2_t": m.co2_t, "fuel_avoided_l": m.fuel_avoided_l,
            "convoys_avoided": m.convoys_avoided, "completeness_pct": m.completeness_pct,
            "flag": (f"{len(m.reporting)} of {len(m.camps)} camps with data"
                     + (f", {flagged} flagged" if flagged else ""))}


def camp_table(m: MissionSummary) -> list[list[Any]]:
    """One row per camp, then the mission's totals, in ``CAMP_COLUMNS`` order."""
    rows = [_camp_values(c) for c in m.camps] + [_total_values(m)]
    return [[r[key] for key, _, _ in CAMP_COLUMNS] for r in rows]


def progress_sentence(m: MissionSummary) -> str:
    """Where the mission stands against its target, in words."""
    rf = m.renewable_fraction_pct
    target = f"{m.target_pct:g} % renewable by {m.mission.target_year}"
    if rf is None:
        return f"Target {target}: no camp has data in {m.label}."
    gap = m.to_target_pts or 0.0
    where = f"{gap:.1f} points below it" if gap > 0 else f"{-gap:.1f} points above it"
    return (f"Renewable fraction {rf:.1f} % in {m.label} over {len(m.reporting)} of {len(m.camps)} camps; "
            f"target {target}: {where}.")


def mission_rows(m: MissionSummary) -> list[Row]:
    """The mission's figures, in reading order."""
    convoys = "Convoys avoided (litres avoided / tanker size)" + (
        "" if len(m.convoys_camps) == len(m.reporting) else
        f", {', '.join(m.convoys_camps) or 'no camp'} only: the others have no tanker size")
    return [
        Row("mission", "mission", "Mission", m.mission.name, ""),
        Row("mission", "period", "Period", m.label, ""),
        Row("mission", "period_title", "Period (in words)", m.title, ""),
        Row("mission", "camps", "Camps", float(len(m.camps)), ""),
        Row("mission", "camps_with_data", "Camps with data", float(len(m.reporting)), ""),
        Row("mission", "headcount", "People on all camps", float(m.mission.headcount), "people"),
        Row("target", "target_renewable_fraction_pct", "Target renewable fraction", m.target_pct, "%"),
        Row("target", "target_year", "Target year", str(m.mission.target_year), ""),
        Row("renewables", "renewable_fraction_pct", "Renewable fraction (1 - genset/load)", m.renewable_fraction_pct,
            "%"),
        Row("target", "to_target_pts", "Points still to the target", m.to_target_pts, "%"),
        Row("diesel", "fuel_l", "Diesel burnt", m.fuel_l, "L"),
        Row("diesel", "fuel_estimated_l", "Diesel estimated from fuel curve", m.fuel_estimated_l, "L"),
        Row("diesel", "fuel_l_per_person_day", "Diesel per person per day", m.fuel_l_per_person_day, "L/person/day"),
        Row("emissions", "co2_t", "CO2 emitted", m.co2_t, "t"),
        Row("avoided", "fuel_avoided_l", "Diesel avoided vs diesel-only camps", m.fuel_avoided_l, "L"),
        Row("avoided", "co2_avoided_t", "CO2 avoided vs diesel-only camps", m.co2_avoided_t, "t"),
        Row("avoided", "convoys_avoided", convoys, m.convoys_avoided, "convoys"),
        Row("energy", "load_kwh", "Camp load served", m.load_kwh, "kWh"),
        Row("energy", "pv_kwh", "PV used", m.pv_kwh, "kWh"),
        Row("energy", "genset_kwh", "Genset energy", m.genset_kwh, "kWh"),
        Row("energy", "battery_charge_kwh", "Battery in (charge)", m.battery_charge_kwh, "kWh"),
        Row("energy", "battery_discharge_kwh", "Battery out (discharge)", m.battery_discharge_kwh, "kWh"),
        Row("energy", "curtailed_kwh", "PV curtailed (where measured)", m.curtailed_kwh, "kWh"),
        Row("data", "completeness_pct", "Data completeness (all camps)", m.completeness_pct, "%"),
    ]


def method(m: MissionSummary) -> str:
    """One paragraph of method."""
    return ("Each camp's figures are its own environmental report for the period (in the camp's local time); "
            "the mission's are their sums over the camps with data, and its renewable fraction is "
            "1 - total genset kWh / total load kWh. A camp without data is listed and flagged, never counted as "
            "zero. Litres per person per day divide the litres by people x days with data. Convoys avoided = "
            "each camp's litres avoided against a diesel-only camp / its tanker size. Data completeness is the "
            "share of all camps' hours of the period that have data.")
