"""Forecast data types: what the PV and load forecasters return.

A :class:`Forecast` is one quantity (``"pv"``, ``"load"`` or ``"pv:<array name>"``) issued at one
time, with three quantiles at each target time. Units are in the field names. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Standard-normal quantile of the 90th percentile (the p10/p90 half-width in sigmas).
Z90 = 1.2815515655446004


@dataclass(frozen=True)
class Forecast:
    """Quantile forecast of one quantity.

    Attributes
    ----------
    quantity : str
        ``"pv"`` (site total), ``"pv:<array>"`` or ``"load"``.
    issue_time : pandas.Timestamp
        When the forecast was made (UTC); only data before it was used.
    times : pandas.DatetimeIndex
        Target times (UTC).
    p10_kw, p50_kw, p90_kw : numpy.ndarray
        10th, 50th and 90th percentiles at each target time; p10 ≤ p50 ≤ p90. [kW]
    """

    quantity: str
    issue_time: pd.Timestamp
    times: pd.DatetimeIndex
    p10_kw: np.ndarray
    p50_kw: np.ndarray
    p90_kw: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.times)
        for name in ("p10_kw", "p50_kw", "p90_kw"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{self.quantity}: {name} has {len(getattr(self, name))} values "
                                 f"for {n} times")

    @property
    def lead_h(self) -> np.ndarray:
        """Lead time of each target. [h]"""
        return ((self.times - self.issue_time) / pd.Timedelta(hours=1)).to_numpy(dtype=float)

    def to_frame(self) -> pd.DataFrame:
        """The forecast as a DataFrame indexed by target time: ``p10_kw``, ``p50_kw``, ``p90_kw``."""
        return pd.DataFrame({"p10_kw": self.p10_kw, "p50_kw": self.p50_kw,
                             "p90_kw": self.p90_kw}, index=self.times)

    def __add__(self, other: Forecast) -> Forecast:
        """Sum of two forecasts on the same times (quantiles add: the errors are taken as fully
        correlated, as for arrays under one sky)."""
        if not self.times.equals(other.times):
            raise ValueError("forecasts on different times cannot be added")
        return Forecast(self.quantity.split(":")[0], self.issue_time, self.times,
                        self.p10_kw + other.p10_kw, self.p50_kw + other.p50_kw,
                        self.p90_kw + other.p90_kw)
