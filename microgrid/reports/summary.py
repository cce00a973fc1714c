"""The numbers of an environmental report, computed once from the 15-min roll-ups (pure).

Every format (CSV, XLSX, HTML, PDF) renders the :class:`ReportSummary` that :func:`summarize`
returns, and the dashboards' tests compare their InfluxQL results against it, so there is one
computation of each figure.

Inputs are the historian's ``energy`` and ``genset_energy`` measurements (written by
:class:`microgrid.accounting.EnergyRollup`) as DataFrames indexed by bucket start (aware UTC;
a ``time`` column is accepted too). Missing values are NaN and stay missing: sums skip them,
completeness says how much is missing, and the gaps are listed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd

from microgrid.accounting import renewable_fraction_pct
from microgrid.errors import ReportError
from microgrid.plant.bucket import BUCKET_MIN
from microgrid.reports.period import Period
from microgrid.site import Site

#: Length of the roll-up buckets the report reads. [min]

#: Genset loading histogram bands: edges in % of rated power; the last band is "≥ 100 %".
LOADING_EDGES_PCT = (0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100)
#: A bucket with coverage below this is listed as (part of) a gap. [%]
GAP_THRESHOLD_PCT = 99.9


@dataclass(frozen=True)
class Gap:
    """A stretch of missing or partial data (consecutive 15-min buckets)."""

    start_utc: datetime
    end_utc: datetime
    missing_h: float  #: data-hours missing inside the stretch. [h]
    coverage_pct: float  #: share of the stretch that has data. [%]


@dataclass(frozen=True)
class DailyRow:
    """One local calendar day. Values are None when the day has no data for them."""

    day: date
    load_kwh: float | None
    pv_kwh: float | None
    genset_kwh: float | None
    battery_charge_kwh: float | None
    battery_discharge_kwh: float | None
    curtailed_kwh: float | None
    fuel_l: float | None
    renewable_fraction_pct: float | None
    completeness_pct: float


@dataclass(frozen=True)
class GensetSummary:
    """One genset over the period (from ``genset_energy``)."""

    name: str
    rated_kw: float  #: [kW]
    genset_kwh: float | None  #: [kWh]
    fuel_l: float | None  #: metered + estimated. [L]
    fuel_estimated_l: float | None  #: estimated part. [L]
    run_h: float | None  #: [h]
    starts: float | None  #: [-]
    below_min_h: float | None  #: hours running below minimum load. [h]
    mean_loading_pct: float | None  #: energy / (run hours × rated). [%]
    kwh_per_l: float | None  #: [kWh/L]
    loading_h: tuple[float, ...]  #: run hours per band of LOADING_EDGES_PCT (last: ≥ 100 %). [h]


@dataclass(frozen=True)
class FuelLogistics:
    """Deliveries over a period, from the service's fuel ledger (docs/architecture.md §12).

    Attributes
    ----------
    delivered_l : float
        Diesel delivered. [L]
    deliveries : int
        Deliveries found in the tank levels (each a convoy).
    """

    delivered_l: float
    deliveries: int


@dataclass(frozen=True)
class ReportSummary:
    """Everything a report states. Energies [kWh], fuel [L], CO2 [t]; None = not available."""

    site: str
    mission: str
    headcount: int
    timezone: str
    period: Period
    emission_factor_kg_per_l: float
    load_kwh: float | None
    pv_kwh: float | None  #: PV used (delivered to the camp or the battery)
    genset_kwh: float | None
    battery_charge_kwh: float | None
    battery_discharge_kwh: float | None
    curtailed_kwh: float | None  #: None = not measured
    renewable_fraction_pct: float | None  #: HOMER 1 − genset/load
    fuel_l: float | None
    fuel_metered_l: float | None
    fuel_estimated_l: float | None
    fuel_l_per_person_day: float | None
    kwh_per_l: float | None  #: genset kWh per litre
    co2_t: float | None
    diesel_only_fuel_l: float | None  #: counterfactual: the same load from gensets alone
    fuel_avoided_l: float | None
    co2_avoided_t: float | None
    days_in_period: int
    days_with_data: float  #: covered hours / 24. [d]
    completeness_pct: float
    gaps: tuple[Gap, ...]
    gensets: tuple[GensetSummary, ...]
    daily: tuple[DailyRow, ...]
    data_start_utc: datetime
    data_end_utc: datetime  #: end of the last bucket with data
    #: litres one tanker brings (``[logistics]``); None when the site file has none. [L]
    tanker_size_l: float | None = None
    #: convoys avoided: litres avoided against the diesel-only camp / tanker size
    convoys_avoided: float | None = None
    #: deliveries (:mod:`microgrid.reports.fuel_logistics`); None: no fuel ledger in the period
    fuel_logistics: FuelLogistics | None = None

    @property
    def fuel_basis(self) -> str:
        """``metered``, ``estimated``, ``partly estimated (N % of litres)`` or ``no data``."""
        if self.fuel_l is None:
            return "no data"
        est = self.fuel_estimated_l or 0.0
        if est <= 1e-9:
            return "metered"
        if self.fuel_l - est <= 1e-9:
            return "estimated"
        return f"partly estimated ({100.0 * est / self.fuel_l:.0f} % of litres)"

    @property
    def method(self) -> str:
        """One paragraph of method, for the summary page."""
        return (
            f"Energy from {BUCKET_MIN}-min roll-ups of the device meters (counter deltas, else "
            f"power x time). Renewable fraction = 1 - genset kWh / load kWh (HOMER). Diesel "
            f"metered by the gensets' fuel-rate sensors where reported, else estimated from the "
            f"fuel curve F = F0*Prated + F1*P (fuel basis: {self.fuel_basis}). CO2 = litres x "
            f"{self.emission_factor_kg_per_l:g} kg/L. Avoided fuel is against the same load "
            f"served by gensets alone (load following with the site's reserve). Periods are in "
            f"{self.timezone} local time; missing data is listed as gaps and never filled "
            f"(completeness {self.completeness_pct:.1f} %).")


def summarize(site: Site, period: Period, energy_df: pd.DataFrame,
              genset_df: pd.DataFrame | None) -> ReportSummary:
    """Compute every report figure for ``period`` from the 15-min roll-ups.

    Parameters
    ----------
    site : Site
    period : Period
        From :func:`microgrid.reports.period.parse_period`.
    energy_df : DataFrame
        ``energy`` rows: index bucket start [UTC]; columns ``load_kwh``, ``pv_kwh``,
        ``genset_kwh``, ``battery_charge_kwh``, ``battery_discharge_kwh``, optional
        ``curtailed_kwh``, ``fuel_l``, ``fuel_estimated_l``, ``diesel_only_fuel_l``,
        ``coverage_pct`` [%]. Rows outside the period are ignored.
    genset_df : DataFrame or None
        ``genset_energy`` rows: same index, a ``device`` column and ``genset_kwh``, ``fuel_l``,
        ``fuel_estimated_l``, ``run_h``, ``below_min_h``, ``starts``.

    Raises
    ------
    ReportError
        No ``energy`` row falls in the period.
    """
    energy = _in_period(energy_df, period)
    if energy.empty:
        raise ReportError(f"no energy data for site {site.name!r} in {period.label} "
                          f"({period.start_utc:%Y-%m-%d %H:%M}Z .. {period.end_utc:%Y-%m-%d %H:%M}Z)")
    gens = _in_period(genset_df, period) if genset_df is not None else pd.DataFrame()
    coverage = _coverage_grid(energy, period)
    covered_h = float(coverage.sum()) / 100.0 * BUCKET_MIN / 60.0
    tot = {c: _total(energy, c) for c in _ENERGY_COLUMNS}
    fuel, est = tot["fuel_l"], tot["fuel_estimated_l"]
    if fuel is not None and est is None:
        est = 0.0
    factor = site.emission_factor_kg_per_l
    avoided = (tot["diesel_only_fuel_l"] - fuel
               if fuel is not None and tot["diesel_only_fuel_l"] is not None else None)
    rf = (renewable_fraction_pct(tot["genset_kwh"], tot["load_kwh"])
          if tot["genset_kwh"] is not None and tot["load_kwh"] else None)
    days_with_data = covered_h / 24.0
    tanker = site.logistics.tanker_size_l if site.logistics is not None else None
    return ReportSummary(
        site=site.name, mission=site.mission, headcount=site.headcount,
        timezone=period.timezone, period=period, emission_factor_kg_per_l=factor,
        load_kwh=tot["load_kwh"], pv_kwh=tot["pv_kwh"], genset_kwh=tot["genset_kwh"],
        battery_charge_kwh=tot["battery_charge_kwh"],
        battery_discharge_kwh=tot["battery_discharge_kwh"], curtailed_kwh=tot["curtailed_kwh"],
        renewable_fraction_pct=_none_nan(rf),
        fuel_l=fuel, fuel_metered_l=None if fuel is None else fuel - est,
        fuel_estimated_l=None if fuel is None else est,
        fuel_l_per_person_day=(fuel / site.headcount / days_with_data
                               if fuel is not None and days_with_data > 0 and site.headcount
                               else None),
        kwh_per_l=_ratio(tot["genset_kwh"], fuel),
        co2_t=None if fuel is None else fuel * factor / 1000.0,
        diesel_only_fuel_l=tot["diesel_only_fuel_l"], fuel_avoided_l=avoided,
        co2_avoided_t=None if avoided is None else avoided * factor / 1000.0,
        days_in_period=period.days, days_with_data=days_with_data,
        completeness_pct=100.0 * covered_h / period.hours,
        gaps=_gaps(coverage), gensets=_gensets(site, gens),
        daily=_daily(energy, coverage, period),
        data_start_utc=energy.index.min().to_pydatetime(),
        data_end_utc=(energy.index.max() + pd.Timedelta(minutes=BUCKET_MIN)).to_pydatetime(),
        tanker_size_l=tanker, convoys_avoided=_ratio(avoided, tanker))


_ENERGY_COLUMNS = ("load_kwh", "pv_kwh", "genset_kwh", "battery_charge_kwh",
                   "battery_discharge_kwh", "curtailed_kwh", "fuel_l", "fuel_estimated_l",
                   "diesel_only_fuel_l")
_GENSET_COLUMNS = ("genset_kwh", "fuel_l", "fuel_estimated_l", "run_h", "starts", "below_min_h")


def time_indexed(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` indexed by aware-UTC time (from its index or a ``time`` column), sorted."""
    if "time" in df.columns:
        df = df.set_index("time")
    idx = pd.DatetimeIndex(df.index)
    idx = idx.tz_localize("UTC") if idx.tz is None else idx.tz_convert("UTC")
    return df.set_axis(idx.rename("time"), axis=0).sort_index()


