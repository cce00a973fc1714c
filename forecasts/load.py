"""Load forecast: time-of-week profile from history with a recent-level correction.

The profile at a target slot is the mean of the same slot in the last ``weeks`` weeks (only
values known at issue time); with less than a week of history it is the mean of the same time of
day over the last days. The level correction is the mean deviation of the last ``level_window_h``
from the profile, decaying over the horizon with e-folding time ``tau_h``. p10/p90 add the
empirical 10 % / 90 % quantiles of the profile residuals of the last ``residual_days``.

The numpy core (:class:`LoadCore`, a regular grid of values) serves the pure
:func:`load_forecast` and :class:`forecasts.rolling.RollingForecaster` alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasts.types import Forecast


@dataclass(frozen=True)
class LoadForecastParams:
    """Parameters of the load forecast.

    Attributes
    ----------
    weeks : int
        Weeks of history in the time-of-week profile.
    level_window_h : float
        Recent window for the level correction. [h]
    tau_h : float
        E-folding time of the level correction. [h]
    residual_days : int
        Days of residuals for the p10/p90 spread. [d]
    """

    weeks: int = 4
    level_window_h: float = 2.0
    tau_h: float = 3.0
    residual_days: int = 14


class LoadCore:
    """Load forecaster on a regular grid of measured values.

    Parameters
    ----------
    values_kw : numpy.ndarray
        Load on a regular grid (NaN = missing or future). [kW]
    step_h : float
        Grid step; must divide a day. [h]
    params : LoadForecastParams
    """

    def __init__(self, values_kw: np.ndarray, step_h: float, params: LoadForecastParams):
        self.v = np.asarray(values_kw, dtype=float)
        self.step_h = step_h
        self.per_day = int(round(24.0 / step_h))
        if abs(self.per_day * step_h - 24.0) > 1e-9:
            raise ValueError(f"grid step {step_h} h does not divide a day")
        self.params = params
        self._spread_day: int | None = None  # first row of the day the spread is for
        self._spread = (0.0, 0.0)
        week = 7 * self.per_day
        self._week_lags = week * np.arange(1, params.weeks + 1)
        self._day_lags = self.per_day * np.arange(1, 8)

    def profile(self, positions: np.ndarray, issue: int) -> np.ndarray:
        """Time-of-week profile at grid positions using only values before ``issue``. [kW]"""
        pos = np.asarray(positions)
        prof = self._lagged_mean(pos, issue, self._week_lags)
        short = ~np.isfinite(prof)
        if short.any():
            prof[short] = self._lagged_mean(pos[short], issue, self._day_lags)
        return prof

    def _lagged_mean(self, pos: np.ndarray, issue: int, lags: np.ndarray) -> np.ndarray:
        idx = pos[:, None] - lags[None, :]
        ok = (idx >= 0) & (idx < issue)
        vals = np.where(ok, self.v[np.clip(idx, 0, len(self.v) - 1)], np.nan)
        cnt = np.isfinite(vals).sum(axis=1)
        tot = np.nansum(vals, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)

    def level_offset(self, issue: int) -> float:
        """Mean deviation of the recent window from the profile (0 when unknown). [kW]"""
        n = max(1, int(round(self.params.level_window_h / self.step_h)))
        pos = np.arange(max(0, issue - n), issue)
        if not len(pos):
            return 0.0
        dev = self.v[pos] - self.profile(pos, issue)
        dev = dev[np.isfinite(dev)]
        return float(dev.mean()) if len(dev) else 0.0

    def spread(self, issue: int) -> tuple[float, float]:
        """10 % and 90 % quantiles of profile residuals over the ``residual_days`` before the
        start of the issue's day (so one computation serves every issue of a day, whatever the
        order of the calls). [kW]"""
        day_start = issue // self.per_day * self.per_day
        if day_start != self._spread_day:
            pos = np.arange(max(0, day_start - self.params.residual_days * self.per_day), day_start)
            res = self.v[pos] - self.profile(pos, day_start) if len(pos) else np.array([])
            res = res[np.isfinite(res)]
            self._spread = ((float(np.quantile(res, 0.1)), float(np.quantile(res, 0.9)))
                            if len(res) >= 8 else (0.0, 0.0))
            self._spread_day = day_start
        return self._spread

    def forecast(self, issue: int, positions: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """p10, p50, p90 at grid ``positions`` (≥ ``issue``) from values before ``issue``. [kW]

        Where there is no history at all for a slot the forecast is NaN.
        """
        pos = np.asarray(positions)
        lead_h = (pos - issue + 0.5) * self.step_h
        p50 = self.profile(pos, issue) + self.level_offset(issue) * np.exp(-lead_h / self.params.tau_h)
        p50 = np.maximum(p50, 0.0)
        q10, q90 = self.spread(issue)
        p10 = np.clip(p50 + min(q10, 0.0), 0.0, None)
        p90 = p50 + max(q90, 0.0)
        return p10, p50, p90

    def persistence(self, issue: int, positions: np.ndarray) -> np.ndarray:
        """Reference: the value at the same time on the latest day known at issue. [kW]"""
        pos = np.asarray(positions)
        days_back = np.ceil((pos - issue + 1) / self.per_day).astype(int)
        idx = pos - np.maximum(days_back, 1) * self.per_day
        return np.where(idx >= 0, self.v[np.clip(idx, 0, None)], np.nan)


def infer_step(index: pd.DatetimeIndex) -> pd.Timedelta:
    """The most common spacing of a time index."""
    if len(index) < 2:
        raise ValueError("need at least two history samples to infer the time step")
    d = pd.Series(index[1:] - index[:-1])
    return pd.Timedelta(d.mode().iloc[0])


def load_forecast(history: pd.Series, issue_time: pd.Timestamp, times: pd.DatetimeIndex,
                  params: LoadForecastParams | None = None) -> Forecast:
    """Load forecast at ``times`` from a measured history.

    Parameters
    ----------
    history : pandas.Series
        Measured load indexed by aware time, regular step (gaps may be missing or NaN);
        values at or after ``issue_time`` are ignored. [kW]
    issue_time : pandas.Timestamp
        Aware.
    times : pandas.DatetimeIndex
        Aware target times, each in the slot of the history's step grid it falls into.
    params : LoadForecastParams, optional

    Returns
    -------
    Forecast
        Quantity ``"load"``; NaN where no history covers a target's slot.
    """
    params = params or LoadForecastParams()
    issue = pd.Timestamp(issue_time)
    times = pd.DatetimeIndex(times)
    hist = history[history.index < issue].dropna()
    step = infer_step(pd.DatetimeIndex(hist.index))
    t0 = hist.index[0]
    n_hist = int(np.ceil((issue - t0) / step))
    pos = np.floor((times - t0) / step).astype(int)
    grid = np.full(max(n_hist, int(pos.max()) + 1), np.nan)
    hpos = np.floor((hist.index - t0) / step).astype(int)
    grid[hpos] = hist.to_numpy(dtype=float)
    core = LoadCore(grid, step / pd.Timedelta(hours=1), params)
    p10, p50, p90 = core.forecast(n_hist, np.asarray(pos))
    return Forecast("load", issue, times, p10, p50, p90)
