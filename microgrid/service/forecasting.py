"""What the service plans on: a rolling 15-min history of load and PV, and the forecast it makes.

The history is fed by the service's own 15-min ``energy`` roll-ups (and, on start, by the
historian), so a restarted service forecasts from what it measured before.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Iterable

import numpy as np
import pandas as pd

from forecasts.load import load_forecast
from forecasts.pv import pv_forecast
from forecasts.types import Forecast
from microgrid.errors import PlanError
from microgrid.plant.bucket import BUCKET_H
from microgrid.readings import Reading
from microgrid.site import Site
from optimizer.plan import PlanInputs
from optimizer.trusted_pv import trusted_pv_kw


class History:
    """Mean load and PV power per 15-min bucket, the last ``days`` days. [kW]"""

    def __init__(self, days: float = 14.0):
        self.days = days
        self.frame = pd.DataFrame({"load_kw": pd.Series(dtype=float), "pv_kw": pd.Series(dtype=float)},
                                  index=pd.DatetimeIndex([], tz="UTC"))

    def add_energy(self, readings: Iterable[Reading]) -> None:
        """Take the ``energy`` roll-ups among ``readings`` (others are ignored)."""
        rows = {}
        for r in readings:
            if r.measurement != "energy":
                continue
            rows[pd.Timestamp(r.time)] = {"load_kw": r.fields.get("load_kwh", math.nan) / BUCKET_H,
                                          "pv_kw": r.fields.get("pv_kwh", math.nan) / BUCKET_H}
        if rows:
            self.add_frame(pd.DataFrame.from_dict(rows, orient="index"))

    def add_frame(self, frame: pd.DataFrame) -> None:
        """Merge 15-min rows (``load_kw``, ``pv_kw``) indexed by aware UTC time; newer rows win."""
        frame = frame.reindex(columns=["load_kw", "pv_kw"]).astype(float)
        merged = pd.concat([self.frame, frame]) if len(self.frame) else frame
        merged = merged[~merged.index.duplicated(keep="last")].sort_index()
        cutoff = merged.index.max() - pd.Timedelta(days=self.days)
        self.frame = merged[merged.index > cutoff]

    def __len__(self) -> int:
        return len(self.frame)


def forecast_inputs(site: Site, issue: datetime, history: History, *,
                    current_load_kw: float | None = None,
                    current_pv_kw: float | None = None) -> tuple[PlanInputs, list[Forecast]]:
    """Plan inputs for the horizon from ``issue`` (aligned down to the planning step).

    Load: time-of-week profile from the history with the recent-level correction; where the
    history cannot say (a new camp), the last measured load is held (persistence), else the
    site's ``forecast.cold_start_load_kw``. PV: clear-sky scaled by the recent clear-sky index
    (smart persistence decaying to the site's climatology); the plan gets the quantile the site
    trusts (``optimizer.pv_forecast_pct``, :mod:`optimizer.trusted_pv`).

    Raises
    ------
    PlanError
        No load measured yet and no ``forecast.cold_start_load_kw`` in the site file: there is
        nothing honest to plan on (the devices stay in their own automatic mode).

    Returns
    -------
    (PlanInputs, [load Forecast, pv Forecast])
    """
    step = timedelta(minutes=site.optimizer.step_min)
    start = _floor(issue, step)
    n = int(round(site.optimizer.horizon_h * 60 / site.optimizer.step_min))
    times = pd.date_range(pd.Timestamp(start), periods=n, freq=step)
    centres = times + step / 2
    hist = history.frame
    load = None
    if hist["load_kw"].notna().sum() >= 8:
        load = load_forecast(hist["load_kw"], pd.Timestamp(issue), times)
    fallback = current_load_kw
    if fallback is None or not math.isfinite(fallback):
        recent = hist["load_kw"].dropna()
        fallback = float(recent.iloc[-1]) if len(recent) else site.forecast.cold_start_load_kw
    if fallback is None:
        raise PlanError("no load measured yet and no forecast.cold_start_load_kw in the site file: "
                        "no plan until the load meter answers")
    if load is None:
        flat = np.full(n, fallback)
        load = Forecast("load", pd.Timestamp(issue), times, flat * 0.9, flat, flat * 1.1)
    else:
        def fill(a: np.ndarray) -> np.ndarray:
            return np.where(np.isfinite(a), a, fallback)

        load = Forecast("load", load.issue_time, times, fill(load.p10_kw), fill(load.p50_kw),
                        fill(load.p90_kw))
    measured = hist["pv_kw"].dropna()
    if current_pv_kw is not None and math.isfinite(current_pv_kw):
        measured = pd.concat([measured, pd.Series([current_pv_kw], index=[pd.Timestamp(issue)
                                                                         - pd.Timedelta(seconds=1)])])
    pv = pv_forecast(site, pd.Timestamp(issue), centres, measured if len(measured) else None)
    pv = Forecast("pv", pv.issue_time, times, pv.p10_kw, pv.p50_kw, pv.p90_kw)
    inputs = PlanInputs.regular(start, site.optimizer.step_min, np.clip(load.p50_kw, 0.0, None),
                                trusted_pv_kw(site, pv.p10_kw, pv.p50_kw, pv.p90_kw))
    return inputs, [load, pv]


def forecast_readings(site: Site, forecasts: Iterable[Forecast]) -> list[Reading]:
    """docs/architecture.md §4 ``forecast`` points (tag ``quantity``); each issue overwrites the future points."""
    out = []
    for f in forecasts:
        tags = {"site": site.name, "quantity": f.quantity}
        for t, lo, mid, hi in zip(f.times, f.p10_kw, f.p50_kw, f.p90_kw):
            out.append(Reading(t.to_pydatetime(), "forecast", tags,
                               {"p10_kw": float(lo), "p50_kw": float(mid), "p90_kw": float(hi)}))
    return out


def _floor(t: datetime, step: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=t.tzinfo)
    return epoch + ((t - epoch) // step) * step
