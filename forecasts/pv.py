"""PV forecast: clear-sky PV scaled by a clear-sky index from recent measurements.

Smart persistence with reversion: the clear-sky index ``k0`` (measured PV over clear-sky PV in
the last ``window_h`` of daytime samples) decays toward a climatological index ``k_clim`` with an
e-folding time ``tau_h``. Taking k as an Ornstein-Uhlenbeck process gives the spread too: the
standard deviation of k at lead h is ``sqrt(sigma0² + sigma_k²·(1 − exp(−2h/tau)))``; p10/p90 are
the normal quantiles, k clipped to [0, ``k_max``], power clipped to the inverter limit.

The numpy core (:func:`clear_sky_index`, :func:`pv_quantiles`) serves both the pure
:func:`pv_forecast` (any times, pvlib computes the clear-sky curve) and
:class:`forecasts.rolling.RollingForecaster` (precomputed clear-sky arrays, slicing only).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasts.clearsky import clearsky_pv_kw, pv_from_weather
from forecasts.types import Z90, Forecast
from microgrid.site import Site


@dataclass(frozen=True)
class PvForecastParams:
    """Parameters of the smart-persistence PV forecast.

    Attributes
    ----------
    k_clim : float
        Climatological clear-sky index the forecast reverts to. [-]
    tau_h : float
        E-folding time of the reversion. [h]
    sigma_k : float
        Stationary standard deviation of the clear-sky index. [-]
    sigma0 : float
        Standard deviation of the index at lead 0 (estimation error). [-]
    window_h : float
        Length of the recent measurements used for ``k0``. [h]
    k_max : float
        Upper clip of the index (cloud enhancement). [-]
    day_frac : float
        A sample counts as daytime when clear-sky PV ≥ ``day_frac`` × the site's inverter
        rating. [-]
    """

    k_clim: float = 0.8
    tau_h: float = 2.5
    sigma_k: float = 0.2
    sigma0: float = 0.06
    window_h: float = 1.0
    k_max: float = 1.1
    day_frac: float = 0.05

    @classmethod
    def for_site(cls, site: Site, **changes: float) -> PvForecastParams:
        """Defaults with the site's climatological index and cloud variability."""
        base = dict(k_clim=site.climate.clear_sky_index_mean,
                    sigma_k=max(site.climate.cloud_variability, 0.05))
        return cls(**{**base, **changes})


def clear_sky_index(measured_kw: np.ndarray, clearsky_kw: np.ndarray, threshold_kw: float) -> float:
    """Energy-weighted clear-sky index of daytime samples: Σ measured / Σ clear-sky.

    Parameters
    ----------
    measured_kw, clearsky_kw : numpy.ndarray
        Site-total measured and clear-sky PV on the same samples (NaN = missing). [kW]
    threshold_kw : float
        Samples with clear-sky PV below this are night / low sun and ignored. [kW]

    Returns
    -------
    float
        The index, NaN when no usable sample. [-]
    """
    m = np.asarray(measured_kw, dtype=float)
    c = np.asarray(clearsky_kw, dtype=float)
    ok = (c >= threshold_kw) & np.isfinite(m) & np.isfinite(c)
    if not ok.any():
        return float("nan")
    return float(m[ok].sum() / c[ok].sum())


