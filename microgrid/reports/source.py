"""Read a report's inputs (the ``energy`` and ``genset_energy`` roll-ups) from a historian.

Takes an open historian (anything with the historian's ``query`` method; SQLite or InfluxDB),
so this module imports no backend: the CLI opens the store. Returns the frames in the shape
:func:`microgrid.reports.summary.summarize` reads.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from microgrid.errors import HistorianError, ReportError
from microgrid.mission import Mission
from microgrid.reports.fuel_logistics import with_fuel_logistics
from microgrid.reports.period import Period, parse_period, period_from_range
from microgrid.reports.summary import ReportSummary, summarize, time_indexed
from microgrid.site import Site

ENERGY_FIELDS = ("load_kwh", "pv_kwh", "genset_kwh", "battery_charge_kwh",
                 "battery_discharge_kwh", "curtailed_kwh", "fuel_l", "fuel_estimated_l",
                 "diesel_only_fuel_l", "co2_kg", "coverage_pct")
Frames = tuple[pd.DataFrame, pd.DataFrame]
GENSET_FIELDS = ("genset_kwh", "fuel_l", "fuel_estimated_l", "run_h", "below_min_h", "starts",
                 "coverage_pct")


def read_report_frames(historian, site: Site, period: Period) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``energy`` and ``genset_energy`` rows of ``site`` in ``period``.

    Returns
    -------
    energy : DataFrame
        Index bucket start [UTC], one column per present field.
    gensets : DataFrame
        Same index, a ``device`` column and the genset fields.

    Raises
    ------
    ReportError
        The historian failed the query.
    """
    tags = {"site": site.name}
    try:
        energy = historian.query("energy", list(ENERGY_FIELDS), period.start_utc,
                                 period.end_utc, tags=tags)
        gensets = historian.query("genset_energy", list(GENSET_FIELDS), period.start_utc,
                                  period.end_utc, tags=tags, group_by_tags=["device"])
    except HistorianError as exc:
        raise ReportError(f"reading the roll-ups of site {site.name!r} for {period.label} "
                          f"failed: {exc}") from exc
    return _frame(energy), _frame(gensets)


def _frame(df: pd.DataFrame | None) -> pd.DataFrame:
    if df is None or len(df) == 0:
        return pd.DataFrame()
    df = time_indexed(df)
    return df.drop(columns=[c for c in ("site", "measurement") if c in df.columns])


def frames_from_readings(readings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``energy`` and ``genset_energy`` frames straight from readings (no store), e.g. a simulated
    history; same shape as :func:`read_report_frames`."""
    energy = [{"time": r.time, **r.present_fields()} for r in readings if r.measurement == "energy"]
    gens = [{"time": r.time, "device": r.tags.get("device"), **r.present_fields()}
            for r in readings if r.measurement == "genset_energy"]
    return _frame(pd.DataFrame(energy)), _frame(pd.DataFrame(gens))


def summarize_range(historian, site: Site, start: datetime, end: datetime,
                    label: str | None = None) -> ReportSummary:
    """The report's figures for any UTC range [start, end) — the camp page's headline figures
    are these, so the page and a report of the same range state the same numbers.

    Raises
    ------
    ReportError
        The store failed, or holds no ``energy`` row in the range.
    """
    period = period_from_range(start, end, site.location.timezone, label)
    energy, gensets = read_report_frames(historian, site, period)
    return with_fuel_logistics(historian, site, period, summarize(site, period, energy, gensets))


def read_mission_frames(historian, mission: Mission, period_text: str) -> dict[str, Frames | ReportError]:
    """Every camp's roll-ups for the period (in the camp's timezone) from one store, by site name;
    a camp whose query failed gets the error instead (the mission report flags it)."""
    out: dict[str, Frames | ReportError] = {}
    for site in mission.camps:
        period = parse_period(period_text, site.location.timezone)
        try:
            out[site.name] = read_report_frames(historian, site, period)
        except ReportError as exc:
            out[site.name] = exc
    return out
