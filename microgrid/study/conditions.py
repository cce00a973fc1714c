"""The load and weather a study operates every re-sized camp in.

- :class:`CampConditions`: the virtual camp's seeded load model and weather
  (:class:`~microgrid.simulator.conditions.SyntheticConditions`), optionally with the camp's
  **measured load** in place of the model (gaps filled by the model and counted) and the PV
  from a **weather file** (hourly irradiance and air temperature of a typical year, put on any
  year by its month, day and hour) through the virtual camp's PV model of each array.

Every value depends only on the instant, so every chunk and every combination sees the same
load and sky; more PV is the only difference between two sizes.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from microgrid.plant.conditions import pv_column
from microgrid.simulator.conditions import SyntheticConditions, condition_times
from microgrid.simulator.settings import SimulatorSettings
from microgrid.simulator.weather import pv_ac_kw
from microgrid.site import Site
from microgrid.study.weather_file import weather_at

__all__ = ["CampConditions"]


@dataclass(frozen=True)
class CampConditions:
    """Conditions of one camp, re-bindable to any re-sized copy of it.

    Attributes
    ----------
    site : Site
        The camp the conditions are for (its arrays give the PV columns).
    sim : SimulatorSettings
        The load model and seed.
    seed_override : int or None
        Seed of clouds and load noise instead of ``sim.seed``.
    load_kw : pandas.Series or None
        Measured load, 15-min means indexed by UTC bucket start; NaN or absent buckets come
        from the load model. [kW]
    weather : pandas.DataFrame or None
        Typical-year hourly ``ghi``, ``dni``, ``dhi`` [W/m²] and ``temp_air`` [°C] indexed by the
        UTC start of each hour (:mod:`microgrid.study.weather_file`); None: the synthetic sky.
    weather_name : str
        The weather file, for messages.
    """

    site: Site
    sim: SimulatorSettings
    seed_override: int | None = None
    load_kw: pd.Series | None = None
    weather: pd.DataFrame | None = None
    weather_name: str = ""

    # -- ConditionsSource ---------------------------------------------------------------------
    @property
    def synthetic(self) -> SyntheticConditions:
        """The virtual camp's own load and sky for this site."""
        return SyntheticConditions(self.site, self.sim, self.seed_override)

    @property
    def seed(self) -> int:
        """Seed of the synthetic parts (the load model filling gaps, the clouds)."""
        return self.synthetic.seed

    def frame(self, start: datetime, periods: int, step_min: float) -> pd.DataFrame:
        """Load and available PV per array (``ConditionsSource.frame``)."""
        out = self.synthetic.frame(start, periods, step_min)
        if self.load_kw is not None:
            measured = measured_on(self.load_kw, out.index, step_min)
            out["load_kw"] = measured.fillna(out["load_kw"]).to_numpy()
        if self.weather is not None and self.site.pv_arrays:
            mid = out.index + pd.Timedelta(minutes=step_min) / 2
            wx = weather_at(self.site, self.weather, mid)
            for a in self.site.pv_arrays:
                out[pv_column(a.name)] = pv_ac_kw(a, wx)
        return out

    # -- StudyConditions ----------------------------------------------------------------------
    def for_site(self, site: Site) -> "CampConditions":
        """The same load and sky for a re-sized copy of the camp."""
        return dataclasses.replace(self, site=site)

    def fingerprint(self) -> dict[str, Any]:
        """Seed and load knobs, and a hash of the measured load and of the weather when given."""
        return {"seed": self.seed, "sim": dataclasses.asdict(self.sim),
                "load": None if self.load_kw is None else _digest(self.load_kw.to_frame()),
                "weather": None if self.weather is None else _digest(self.weather)}

    def measured_share(self, start: datetime, days: float) -> float:
        """Share of the 15-min buckets of ``[start, start + days)`` with a measured load. [0..1]"""
        if self.load_kw is None:
            return 0.0
        times = condition_times(start, int(round(days * 96)), 15)
        return float(measured_on(self.load_kw, times, 15).notna().mean()) if len(times) else 0.0


def measured_on(load_kw: pd.Series, times: pd.DatetimeIndex, step_min: float) -> pd.Series:
    """The measured 15-min load on ``times`` (steps of ``step_min``): each step takes the bucket
    it lies in; NaN where the bucket is missing. [kW]"""
    bucket = times.floor("15min")
    values = load_kw.reindex(bucket).to_numpy(dtype=float)
    return pd.Series(values, index=times)


def _digest(frame: pd.DataFrame) -> str:
    """SHA-256 of a frame's index, columns and values."""
    h = hashlib.sha256()
    h.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    h.update(",".join(map(str, frame.columns)).encode())
    return h.hexdigest()
