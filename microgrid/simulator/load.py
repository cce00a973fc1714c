"""Camp load profile of the virtual camp (pure, vectorised).

base load + an afternoon air-conditioning bump reaching ``load_peak_kw`` at
``load_peak_hour`` (local solar time) + three meal-time kitchen bumps, slightly lower
daytime load on weekends, times (1 + AR(1) noise of ``load_noise_pct``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from microgrid.simulator.settings import SimulatorSettings
from microgrid.simulator.stochastic import STREAM_LOAD, standard_ar1
from microgrid.simulator.weather import solar_hour
from microgrid.site import Site

AC_WIDTH_H = 3.5  #: standard deviation (width) of the air-conditioning bump. [h]
MEALS_H = (7.0, 12.5, 19.0)  #: local solar hours of breakfast, lunch, dinner. [h]
MEAL_WIDTH_H = 0.6  #: width of a meal bump. [h]
MEAL_FRACTION = 0.06  #: meal bump height as a fraction of the base load. [-]
WEEKEND_AC_FACTOR = 0.93  #: air-conditioning share on Saturday/Sunday (offices closed). [-]
LOAD_NOISE_TAU_MIN = 60.0  #: correlation time of the load noise. [min]


def _bump(hour: np.ndarray, centre_h: float, width_h: float) -> np.ndarray:
    """Gaussian bump of height 1 on the 24-h circle."""
    d = np.mod(hour - centre_h + 12.0, 24.0) - 12.0
    return np.exp(-0.5 * (d / width_h) ** 2)


def load_shape_kw(site: Site, sim: SimulatorSettings, times: pd.DatetimeIndex) -> np.ndarray:
    """Deterministic camp load (no noise) at ``times``. [kW]"""
    h = solar_hour(times, site.location.longitude)
    ac = (sim.load_peak_kw - sim.load_base_kw) * _bump(h, sim.load_peak_hour, AC_WIDTH_H)
    local_day = (times.tz_convert("UTC") + pd.to_timedelta(site.location.longitude / 15.0, unit="h"))
    weekend = np.asarray(local_day.day_of_week >= 5)
    ac = np.where(weekend, ac * WEEKEND_AC_FACTOR, ac)
    meals = sum(_bump(h, m, MEAL_WIDTH_H) for m in MEALS_H) * MEAL_FRACTION * sim.load_base_kw
    return sim.load_base_kw + ac + meals


def load_kw(site: Site, sim: SimulatorSettings, times: pd.DatetimeIndex, seed: int) -> np.ndarray:
    """Camp load with AR(1) noise of ``load_noise_pct`` standard deviation. [kW]"""
    noise = sim.load_noise_pct / 100.0 * standard_ar1(times, seed, STREAM_LOAD, LOAD_NOISE_TAU_MIN)
    return np.clip(load_shape_kw(site, sim, times) * (1.0 + noise), 0.0, None)
