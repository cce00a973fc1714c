"""Reproducible stochastic processes for the virtual camp (pure, vectorised).

An AR(1) (discretised Ornstein-Uhlenbeck) process on a fixed 15-min grid anchored at UTC
midnights. Each UTC day draws its own numbers from a generator seeded by
``(seed, stream, day)``, and each day's path is bridged so that it ends where the next day
starts. Hence the value at a given instant depends only on (seed, stream, instant): a
year-long backtest and the live simulator generating one day at a time see the same clouds
and the same load noise. Between grid points values are interpolated linearly (any
resolution, e.g. 1 min).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

GRID_MIN = 15  #: grid step of the processes. [min]
_PER_DAY = 24 * 60 // GRID_MIN
_NS_PER_DAY = 86_400 * 10**9
_DAY_OFFSET = 1_000_000  #: keeps seed words non-negative for dates before 1970

STREAM_CLOUDS = 1
STREAM_LOAD = 2


def _epoch_ns(times: pd.DatetimeIndex) -> np.ndarray:
    """Nanoseconds since the epoch, UTC, as int64."""
    return times.tz_convert("UTC").as_unit("ns").asi8


def standard_ar1(times: pd.DatetimeIndex, seed: int, stream: int, tau_min: float) -> np.ndarray:
    """Unit-variance AR(1) process sampled at ``times``.

    Parameters
    ----------
    times : pd.DatetimeIndex
        Timezone-aware sample instants.
    seed : int
        Seed of the run.
    stream : int
        Independent stream id (clouds, load, ...).
    tau_min : float
        Correlation time of the process. [min]

    Returns
    -------
    np.ndarray
        Values, mean 0 and standard deviation ~1, one per time.
    """
    if len(times) == 0:
        return np.zeros(0)
    ns = _epoch_ns(times)
    d0 = int(ns.min() // _NS_PER_DAY)
    d1 = int(ns.max() // _NS_PER_DAY)
    ndays = d1 - d0 + 1
    z = np.empty((ndays + 1, _PER_DAY + 1))
    for i in range(ndays + 1):
        rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, stream, d0 + i + _DAY_OFFSET])
        z[i] = rng.standard_normal(_PER_DAY + 1)
    phi = float(np.exp(-GRID_MIN / tau_min))
    gain = float(np.sqrt(1.0 - phi * phi))
    x = np.empty((ndays, _PER_DAY + 1))
    x[:, 0] = z[:ndays, 0]  # stationary start drawn first: the previous day can read it
    for k in range(1, _PER_DAY + 1):
        x[:, k] = phi * x[:, k - 1] + gain * z[:ndays, k]
    ramp = np.arange(_PER_DAY + 1) / _PER_DAY
    x += ramp[None, :] * (z[1:, 0] - x[:, -1])[:, None]  # bridge to the next day's start
    grid = np.concatenate([x[:, :-1].ravel(), x[-1:, -1]])
    pos = (ns - d0 * _NS_PER_DAY) / (GRID_MIN * 60 * 10**9)
    return np.interp(pos, np.arange(grid.size), grid)
