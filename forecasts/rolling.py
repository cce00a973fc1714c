"""Rolling forecasts over a known series: the realistic-error forecasts of a backtest.

:class:`RollingForecaster` runs the real PV and load forecasters at any issue position of a
truth frame (the simulated camp's conditions or a TMY run through the ModelChain), using only
the values before the issue time. Clear-sky PV is computed once for the whole grid with pvlib;
each forecast is then numpy slicing (a year of 15-min issues takes seconds).

Grid convention: row ``i`` of the truth covers ``[t_i, t_i + step)``; a forecast issued at
``t_i`` knows rows ``< i`` and covers rows ``i .. i + horizon − 1``; the lead of row ``j`` is
``(j − i + 0.5)·step`` (to the middle of the interval).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasts.clearsky import clearsky_pv_kw
from forecasts.load import LoadCore, LoadForecastParams
from forecasts.pv import PvForecastParams, persistence_kw, pv_quantiles
from microgrid.plant.conditions import PV_PREFIX
from microgrid.site import Site


@dataclass(frozen=True)
class StepForecast:
    """PV (per array) and load forecasts on the grid rows after one issue.

    Attributes
    ----------
    issue : int
        Grid row of the issue time.
    times : pandas.DatetimeIndex
        Start of each target interval (UTC).
    lead_h : numpy.ndarray
        Lead to the middle of each target interval. [h]
    pv_p10_kw, pv_p50_kw, pv_p90_kw : numpy.ndarray
        Shape (horizon, arrays), arrays in site order. [kW]
    load_p10_kw, load_p50_kw, load_p90_kw : numpy.ndarray
        Shape (horizon,). [kW]
    """

    issue: int
    times: pd.DatetimeIndex
    lead_h: np.ndarray
    pv_p10_kw: np.ndarray
    pv_p50_kw: np.ndarray
    pv_p90_kw: np.ndarray
    load_p10_kw: np.ndarray
    load_p50_kw: np.ndarray
    load_p90_kw: np.ndarray

    @property
    def pv_total_p50_kw(self) -> np.ndarray:
        """Site-total PV p50. [kW]"""
        return self.pv_p50_kw.sum(axis=1)


class RollingForecaster:
    """PV and load forecasts at any issue time of a truth frame, from its past only.

    Parameters
    ----------
    site : Site
    truth : pandas.DataFrame
        Regular UTC index (interval starts); ``load_kw`` and ``pv_available_kw__<array>`` for
        every array of the site (the columns of ``generate_conditions``). [kW]
    pv_params : PvForecastParams, optional
        Default :meth:`PvForecastParams.for_site`.
    load_params : LoadForecastParams, optional
    clearsky_kw : pandas.DataFrame, optional
        Clear-sky PV per array on ``truth.index`` extended by ``max_horizon_steps`` rows;
        computed with pvlib at the middle of each interval when omitted. [kW]
    max_horizon_steps : int
        Longest horizon asked for (the clear-sky curve extends past the truth by this much).
    """

    def __init__(self, site: Site, truth: pd.DataFrame, pv_params: PvForecastParams | None = None,
                 load_params: LoadForecastParams | None = None,
                 clearsky_kw: pd.DataFrame | None = None, max_horizon_steps: int = 7 * 96):
        self.site = site
        self.index = pd.DatetimeIndex(truth.index)
        self.step = self.index[1] - self.index[0]
        self.step_h = self.step / pd.Timedelta(hours=1)
        self.max_horizon = max_horizon_steps
        self.pv_params = pv_params or PvForecastParams.for_site(site)
        names = [a.name for a in site.pv_arrays]
        missing = [PV_PREFIX + n for n in names if PV_PREFIX + n not in truth] + \
            (["load_kw"] if "load_kw" not in truth else [])
        if missing:
            raise ValueError(f"truth frame lacks columns {missing}")
        self.pv_truth_kw = truth[[PV_PREFIX + n for n in names]].to_numpy(dtype=float)
        self.load_truth_kw = truth["load_kw"].to_numpy(dtype=float)
        full = pd.date_range(self.index[0], periods=len(self.index) + max_horizon_steps,
                             freq=self.step)
        if clearsky_kw is None:
            clearsky_kw = clearsky_pv_kw(site, full + self.step / 2)
        self.cs_kw = np.asarray(clearsky_kw[names] if isinstance(clearsky_kw, pd.DataFrame)
                                else clearsky_kw, dtype=float)
        if len(self.cs_kw) < len(full):
            raise ValueError(f"clear-sky PV has {len(self.cs_kw)} rows, need {len(full)}")
        self.full_index = full
        self.limit_kw = np.array([a.inverter_kw for a in site.pv_arrays])
        self.threshold_kw = self.pv_params.day_frac * float(self.limit_kw.sum())
        self._init_k_sums()
        self.load = LoadCore(self.load_truth_kw, self.step_h, load_params or LoadForecastParams())

    def _init_k_sums(self) -> None:
        """Prefix sums over daytime samples, so the index of the last ``window_h`` of daytime
        before any issue is O(1)."""
        m = self.pv_truth_kw.sum(axis=1)
        c = self.cs_kw[: len(m)].sum(axis=1)
        day = (c >= self.threshold_kw) & np.isfinite(m)
        self._day_pos = np.flatnonzero(day)
        self._cum_m = np.concatenate([[0.0], np.cumsum(m[day])])
        self._cum_c = np.concatenate([[0.0], np.cumsum(c[day])])
        self._window = max(1, int(round(self.pv_params.window_h / self.step_h)))

    def position(self, issue: int | pd.Timestamp) -> int:
        """Grid row of an issue time (a row number is returned unchanged)."""
        if isinstance(issue, (int, np.integer)):
            return int(issue)
        pos = self.index.get_indexer([pd.Timestamp(issue)])[0]
        if pos < 0:
            raise KeyError(f"issue time {issue} is not on the truth grid")
        return int(pos)

    def k0(self, issue: int) -> tuple[float, float]:
        """Clear-sky index of the last ``window_h`` of daytime samples before the issue, and its
        age at issue time (from the middle of the last daytime sample). ``(nan, nan)`` before
        the first daytime sample. [-], [h]"""
        r = int(np.searchsorted(self._day_pos, issue))  # daytime samples before the issue
        if r == 0:
            return float("nan"), float("nan")
        a = max(0, r - self._window)
        k = (self._cum_m[r] - self._cum_m[a]) / (self._cum_c[r] - self._cum_c[a])
        return float(k), (issue - self._day_pos[r - 1] - 0.5) * self.step_h

    def forecast(self, issue: int | pd.Timestamp, horizon_steps: int) -> StepForecast:
        """PV and load forecasts for the ``horizon_steps`` rows from the issue on."""
        i = self.position(issue)
        if horizon_steps > self.max_horizon:
            raise ValueError(f"horizon {horizon_steps} > max_horizon_steps {self.max_horizon}")
        pos = np.arange(i, i + horizon_steps)
        lead = (pos - i + 0.5) * self.step_h
        k0, age_h = self.k0(i)
        pv10, pv50, pv90 = pv_quantiles(self.cs_kw[i:i + horizon_steps], lead, k0,
                                        self.pv_params, self.limit_kw, age_h)
        ld10, ld50, ld90 = self.load.forecast(i, pos)
        return StepForecast(i, self.full_index[i:i + horizon_steps], lead, pv10, pv50, pv90,
                            ld10, ld50, ld90)

    def pv_reference_kw(self, issue: int, horizon_steps: int) -> np.ndarray:
        """Smart persistence (last known clear-sky index held), shape (horizon, arrays). [kW]"""
        return persistence_kw(self.cs_kw[issue:issue + horizon_steps], self.k0(issue)[0],
                              self.pv_params, self.limit_kw)

    def load_reference_kw(self, issue: int, horizon_steps: int) -> np.ndarray:
        """Persistence of the same time on the latest known day. [kW]"""
        return self.load.persistence(issue, np.arange(issue, issue + horizon_steps))


__all__ = ["RollingForecaster", "StepForecast", "PV_PREFIX"]
