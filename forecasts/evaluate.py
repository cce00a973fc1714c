"""Forecast evaluation: rolling issues over a known series, scored by lead time.

Three sources of truth: a TMY3 file shipped with pvlib run through the site's ModelChains
(real measured irradiance), and the virtual camp's simulated conditions (PV and load).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from forecasts.calibrate import calibrate_pv_spread
from forecasts.clearsky import clearsky_pv_kw, pv_from_weather
from forecasts.pv import PvForecastParams, fit_pv_params
from forecasts.rolling import PV_PREFIX, RollingForecaster
from forecasts.skill import SkillRow, skill_by_lead
from forecasts.tmy import read_tmy
from microgrid.plant.conditions import ConditionsSource
from microgrid.site import Site

PV_REFERENCE = "smart persistence (last known clear-sky index held)"
LOAD_REFERENCE = "persistence of the same time on the latest known day (24 h)"


@dataclass
class Evaluation:
    """Result of one evaluation run."""

    mode: str
    quantity: str
    reference: str
    issues: int
    horizon_h: float
    rows: list[SkillRow]
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"mode": self.mode, "quantity": self.quantity, "reference": self.reference,
                "issues": self.issues, "horizon_h": self.horizon_h, "notes": self.notes,
                "seconds": round(self.seconds, 3), "rows": [r.to_dict() for r in self.rows]}


def score_rolling(fc: RollingForecaster, quantity: str, issues: np.ndarray,
                  horizon_steps: int) -> list[SkillRow]:
    """Issue forecasts at each row of ``issues`` and score them by lead time.

    PV is scored on the site total at sun-up targets (clear-sky PV > 0); load at every target.
    """
    n_truth = len(fc.index)
    issues = issues[issues + horizon_steps <= n_truth]
    shape = (len(issues), horizon_steps)
    p10, p50, p90, ref, truth = (np.empty(shape) for _ in range(5))
    for r, i in enumerate(issues):
        f = fc.forecast(int(i), horizon_steps)
        sl = slice(i, i + horizon_steps)
        if quantity == "pv":
            p10[r], p50[r], p90[r] = (f.pv_p10_kw.sum(1), f.pv_p50_kw.sum(1), f.pv_p90_kw.sum(1))
            ref[r] = fc.pv_reference_kw(int(i), horizon_steps).sum(1)
            truth[r] = fc.pv_truth_kw[sl].sum(1)
        else:
            p10[r], p50[r], p90[r] = f.load_p10_kw, f.load_p50_kw, f.load_p90_kw
            ref[r] = fc.load_reference_kw(int(i), horizon_steps)
            truth[r] = fc.load_truth_kw[sl]
    lead = (np.arange(horizon_steps) + 0.5) * fc.step_h
    mask = None
    if quantity == "pv":
        idx = issues[:, None] + np.arange(horizon_steps)[None, :]
        mask = fc.cs_kw.sum(1)[idx] > 0
    return skill_by_lead(lead[None, :], truth, p50, ref, p10, p90, mask)


def evaluate_pv_tmy(site: Site, tmy: str = "greensboro", days: int | None = None,
                    start_day: int = 0, issue_every_h: float = 1.0) -> Evaluation:
    """PV forecast skill on a TMY3 file shipped with pvlib.

    The site's arrays are moved to the TMY station (solar geometry of the station) and the
    TMY's measured GHI/DNI/DHI, air temperature and wind drive their ModelChains: that is the
    truth. Forecasts are issued every ``issue_every_h`` from the hourly history, 24 h ahead.
    The forecast's climatological index, spread and e-folding time are fitted on the TMY year
    (a TMY *is* the station's climatology); the clear-sky curve uses the year's mean air
    temperature.
    """
    t0 = time.perf_counter()
    data = read_tmy(tmy)
    w = data.weather
    step = pd.Timedelta(hours=1)
    truth = pv_from_weather(site, w.set_axis(w.index + step / 2), data.location)
    truth = truth.set_axis(w.index).add_prefix(PV_PREFIX)
    truth["load_kw"] = np.nan
    horizon = 24
    full = pd.date_range(w.index[0], periods=len(w) + horizon, freq=step)
    cs = clearsky_pv_kw(site, full + step / 2, location=data.location,
                        temp_air_c=float(w["temp_air"].mean()))
    fc = fitted_forecaster(site, truth, len(w), horizon, clearsky_kw=cs)
    first = start_day * 24
    last = len(w) if days is None else min(len(w), first + days * 24)
    issues = np.arange(first, last, max(1, int(round(issue_every_h))))
    rows = score_rolling(fc, "pv", issues, horizon)
    loc = data.location
    notes = [f"truth: TMY3 {data.name} ({loc.latitude:.2f}°N {loc.longitude:.2f}°E) measured "
             f"GHI/DNI/DHI through the site's PVWatts ModelChains; arrays RELOCATED to the "
             f"station for solar geometry",
             f"params fitted on the whole TMY year (in-sample climatology): "
             f"{_describe(fc.pv_params)}",
             "scored on sun-up targets (clear-sky PV > 0), site total"]
    return Evaluation("pv-tmy", "pv", PV_REFERENCE, len(issues), float(horizon), rows, notes,
                      time.perf_counter() - t0)


def simulated_truth(conditions: ConditionsSource, days: float, start: str = "2025-01-01") -> pd.DataFrame:
    """15-min load and available PV for ``days`` from ``conditions`` (the virtual camp's, given by
    the application that evaluates)."""
    return conditions.frame(pd.Timestamp(start, tz="UTC").to_pydatetime(), int(round(days * 96)), 15)


def fitted_forecaster(site: Site, truth: pd.DataFrame, fit_rows: int, horizon_steps: int,
                      k_clim: float | None = None,
                      clearsky_kw: np.ndarray | None = None) -> RollingForecaster:
    """A RollingForecaster whose PV parameters are fitted on the first ``fit_rows`` rows of
    ``truth`` (the forecasts must not be scored on those rows).

    The e-folding time (and the climatological index, unless ``k_clim`` is given) come from
    :func:`forecasts.pv.fit_pv_params`; the spread from :func:`calibrate_pv_spread` on hourly
    issues. ``clearsky_kw`` (rows of ``truth`` + ``horizon_steps``) skips the pvlib run.
    """
    fc = RollingForecaster(site, truth, clearsky_kw=clearsky_kw, max_horizon_steps=horizon_steps)
    clearsky_kw = fc.cs_kw
    fit_rows = min(fit_rows, len(truth))
    params = fit_pv_params(fc.pv_truth_kw[:fit_rows].sum(1), fc.cs_kw[:fit_rows].sum(1),
                           fc.step_h, fc.threshold_kw, fc.pv_params)
    if k_clim is not None:
        params = replace(params, k_clim=k_clim)
    fc = RollingForecaster(site, truth, params, clearsky_kw=clearsky_kw,
                           max_horizon_steps=horizon_steps)
    every = max(1, int(round(1.0 / fc.step_h)))
    issues = np.arange(0, fit_rows, every)
    if len(issues):
        params = calibrate_pv_spread(fc, issues, horizon_steps)
        fc = RollingForecaster(site, truth, params, clearsky_kw=clearsky_kw,
                               max_horizon_steps=horizon_steps)
    return fc


def _describe(p: PvForecastParams) -> str:
    return (f"k_clim={p.k_clim:.3f}, tau_h={p.tau_h:g}, sigma_k={p.sigma_k:.3f}, "
            f"sigma0={p.sigma0:.3f}")


def evaluate_sim(site: Site, conditions: ConditionsSource, quantity: str, days: int = 28,
                 warmup_days: int = 14, issue_every_h: float = 1.0) -> Evaluation:
    """PV or load forecast skill on simulated conditions (the virtual camp's).

    ``warmup_days`` of history come first (the load profile needs them; the PV parameters are
    fitted on them); forecasts are then issued every ``issue_every_h`` over ``days``, 24 h ahead.
    """
    t0 = time.perf_counter()
    horizon = 96
    truth = simulated_truth(conditions, warmup_days + days + 1)
    fc = RollingForecaster(site, truth, max_horizon_steps=horizon)
    w = warmup_days * 96
    notes = [f"truth: simulated camp (seed {conditions.seed}), 15-min steps; "
             f"{warmup_days} days of warm-up history before the first issue"]
    if quantity == "pv":
        fc = fitted_forecaster(site, truth, w, horizon, site.climate.clear_sky_index_mean,
                               fc.cs_kw)
        notes.append(f"k_clim from the site file (climate.clear_sky_index_mean); tau and "
                     f"spread fitted on the warm-up: {_describe(fc.pv_params)}")
        notes.append("scored on sun-up targets (clear-sky PV > 0), site total")
    issues = np.arange(w, w + days * 96, max(1, int(round(issue_every_h * 4))))
    rows = score_rolling(fc, quantity, issues, horizon)
    return Evaluation(f"{quantity}-sim", quantity,
                      PV_REFERENCE if quantity == "pv" else LOAD_REFERENCE, len(issues), 24.0,
                      rows, notes, time.perf_counter() - t0)
