"""Conditions driving the virtual camp: camp load and the PV each array can feed (pure).

Values at a row labelled ``t`` are the mean over ``[t, t + step)``, evaluated at the middle
of the step. The stochastic parts depend only on (seed, instant), so any window and any
resolution of the same seed agree with each other (see :mod:`microgrid.simulator.stochastic`).
:class:`SyntheticConditions` is the :class:`~microgrid.plant.conditions.ConditionsSource` the
backtest and the forecast evaluation are given by the applications that run them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from microgrid.errors import InputError
from microgrid.plant.conditions import pv_column
from microgrid.simulator import load as load_model
from microgrid.simulator import weather as weather_model
from microgrid.simulator.settings import SimulatorSettings
from microgrid.site import Site

__all__ = ["SyntheticConditions", "condition_times", "generate_conditions", "generate_weather"]


def condition_times(start: datetime | pd.Timestamp, periods: int, step_min: float) -> pd.DatetimeIndex:
    """UTC index of ``periods`` steps of ``step_min`` minutes from ``start`` (aware)."""
    ts = pd.Timestamp(start)
    if ts.tzinfo is None:
        raise InputError(f"start must be timezone-aware (UTC), got naive {ts.isoformat()}",
                         column="start")
    if not step_min > 0 or periods < 0:
        raise InputError(f"need step_min > 0 and periods >= 0, got {step_min!r}, {periods!r}",
                         column="step_min")
    return pd.date_range(ts.tz_convert("UTC"), periods=int(periods),
                         freq=pd.Timedelta(minutes=step_min), name="time")


def generate_conditions(site: Site, sim: SimulatorSettings, start: datetime | pd.Timestamp, periods: int,
                        step_min: float = 15, seed: int | None = None) -> pd.DataFrame:
    """Camp load and available PV per array.

    Parameters
    ----------
    site : Site
    sim : SimulatorSettings
        The virtual camp's load model and seed.
    start : datetime
        First row's time, timezone-aware.
    periods : int
        Number of rows.
    step_min : float
        Step. [min]
    seed : int, optional
        Seed of the clouds and load noise (default ``sim.seed``).

    Returns
    -------
    pd.DataFrame
        Indexed by UTC time (start of each step), columns ``load_kw`` and
        ``pv_available_kw__<array name>`` [kW], mean over each step.
    """
    times = condition_times(start, periods, step_min)
    seed = sim.seed if seed is None else seed
    mid = times + pd.Timedelta(minutes=step_min) / 2
    out = pd.DataFrame(index=times)
    out["load_kw"] = load_model.load_kw(site, sim, mid, seed)
    if site.pv_arrays:
        wx = weather_model.weather(site, mid, seed)
        for a in site.pv_arrays:
            out[pv_column(a.name)] = weather_model.pv_ac_kw(a, wx)
    return out


def generate_weather(site: Site, start: datetime | pd.Timestamp, periods: int,
                     step_min: float = 15, *, seed: int) -> pd.DataFrame:
    """The weather behind :func:`generate_conditions` (irradiance, clear-sky index, air
    temperature), same index, for plots and for testing forecasts against truth."""
    times = condition_times(start, periods, step_min)
    wx = weather_model.weather(site, times + pd.Timedelta(minutes=step_min) / 2, seed)
    return wx.set_axis(times, axis=0)


@dataclass(frozen=True)
class SyntheticConditions:
    """The virtual camp's conditions as a :class:`~microgrid.plant.conditions.ConditionsSource`.

    Picklable (a backtest chunk in another process rebuilds the same values).
    """

    site: Site
    sim: SimulatorSettings
    seed_override: int | None = None

    @property
    def seed(self) -> int:
        """Seed of the clouds and load noise."""
        return self.sim.seed if self.seed_override is None else int(self.seed_override)

    def frame(self, start: datetime, periods: int, step_min: float) -> pd.DataFrame:
        """:func:`generate_conditions` for this camp and seed."""
        return generate_conditions(self.site, self.sim, start, periods, step_min, self.seed)
