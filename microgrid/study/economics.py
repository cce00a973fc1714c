"""What a combination costs and saves per year (pure).

Against the camp **as built** (its site file's PV and battery, same strategy, same days):

- capex: PV kWp × ``costs.pv_usd_per_kwp`` + battery kWh × ``costs.battery_usd_per_kwh`` (the whole
  plant of that size), and the part added to the camp as built;
- fuel per year: the SOC-adjusted litres of the backtest (the diesel worth of the stored energy the
  run used up added, ``BacktestResult.fuel_soc_adjusted_l``) scaled to 365 days, at
  ``costs.diesel_usd_per_l`` delivered;
- litres avoided per year, convoys avoided per year (÷ ``logistics.tanker_size_l``), tCO2 per year
  and avoided (× the site's emission factor);
- simple payback: added capex ÷ the fuel cost it saves per year (none when it saves nothing);
- renewable fraction: HOMER's, counting the stored energy the run used up as genset energy that
  has to put it back (:func:`microgrid.accounting.renewable_fraction_pct`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from microgrid.accounting import renewable_fraction_pct
from microgrid.site import Costs, Logistics, Site
from microgrid.study.spec import Sizing
from optimizer.backtest_report import BacktestResult

__all__ = ["StudyRow", "study_row"]

DAYS_PER_YEAR = 365.0


@dataclass(frozen=True)
class StudyRow:
    """One combination's figures (one row of ``results.csv``). NaN = not defined."""

    sizing: Sizing
    as_built: bool  #: the camp's own PV and battery
    days: float  #: [d]
    fuel_l: float  #: burnt over the period. [L]
    fuel_soc_adjusted_l: float  #: [L]
    renewable_fraction_pct: float  #: SOC-adjusted. [%]
    load_kwh: float  #: [kWh]
    unserved_kwh: float  #: [kWh]
    pv_kwh: float  #: PV fed. [kWh]
    curtailed_kwh: float  #: [kWh]
    genset_kwh: float  #: [kWh]
    genset_run_h: float  #: all gensets. [h]
    genset_starts: int
    reserve_shortfall_h: float  #: [h]
    fallbacks: int
    capex_usd: float  #: [USD]
    added_capex_usd: float  #: against the camp as built. [USD]
    fuel_l_per_year: float  #: SOC-adjusted. [L/a]
    fuel_cost_usd_per_year: float  #: [USD/a]
    litres_avoided_per_year: float  #: against the camp as built. [L/a]
    convoys_avoided_per_year: float  #: NaN without a tanker size. [1/a]
    co2_t_per_year: float  #: [t/a]
    co2_avoided_t_per_year: float  #: [t/a]
    payback_years: float  #: NaN when the combination saves no fuel cost. [a]


def capex_usd(costs: Costs, pv_kwp: float, battery_kwh: float) -> float:
    """Installed cost of a camp's PV and battery. [USD]"""
    return pv_kwp * costs.pv_usd_per_kwp + battery_kwh * costs.battery_usd_per_kwh


def study_row(site: Site, costs: Costs, logistics: Logistics | None, sizing: Sizing, result: BacktestResult,
              as_built: Sizing, as_built_result: BacktestResult | None) -> StudyRow:
    """The figures of ``result`` (the merged backtest of ``sizing``) against the camp as built.

    ``as_built_result`` is the backtest of the camp as built with the same strategy (None when it
    failed: the figures against it are NaN).
    """
    per_year = DAYS_PER_YEAR / result.days
    fuel_year = result.fuel_soc_adjusted_l * per_year
    base_year = math.nan if as_built_result is None else as_built_result.fuel_soc_adjusted_l * DAYS_PER_YEAR / (
        as_built_result.days)
    avoided = base_year - fuel_year
    capex = capex_usd(costs, sizing.pv_kwp, sizing.battery_kwh)
    added = capex - capex_usd(costs, as_built.pv_kwp, as_built.battery_kwh)
    saved_usd = avoided * costs.diesel_usd_per_l
    factor_t = site.emission_factor_kg_per_l / 1000.0
    return StudyRow(
        sizing=sizing, as_built=(sizing.pv_kwp, sizing.battery_kwh) == (as_built.pv_kwp, as_built.battery_kwh),
        days=result.days, fuel_l=result.fuel_l, fuel_soc_adjusted_l=result.fuel_soc_adjusted_l,
        renewable_fraction_pct=soc_adjusted_renewable_fraction_pct(site, result),
        load_kwh=result.load_kwh, unserved_kwh=result.unserved_kwh, pv_kwh=result.pv_kwh,
        curtailed_kwh=result.curtailed_kwh, genset_kwh=result.genset_kwh, genset_run_h=result.genset_run_h_total,
        genset_starts=result.genset_starts_total, reserve_shortfall_h=result.reserve_shortfall_h,
        fallbacks=result.fallbacks, capex_usd=capex, added_capex_usd=added, fuel_l_per_year=fuel_year,
        fuel_cost_usd_per_year=fuel_year * costs.diesel_usd_per_l, litres_avoided_per_year=avoided,
        convoys_avoided_per_year=avoided / logistics.tanker_size_l if logistics is not None else math.nan,
        co2_t_per_year=fuel_year * factor_t, co2_avoided_t_per_year=avoided * factor_t,
        payback_years=_payback(added, saved_usd))


def soc_adjusted_renewable_fraction_pct(site: Site, result: BacktestResult) -> float:
    """HOMER's renewable fraction with the stored energy the run used up counted as genset energy
    (``soc_change_l`` back in kWh at the marginal rate it was valued at). [%]"""
    f1 = min((g.fuel_f1_l_per_kwh for g in site.gensets), default=math.nan)
    restore_kwh = result.soc_change_l / f1 if site.gensets and result.soc_change_l else 0.0
    return renewable_fraction_pct(result.genset_kwh + restore_kwh, result.served_kwh)


def _payback(added_usd: float, saved_usd_per_year: float) -> float:
    if not (saved_usd_per_year > 0):
        return math.nan
    return max(added_usd, 0.0) / saved_usd_per_year
