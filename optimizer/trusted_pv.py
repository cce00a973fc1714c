"""The PV the plan trusts: a quantile of the PV forecast (``optimizer.pv_forecast_pct``).

A plan that expects less PV than comes runs gensets and fills the battery with diesel that the sun
would have given, and the PV it then cannot store is curtailed; one that expects more leaves the
battery to cover the difference. The median is not the best bet when the two mistakes cost
differently, so the planner is given the quantile the site configures, interpolated linearly
between the forecast's p10, p50 and p90. The live service and the backtest both call this.
"""

from __future__ import annotations

import numpy as np

from microgrid.site import Site


def trusted_pv_kw(site: Site, p10_kw: np.ndarray, p50_kw: np.ndarray, p90_kw: np.ndarray) -> np.ndarray:
    """PV forecast at ``site.optimizer.pv_forecast_pct`` (10..90), never below 0. [kW]

    Parameters
    ----------
    p10_kw, p50_kw, p90_kw : numpy.ndarray
        The forecast's quantiles, same shape. [kW]
    """
    pct = site.optimizer.pv_forecast_pct
    p50 = np.asarray(p50_kw, dtype=float)
    if pct >= 50.0:
        out = p50 + (pct - 50.0) / 40.0 * (np.asarray(p90_kw, dtype=float) - p50)
    else:
        out = p50 - (50.0 - pct) / 40.0 * (p50 - np.asarray(p10_kw, dtype=float))
    return np.clip(out, 0.0, None)