def _in_period(df: pd.DataFrame, period: Period) -> pd.DataFrame:
    if df is None or len(df) == 0:
        return pd.DataFrame()
    df = time_indexed(df)
    start, end = pd.Timestamp(period.start_utc), pd.Timestamp(period.end_utc)
    return df[(df.index >= start) & (df.index < end)]


def _total(df: pd.DataFrame, col: str) -> float | None:
    """Sum of the present values, None when the column has none (missing is not 0)."""
    if col not in df.columns:
        return None
    s = pd.to_numeric(df[col], errors="coerce")
    return float(s.sum()) if s.notna().any() else None


def _ratio(num: float | None, den: float | None) -> float | None:
    return num / den if num is not None and den else None


def _none_nan(v: float | None) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def _coverage_grid(energy: pd.DataFrame, period: Period) -> pd.Series:
    """Coverage per bucket of the whole period; absent buckets are 0 %. [%]"""
    grid = pd.date_range(period.start_utc, period.end_utc, freq=f"{BUCKET_MIN}min",
                         inclusive="left", name="time")
    cov = (pd.to_numeric(energy["coverage_pct"], errors="coerce").fillna(100.0)
           if "coverage_pct" in energy.columns else pd.Series(100.0, index=energy.index))
    cov = cov.clip(0.0, 100.0).groupby(level=0).max()
    return cov.reindex(grid, fill_value=0.0).astype(float)