def k_path(lead_h: np.ndarray, k0: float, params: PvForecastParams,
           age_h: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of the clear-sky index at each lead.

    Parameters
    ----------
    lead_h : numpy.ndarray
        Lead time from the issue. [h]
    k0 : float
        Last known clear-sky index; NaN (no daytime measurement yet) means the climatological
        index with its stationary spread. [-]
    params : PvForecastParams
    age_h : float
        How old ``k0`` is at issue time (e.g. yesterday evening's index at dawn): the index
        has already decayed over this time. [h]
    """
    age = age_h if np.isfinite(age_h) and age_h > 0 else 0.0
    lead = np.maximum(np.asarray(lead_h, dtype=float), 0.0) + age
    decay = np.exp(-lead / params.tau_h) if np.isfinite(k0) else np.zeros_like(lead)
    k0 = k0 if np.isfinite(k0) else params.k_clim
    mean = params.k_clim + (k0 - params.k_clim) * decay
    sd = np.sqrt(params.sigma0 ** 2 + params.sigma_k ** 2 * (1.0 - decay ** 2))
    return mean, sd


def pv_quantiles(clearsky_kw: np.ndarray, lead_h: np.ndarray, k0: float,
                 params: PvForecastParams, limit_kw: np.ndarray, age_h: float = 0.0
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """p10, p50, p90 of PV power from the clear-sky curve and the index path.

    Parameters
    ----------
    clearsky_kw : numpy.ndarray
        Clear-sky PV, shape (leads, arrays). [kW]
    lead_h : numpy.ndarray
        Lead time of each row. [h]
    k0 : float
        Clear-sky index now (NaN = unknown). [-]
    params : PvForecastParams
    limit_kw : numpy.ndarray
        Inverter limit of each array. [kW]
    age_h : float
        Age of ``k0`` at issue time. [h]

    Returns
    -------
    tuple of numpy.ndarray
        p10, p50, p90, each shaped like ``clearsky_kw``. [kW]
    """
    mean, sd = k_path(lead_h, k0, params, age_h)
    out = []
    for z in (-Z90, 0.0, Z90):
        k = np.clip(mean + z * sd, 0.0, params.k_max)[:, None]
        out.append(np.minimum(k * clearsky_kw, limit_kw))
    return out[0], out[1], out[2]


def persistence_kw(clearsky_kw: np.ndarray, k0: float, params: PvForecastParams,
                   limit_kw: np.ndarray) -> np.ndarray:
    """Reference "smart persistence": the last known clear-sky index held over the horizon
    (the climatological index before any daytime measurement). [kW]"""
    k = min(max(k0 if np.isfinite(k0) else params.k_clim, 0.0), params.k_max)
    return np.minimum(k * clearsky_kw, limit_kw)


def pv_forecast_by_array(site: Site, issue_time: pd.Timestamp, times: pd.DatetimeIndex,
                         measured_pv_kw: pd.Series | None,
                         params: PvForecastParams | None = None) -> dict[str, Forecast]:
    """PV forecast of every array (one clear-sky index for the site: the same sky).

    Parameters
    ----------
    site : Site
    issue_time : pandas.Timestamp
        Aware; measurements at or after it are ignored.
    times : pandas.DatetimeIndex
        Aware target instants.
    measured_pv_kw : pandas.Series or None
        Site-total measured (available, i.e. uncurtailed) PV indexed by aware time. [kW]
        None or no daytime sample in the window: the forecast is climatological.
    params : PvForecastParams, optional
        Default :meth:`PvForecastParams.for_site`.

    Returns
    -------
    dict of str to Forecast
        Quantity ``"pv:<array>"`` per array name.
    """
    params = params or PvForecastParams.for_site(site)
    issue = pd.Timestamp(issue_time)
    times = pd.DatetimeIndex(times)
    k0, age_h = recent_index(site, issue, measured_pv_kw, params)
    cs = clearsky_pv_kw(site, times)
    lead = ((times - issue) / pd.Timedelta(hours=1)).to_numpy(dtype=float)
    limit = np.array([a.inverter_kw for a in site.pv_arrays])
    p10, p50, p90 = pv_quantiles(cs.to_numpy(), lead, k0, params, limit, age_h)
    return {a.name: Forecast(f"pv:{a.name}", issue, times, p10[:, j], p50[:, j], p90[:, j])
            for j, a in enumerate(site.pv_arrays)}


def pv_forecast_from_weather(site: Site, issue_time: pd.Timestamp, weather: pd.DataFrame,
                             params: PvForecastParams | None = None) -> Forecast:
    """Site-total PV forecast from an irradiance forecast run through the ModelChains.

    p50 is the ModelChain's AC power for the forecast weather; the band is the same
    clear-sky-index spread as the smart persistence forecast (``sigma0`` growing to
    ``sigma_k`` with lead), around the weather forecast's own clear-sky index.

    Parameters
    ----------
    site : Site
    issue_time : pandas.Timestamp
    weather : pandas.DataFrame
        Aware index (target instants), ``ghi``, ``dni``, ``dhi`` [W/m²], optional
        ``temp_air`` [°C] and ``wind_speed`` [m/s].
    params : PvForecastParams, optional
    """
    params = params or PvForecastParams.for_site(site)
    issue = pd.Timestamp(issue_time)
    times = pd.DatetimeIndex(weather.index)
    cs = clearsky_pv_kw(site, times).to_numpy()
    pv = pv_from_weather(site, weather).to_numpy()
    lead = ((times - issue) / pd.Timedelta(hours=1)).to_numpy(dtype=float)
    _, sd = k_path(lead, 0.0, params)
    limit = np.array([a.inverter_kw for a in site.pv_arrays])
    with np.errstate(invalid="ignore", divide="ignore"):
        k = np.where(cs > 0, pv / np.where(cs > 0, cs, 1.0), 0.0)
    p10, p90 = (np.minimum(np.clip(k + z * sd[:, None], 0.0, params.k_max) * cs, limit).sum(axis=1)
                for z in (-Z90, Z90))
    p50 = pv.sum(axis=1)
    return Forecast("pv", issue, times, np.minimum(p10, p50), p50, np.maximum(p90, p50))


def recent_index(site: Site, issue: pd.Timestamp, measured_pv_kw: pd.Series | None,
                 params: PvForecastParams, lookback_h: float = 24.0) -> tuple[float, float]:
    """Clear-sky index of the last ``window_h`` of daytime measurements before ``issue`` and
    its age (issue time minus the last daytime sample), looking back at most ``lookback_h``.

    Returns
    -------
    tuple of float
        ``(k0, age_h)``; ``(nan, nan)`` without a daytime measurement. [-], [h]
    """
    if measured_pv_kw is None or not len(measured_pv_kw):
        return float("nan"), float("nan")
    m = measured_pv_kw[(measured_pv_kw.index < issue)
                       & (measured_pv_kw.index >= issue - pd.Timedelta(hours=lookback_h))].dropna()
    if not len(m):
        return float("nan"), float("nan")
    cs = clearsky_pv_kw(site, pd.DatetimeIndex(m.index)).sum(axis=1).to_numpy()
    day = cs >= params.day_frac * sum(a.inverter_kw for a in site.pv_arrays)
    if not day.any():
        return float("nan"), float("nan")
    last = m.index[day][-1]
    recent = day & (m.index > last - pd.Timedelta(hours=params.window_h))
    k0 = float(m.to_numpy(float)[recent].sum() / cs[recent].sum())
    return k0, (issue - last) / pd.Timedelta(hours=1)


def pv_forecast(site: Site, issue_time: pd.Timestamp, times: pd.DatetimeIndex,
                measured_pv_kw: pd.Series | None, k_clim: float | None = None,
                params: PvForecastParams | None = None) -> Forecast:
    """Site-total PV forecast (sum of :func:`pv_forecast_by_array`); ``k_clim`` overrides the
    climatological index of ``params``."""
    params = params or PvForecastParams.for_site(site)
    if k_clim is not None:
        params = PvForecastParams(**{**params.__dict__, "k_clim": k_clim})
    parts = list(pv_forecast_by_array(site, issue_time, times, measured_pv_kw, params).values())
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    return total


def fit_pv_params(measured_kw: np.ndarray, clearsky_kw: np.ndarray, step_h: float,
                  threshold_kw: float, base: PvForecastParams | None = None) -> PvForecastParams:
    """Climatological index, e-folding time and spread fitted on a measured history.

    ``k_clim`` = Σ measured / Σ clear-sky over daytime samples. ``tau_h`` is the value of
    :data:`TAU_GRID_H` whose forecast ``k_clim + (k_t − k_clim)·exp(−L/tau)`` has the least
    clear-sky-weighted absolute error over daytime pairs (t, t + L), L in :data:`FIT_LAGS_H`
    (real skies have fast and slow clouds: a lag-1 autocorrelation would under-state tau).
    ``sigma_k`` is the daytime standard deviation of k (calibrate the spread on forecasts with
    :func:`forecasts.calibrate.calibrate_pv_spread`). Falls back to ``base`` with fewer than
    20 daytime samples.

    Parameters
    ----------
    measured_kw, clearsky_kw : numpy.ndarray
        Site totals on a regular grid (NaN = missing). [kW]
    step_h : float
        Grid step. [h]
    threshold_kw : float
        Daytime threshold on clear-sky PV. [kW]
    base : PvForecastParams, optional
    """
    base = base or PvForecastParams()
    m, c = np.asarray(measured_kw, float), np.asarray(clearsky_kw, float)
    day = (c >= threshold_kw) & np.isfinite(m)
    if day.sum() < 20:
        return base
    k = np.where(day, np.clip(m / np.where(day, c, 1.0), 0.0, base.k_max), np.nan)
    k_clim = float(m[day].sum() / c[day].sum())
    pairs = []
    for lag_h in FIT_LAGS_H:
        lag = max(1, int(round(lag_h / step_h)))
        if lag < len(k):
            a, b, w = k[:-lag], k[lag:], c[lag:]
            ok = np.isfinite(a) & np.isfinite(b)
            pairs.append((lag * step_h, a[ok], b[ok], w[ok]))
    if sum(len(p[1]) for p in pairs) < 20:
        return PvForecastParams(**{**base.__dict__, "k_clim": k_clim})

    def cost(tau: float) -> float:
        return sum(float((np.abs(k_clim + (a - k_clim) * np.exp(-h / tau) - b) * w).sum())
                   for h, a, b, w in pairs)

    tau = min(TAU_GRID_H, key=cost)
    return PvForecastParams(**{**base.__dict__, "k_clim": k_clim, "tau_h": float(tau),
                               "sigma_k": max(float(np.nanstd(k)), 0.02)})


#: Candidate e-folding times of the clear-sky index. [h]
TAU_GRID_H = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 36.0, 48.0)
#: Lags of the (k_t, k_t+L) pairs used to fit tau and the spread. [h]
FIT_LAGS_H = (1.0, 2.0, 3.0, 6.0, 12.0, 24.0)
