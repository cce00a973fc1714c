"""Speed of the forecasters over a simulated year of 15-min issues (the backtest's load).

Baseline measured in the same run: the pure per-call forecasters (pvlib ModelChain clear-sky
for every issue, pandas load profile) on a sample of issues, extrapolated to a year. Then the
:class:`forecasts.rolling.RollingForecaster` (clear-sky precomputed once, numpy slicing per
issue) over every 15-min issue of the year, PV and load, 48 h ahead. Prints seconds and the
ratio. Asserts nothing.

    PYTHONPATH=. .venv/bin/python bench/bench_forecasts.py
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import pandas as pd

from forecasts.evaluate import simulated_truth
from forecasts.load import load_forecast
from forecasts.pv import pv_forecast
from forecasts.rolling import PV_PREFIX, RollingForecaster
from microgrid.simulator.conditions import SyntheticConditions
from microgrid.simulator.settings import load_camp

SITE, SIM = load_camp(Path(__file__).resolve().parents[1] / "sites" / "example-camp.toml")
YEAR_15MIN = 35_040
HORIZON = 192  # 48 h at 15 min
SAMPLE = 40


def main() -> None:
    warnings.simplefilter("ignore")
    t = time.perf_counter()
    truth = simulated_truth(SyntheticConditions(SITE, SIM), 366 + 2)
    t_truth = time.perf_counter() - t
    pv_total = truth.filter(like=PV_PREFIX).sum(axis=1)
    step = pd.Timedelta("15min")

    t = time.perf_counter()
    for i in range(30 * 96, 30 * 96 + SAMPLE * 97, 97):
        issue = truth.index[i]
        times = pd.date_range(issue, periods=HORIZON, freq=step)
        pv_forecast(SITE, issue, times + step / 2,
                    pv_total.iloc[i - 96:i].set_axis(truth.index[i - 96:i] + step / 2))
        load_forecast(truth["load_kw"].iloc[i - 28 * 96:i], issue, times)
    per_call = (time.perf_counter() - t) / SAMPLE
    baseline_year = per_call * YEAR_15MIN

    t = time.perf_counter()
    fc = RollingForecaster(SITE, truth, max_horizon_steps=HORIZON)
    t_init = time.perf_counter() - t
    t = time.perf_counter()
    for i in range(YEAR_15MIN):
        fc.forecast(i, HORIZON)
    t_year = time.perf_counter() - t

    print(f"simulated truth, a year at 15 min:            {t_truth:7.2f} s")
    print(f"baseline: pure forecasters, per issue:        {per_call * 1000:7.1f} ms "
          f"→ a year of issues ≈ {baseline_year:7.0f} s (extrapolated from {SAMPLE})")
    print(f"RollingForecaster init (clear-sky for a year): {t_init:7.2f} s")
    print(f"RollingForecaster, {YEAR_15MIN} issues × 48 h (PV+load): {t_year:7.2f} s "
          f"({t_year / YEAR_15MIN * 1e6:.0f} µs per issue)")
    print(f"ratio baseline / rolling (incl. init):        {baseline_year / (t_year + t_init):7.1f} ×")


if __name__ == "__main__":
    main()
