"""A mission's environmental report: every camp's report and the mission's totals (pure).

Each camp is summarised exactly as its own report (:func:`microgrid.reports.summary.summarize`,
the period in the camp's own timezone), so the mission's figures are the sums of the camp reports
for the same period (docs/architecture.md §13):

- energies, litres, tCO2, litres avoided: sums over the camps with data; a figure no camp has is
  missing (None), never 0;
- renewable fraction: HOMER's over the summed energies (``1 − Σ genset kWh / Σ load kWh``);
- litres per person per day: Σ litres / Σ (headcount × days with data);
- convoys avoided: each camp's litres avoided ÷ its tanker size (``[logistics] tanker_size_l``),
  summed; missing for a camp without a tanker size (the total then covers the others and says so);
- data completeness: Σ hours with data / Σ hours of the period over **all** camps, so a camp
  without data lowers it.

A camp without data in the period is listed and flagged, and left out of the sums (never counted
as zero); a camp with partial data is flagged with its completeness. Progress is the mission's
renewable fraction against its target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import pandas as pd

from microgrid.accounting import renewable_fraction_pct
from microgrid.errors import ReportError
from microgrid.mission import Mission
from microgrid.reports.period import Period, parse_period
from microgrid.reports.summary import ReportSummary, summarize
from microgrid.site import Site

__all__ = ["CampReport", "MissionSummary", "summarize_mission"]

#: A camp below this completeness is flagged as incomplete. [%]
COMPLETE_PCT = 99.0

Frames = tuple[pd.DataFrame, pd.DataFrame]


@dataclass(frozen=True)
class CampReport:
    """One camp of the mission: its report, or why it has none."""

    site: Site
    period: Period  #: the mission's period in the camp's timezone
    summary: ReportSummary | None
    problem: str = ""  #: why there is no summary (no data, the store failed)

    @property
    def convoys_avoided(self) -> float | None:
        """Litres avoided ÷ the camp's tanker size; None without either."""
        s = self.summary
        if s is None or s.fuel_avoided_l is None or self.site.logistics is None:
            return None
        return s.fuel_avoided_l / self.site.logistics.tanker_size_l

    @property
    def flag(self) -> str:
        """Empty for a complete camp; else what is wrong with its data."""
        if self.summary is None:
            return self.problem or "no data"
        if self.summary.completeness_pct < COMPLETE_PCT:
            return f"incomplete: {self.summary.completeness_pct:.1f} % of the period has data"
        return ""


@dataclass(frozen=True)
class MissionSummary:
    """Everything the mission report states. Energies [kWh], fuel [L], CO2 [t]; None = missing."""

    mission: Mission
    label: str  #: the period as given (``2026Q4``)
    title: str  #: the period in words
    camps: tuple[CampReport, ...]
    load_kwh: float | None
    pv_kwh: float | None
    genset_kwh: float | None
    battery_charge_kwh: float | None
    battery_discharge_kwh: float | None
    curtailed_kwh: float | None
    fuel_l: float | None
    fuel_estimated_l: float | None
    co2_t: float | None
    diesel_only_fuel_l: float | None
    fuel_avoided_l: float | None
    co2_avoided_t: float | None
    convoys_avoided: float | None
    renewable_fraction_pct: float | None
    fuel_l_per_person_day: float | None
    completeness_pct: float
    convoys_camps: tuple[str, ...]  #: camps whose convoys are counted (data and a tanker size)

    @property
    def reporting(self) -> tuple[CampReport, ...]:
        """Camps with data in the period."""
        return tuple(c for c in self.camps if c.summary is not None)

    @property
    def flagged(self) -> tuple[CampReport, ...]:
        return tuple(c for c in self.camps if c.flag)

    @property
    def target_pct(self) -> float:
        return self.mission.target_renewable_fraction_pct

    @property
    def to_target_pts(self) -> float | None:
        """Points of renewable fraction still missing to the target (negative: above it). [%-points]"""
        rf = self.renewable_fraction_pct
        return None if rf is None else self.target_pct - rf


def summarize_mission(mission: Mission, period_text: str,
                      frames: Mapping[str, Frames | ReportError]) -> MissionSummary:
    """Every camp's report for ``period_text`` and the mission's totals (module docstring).

    Parameters
    ----------
    mission : Mission
    period_text : str
        As :func:`~microgrid.reports.period.parse_period` reads it; each camp's period is in its
        own timezone.
    frames : mapping
        Site name -> its ``energy`` and ``genset_energy`` frames, or the :class:`ReportError` reading
        them raised. A camp absent from the mapping has no data.

    Raises
    ------
    ReportError
        The period cannot be read.
    """
    camps = []
    for site in mission.camps:
        period = parse_period(period_text, site.location.timezone)
        got = frames.get(site.name)
        if isinstance(got, ReportError):
            camps.append(CampReport(site, period, None, f"store: {got}"))
            continue
        try:
            summary = summarize(site, period, *got) if got is not None else None
        except ReportError:
            summary = None
        camps.append(CampReport(site, period, summary, "" if summary else f"no data in {period.label}"))
    return _totals(mission, period_text, tuple(camps))


def _sum(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(sum(present)) if present else None


def _totals(mission: Mission, label: str, camps: tuple[CampReport, ...]) -> MissionSummary:
    rep = [c.summary for c in camps if c.summary is not None]

    def total(name: str) -> float | None:
        return _sum([getattr(s, name) for s in rep])

    load, genset, fuel = total("load_kwh"), total("genset_kwh"), total("fuel_l")
    person_days = sum(s.headcount * s.days_with_data for s in rep if s.fuel_l is not None)
    covered_h = sum(c.summary.days_with_data * 24.0 for c in camps if c.summary is not None)
    period_h = sum(c.period.hours for c in camps)
    counted = [c for c in camps if c.convoys_avoided is not None]
    return MissionSummary(
        mission=mission, label=label, title=camps[0].period.title, camps=camps,
        load_kwh=load, pv_kwh=total("pv_kwh"), genset_kwh=genset,
        battery_charge_kwh=total("battery_charge_kwh"), battery_discharge_kwh=total("battery_discharge_kwh"),
        curtailed_kwh=total("curtailed_kwh"), fuel_l=fuel, fuel_estimated_l=total("fuel_estimated_l"),
        co2_t=total("co2_t"), diesel_only_fuel_l=total("diesel_only_fuel_l"),
        fuel_avoided_l=total("fuel_avoided_l"), co2_avoided_t=total("co2_avoided_t"),
        convoys_avoided=_sum([c.convoys_avoided for c in counted]),
        renewable_fraction_pct=renewable_fraction_pct(genset, load) if genset is not None and load else None,
        fuel_l_per_person_day=fuel / person_days if fuel is not None and person_days > 0 else None,
        completeness_pct=100.0 * covered_h / period_h if period_h else 0.0,
        convoys_camps=tuple(c.site.name for c in counted))