def _gaps(coverage: pd.Series) -> tuple[Gap, ...]:
    """Consecutive buckets with coverage below GAP_THRESHOLD_PCT, merged into stretches."""
    bad = (coverage < GAP_THRESHOLD_PCT).to_numpy()
    if not bad.any():
        return ()
    step = pd.Timedelta(minutes=BUCKET_MIN)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], bad.astype(int), [0]])))
    out = []
    for i0, i1 in zip(edges[::2], edges[1::2]):
        part = coverage.iloc[i0:i1]
        hours = len(part) * BUCKET_MIN / 60.0
        missing = float((100.0 - part).sum()) / 100.0 * BUCKET_MIN / 60.0
        out.append(Gap(part.index[0].to_pydatetime(), (part.index[-1] + step).to_pydatetime(),
                       missing, 100.0 * (1.0 - missing / hours)))
    return tuple(out)


def _daily(energy: pd.DataFrame, coverage: pd.Series, period: Period) -> tuple[DailyRow, ...]:
    days_e = energy.index.tz_convert(period.timezone).date
    days_c = coverage.index.tz_convert(period.timezone).date
    cov = coverage.groupby(days_c).mean()
    sums = {c: (pd.to_numeric(energy[c], errors="coerce").groupby(days_e).sum(min_count=1)
                if c in energy.columns else pd.Series(dtype=float)) for c in _ENERGY_COLUMNS}
    rows = []
    for day in cov.index:
        v = {c: _none_nan(float(sums[c].get(day, math.nan))) for c in _ENERGY_COLUMNS}
        rf = (renewable_fraction_pct(v["genset_kwh"], v["load_kwh"])
              if v["genset_kwh"] is not None and v["load_kwh"] else None)
        rows.append(DailyRow(day, v["load_kwh"], v["pv_kwh"], v["genset_kwh"],
                             v["battery_charge_kwh"], v["battery_discharge_kwh"],
                             v["curtailed_kwh"], v["fuel_l"], _none_nan(rf), float(cov[day])))
    return tuple(rows)


