"""Calibrate the PV forecast's p10–p90 spread on forecasts issued over a history.

The parametric spread (``sigma0`` at lead 0 growing to ``sigma_k``) is tuned so that, over
forecasts issued on calibration data, the p10–p90 band of site-total PV covers 80 % of the
truths both in the first hour and over the whole horizon. Everything is vectorised over
(issue, lead, array); a coordinate descent over two small grids costs about a second.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from forecasts.pv import PvForecastParams
from forecasts.rolling import RollingForecaster
from forecasts.types import Z90

#: Candidate lead-0 standard deviations of the index. [-]
SIGMA0_GRID = (0.02, 0.04, 0.06, 0.08, 0.1, 0.13, 0.16, 0.2, 0.25, 0.3)
#: Candidate scalings of the stationary standard deviation. [-]
SCALE_GRID = (0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.35, 1.5, 1.7, 2.0)


def calibrate_pv_spread(fc: RollingForecaster, issues: np.ndarray, horizon_steps: int,
                        target: float = 0.8, max_issues: int = 2000) -> PvForecastParams:
    """``fc.pv_params`` with ``sigma0`` and ``sigma_k`` chosen for ``target`` coverage.

    Parameters
    ----------
    fc : RollingForecaster
        Over the calibration data (its truth is what the forecasts are scored against).
    issues : numpy.ndarray of int
        Issue rows to calibrate on (those whose horizon passes the truth's end are dropped;
        at most ``max_issues`` evenly spread are used).
    horizon_steps : int
    target : float
        Wanted share of truths inside [p10, p90]. [-]
    max_issues : int

    Returns
    -------
    PvForecastParams
        Unchanged when no sun-up target is available.
    """
    issues = np.asarray(issues)
    issues = issues[issues + horizon_steps <= len(fc.index)]
    if len(issues) > max_issues:
        issues = issues[np.linspace(0, len(issues) - 1, max_issues).astype(int)]
    idx = issues[:, None] + np.arange(horizon_steps)[None, :]
    cs = fc.cs_kw[idx]                                   # (issues, leads, arrays)
    truth = fc.pv_truth_kw[idx].sum(axis=2)
    lead = (np.arange(horizon_steps) + 0.5) * fc.step_h
    sun = (cs.sum(axis=2) > 0) & np.isfinite(truth)
    if not sun.any():
        return fc.pv_params
    k0age = np.array([fc.k0(int(i)) for i in issues])
    first_hour = sun & (lead[None, :] <= 1.0)
    base = fc.pv_params

    def cost(s0: float, scale: float) -> float:
        p = replace(base, sigma0=s0, sigma_k=base.sigma_k * scale)
        inside = _inside(cs, truth, lead, k0age, p, fc.limit_kw)
        c_all = inside[sun].mean()
        c_1h = inside[first_hour].mean() if first_hour.any() else c_all
        return float((c_all - target) ** 2 + (c_1h - target) ** 2)

    s0, scale = base.sigma0, 1.0
    for _ in range(2):  # coordinate descent: lead-0 spread, then the stationary spread
        s0 = min(SIGMA0_GRID, key=lambda v: cost(v, scale))
        scale = min(SCALE_GRID, key=lambda v: cost(s0, v))
    return replace(base, sigma0=s0, sigma_k=base.sigma_k * scale)


def _inside(cs: np.ndarray, truth: np.ndarray, lead: np.ndarray, k0age: np.ndarray,
            p: PvForecastParams, limit_kw: np.ndarray) -> np.ndarray:
    """Whether each truth lies in the site-total [p10, p90] (issues × leads); the index path
    is :func:`forecasts.pv.k_path` vectorised over issues."""
    k0, age = k0age[:, 0:1], np.nan_to_num(k0age[:, 1:2], nan=0.0)
    known = np.isfinite(k0)
    decay = np.where(known, np.exp(-(lead[None, :] + np.maximum(age, 0.0)) / p.tau_h), 0.0)
    mean = p.k_clim + (np.where(known, k0, p.k_clim) - p.k_clim) * decay
    sd = np.sqrt(p.sigma0 ** 2 + p.sigma_k ** 2 * (1.0 - decay ** 2))
    lo = np.minimum(np.clip(mean - Z90 * sd, 0.0, p.k_max)[..., None] * cs, limit_kw).sum(axis=2)
    hi = np.minimum(np.clip(mean + Z90 * sd, 0.0, p.k_max)[..., None] * cs, limit_kw).sum(axis=2)
    return (truth >= lo) & (truth <= hi)
