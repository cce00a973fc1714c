"""Forecasts of the camp's PV and load, with p10/p50/p90, and their skill.

- :func:`forecasts.clearsky.clearsky_pv_kw` — clear-sky PV per array (pvlib PVWatts ModelChain,
  Ineichen + Linke turbidity climatology, offline); :func:`forecasts.clearsky.pv_from_weather`.
- :func:`forecasts.pv.pv_forecast` / :func:`forecasts.pv.pv_forecast_by_array` — smart
  persistence of the clear-sky index decaying to climatology.
- :func:`forecasts.load.load_forecast` — time-of-week profile with a recent-level correction.
- :class:`forecasts.rolling.RollingForecaster` — the same forecasters at every issue of a known
  series (backtests), numpy slicing only.
- :mod:`forecasts.skill`, :mod:`forecasts.evaluate` — MAE / RMSE / skill against persistence by
  lead time, on pvlib's TMY3 files (:mod:`forecasts.tmy`) and on the virtual camp.
"""