def _gensets(site: Site, gens: pd.DataFrame) -> tuple[GensetSummary, ...]:
    out = []
    for g in site.gensets:
        rows = gens[gens["device"] == g.name] if "device" in gens.columns else pd.DataFrame()
        t = {c: _total(rows, c) for c in _GENSET_COLUMNS}
        mean_load = (100.0 * t["genset_kwh"] / (t["run_h"] * g.rated_kw)
                     if t["genset_kwh"] is not None and t["run_h"] else None)
        out.append(GensetSummary(
            g.name, g.rated_kw, t["genset_kwh"], t["fuel_l"],
            t["fuel_estimated_l"] if t["fuel_estimated_l"] is not None else (
                0.0 if t["fuel_l"] is not None else None),
            t["run_h"], t["starts"], t["below_min_h"], mean_load,
            _ratio(t["genset_kwh"], t["fuel_l"]), _loading_hours(rows, g.rated_kw)))
    return tuple(out)


def _loading_hours(rows: pd.DataFrame, rated_kw: float) -> tuple[float, ...]:
    """Run hours per loading band, loading = bucket energy / (bucket run hours × rated). [h]"""
    n = len(LOADING_EDGES_PCT)
    if rows.empty or "run_h" not in rows.columns or "genset_kwh" not in rows.columns:
        return (0.0,) * n
    run = pd.to_numeric(rows["run_h"], errors="coerce")
    kwh = pd.to_numeric(rows["genset_kwh"], errors="coerce")
    ok = (run > 1e-9) & kwh.notna()
    loading = 100.0 * kwh[ok] / (run[ok] * rated_kw)
    band = np.searchsorted(np.asarray(LOADING_EDGES_PCT[1:], dtype=float),
                           loading.to_numpy(), side="right")
    hours = np.bincount(band, weights=run[ok].to_numpy(), minlength=n)[:n]
    return tuple(float(h) for h in hours)
