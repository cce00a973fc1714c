"""The fuel balance over time: deliveries and unexplained loss (docs/architecture.md §12).

Over a history of samples — stock on site [L] (:func:`microgrid.plant.fuel.site_stock`) and the
diesel burnt since the first sample [L] (metered, else the fuel curve) — the *balance*
``stock + burnt`` stays level while nothing but the gensets takes diesel out: a tanker emptying
into a tank makes it step up (a delivery), a leak or a theft makes it fall (unexplained loss).
Transfers from bulk tanks to day tanks move diesel between two gauged tanks and leave it level.

- :func:`deliveries`: a rise of the balance by more than :data:`DELIVERY_MIN_TOLERANCES` times
  the gauges' tolerance within :data:`RISE_WINDOW_S`; its litres are the settled balance after
  the rise minus the settled balance before it (medians over :data:`SETTLE_S`).
- :func:`unexplained_loss`: over the last ``window_s``, the settled balance at its start minus
  the one at its end, deliveries taken out; an alarm when beyond the gauges' tolerance plus
  :data:`ESTIMATED_BURN_UNCERTAINTY` of the burn that was estimated from the fuel curve.

Pure (numpy arrays in, dataclasses out); times are seconds since the epoch (UTC).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["DELIVERY_MIN_TOLERANCES", "ESTIMATED_BURN_UNCERTAINTY", "RISE_WINDOW_S", "SETTLE_S",
           "Delivery", "FuelSeries", "Loss", "deliveries", "unexplained_loss"]

#: A delivery raises the balance by at least this many times the gauges' tolerance. [-]
DELIVERY_MIN_TOLERANCES = 3.0
#: ... within this lookback (a tanker pumps its load in well under an hour). [s]
RISE_WINDOW_S = 30 * 60.0
#: Settled levels are medians over this long (before a rise, after it, at a window's ends). [s]
SETTLE_S = 15 * 60.0
#: The fuel curve's burn is trusted to this share (metered burn counts as exact). [-]
ESTIMATED_BURN_UNCERTAINTY = 0.10


@dataclass(frozen=True)
class FuelSeries:
    """A history of the fuel on site.

    Attributes
    ----------
    t_s : ndarray
        Sample times, increasing. [s since the epoch, UTC]
    stock_l : ndarray
        Stock on site. [L]
    burnt_l : ndarray
        Diesel burnt since the first sample (cumulative). [L]
    estimated_l : ndarray
        The part of ``burnt_l`` estimated from the fuel curve (cumulative). [L]
    tolerance_l : float
        The gauges' combined tolerance. [L]
    """

    t_s: np.ndarray
    stock_l: np.ndarray
    burnt_l: np.ndarray
    estimated_l: np.ndarray
    tolerance_l: float

    @property
    def balance_l(self) -> np.ndarray:
        """Stock plus what was burnt: level unless diesel came in or went elsewhere. [L]"""
        return self.stock_l + self.burnt_l


@dataclass(frozen=True)
class Delivery:
    """Diesel that came in.

    Attributes
    ----------
    start_s, end_s : float
        When the balance began to rise and when it reached its new level (within the gauges'
        tolerance): the pumping. [s since the epoch]
    litres : float
        Delivered. [L]
    """

    start_s: float
    end_s: float
    litres: float


@dataclass(frozen=True)
class Loss:
    """Diesel gone without being burnt, over a window.

    Attributes
    ----------
    litres : float
        Unexplained loss over the window (negative: the gauges read more than expected). [L]
    threshold_l : float
        Beyond this it is an alarm: the gauges' tolerance plus the estimated burn's uncertainty. [L]
    window_s : float
        The window it was measured over. [s]
    """

    litres: float
    threshold_l: float
    window_s: float

    @property
    def alarm(self) -> bool:
        return self.litres > self.threshold_l


def _median(series: np.ndarray, t_s: np.ndarray, start: float, end: float) -> float | None:
    sel = (t_s >= start) & (t_s <= end)
    return float(np.median(series[sel])) if sel.any() else None


def deliveries(fs: FuelSeries, rise_window_s: float = RISE_WINDOW_S) -> tuple[list[Delivery], float | None]:
    """Deliveries in a history, and when one still under way started (None if none is).

    A delivery is complete once its balance has stayed up for ``rise_window_s`` (the end of the
    rise is then known); one still rising at the last sample is under way.

    Returns
    -------
    (list of Delivery, float or None)
        Complete deliveries in time order; the start of one under way. [s]
    """
    t, a = fs.t_s, fs.balance_l
    n = len(t)
    if n < 2:
        return [], None
    min_rise = DELIVERY_MIN_TOLERANCES * fs.tolerance_l
    first = np.searchsorted(t, t - rise_window_s, side="left")
    rise = a - _rolling_min(t, a, rise_window_s)
    marked = np.flatnonzero(rise > min_rise)
    out: list[Delivery] = []
    under_way: float | None = None
    for s, e in _runs(marked, t, rise_window_s):
        base = a[first[s]:s + 1].min()
        level = np.flatnonzero(a[first[s]:s + 1] <= base + fs.tolerance_l)
        start = float(t[first[s] + int(level[-1])])  # the last sample still at the level before
        if e == n - 1:  # still rising or not yet settled for a whole lookback
            under_way = start
            break
        before = _median(a, t, start - SETTLE_S, start)
        after = _median(a, t, float(t[e]) - SETTLE_S, float(t[e]))
        if before is None or after is None or after - before <= min_rise:
            continue
        settled = s + int(np.flatnonzero(a[s:e + 1] >= after - fs.tolerance_l)[0])  # the pump stopped
        out.append(Delivery(start, float(t[settled]), after - before))
    return out, under_way


def _rolling_min(t: np.ndarray, a: np.ndarray, window_s: float) -> np.ndarray:
    """The minimum of ``a`` over ``[t_i - window_s, t_i]`` for every sample (O(n))."""
    index = pd.to_datetime(t, unit="s")
    return pd.Series(a, index=index).rolling(pd.Timedelta(seconds=window_s), closed="both").min().to_numpy()


def _runs(marked: np.ndarray, t: np.ndarray, gap_s: float) -> list[tuple[int, int]]:
    """Runs of marked indices, runs closer than ``gap_s`` merged: ``[(first, last), ...]``."""
    runs: list[tuple[int, int]] = []
    for i in marked.tolist():
        if runs and t[i] - t[runs[-1][1]] <= gap_s:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def unexplained_loss(fs: FuelSeries, window_s: float, found: list[Delivery] | None = None,
                     under_way_s: float | None = None) -> Loss | None:
    """Diesel gone over the last ``window_s`` that the gensets did not burn.

    None while the history is shorter than the window or a delivery is under way (one that began
    before the window reaches into it too), or the window's ends fall inside a delivery.

    Parameters
    ----------
    fs : FuelSeries
    window_s : float
        [s]
    found, under_way_s : optional
        :func:`deliveries` of ``fs`` when already computed.
    """
    t = fs.t_s
    if len(t) < 2 or t[-1] - t[0] < window_s:
        return None
    if found is None:
        found, under_way_s = deliveries(fs)
    end = float(t[-1])
    start = end - window_s
    if under_way_s is not None:  # it runs up to now, whenever it started: no balance yet
        return None
    adjusted = fs.balance_l.copy()
    keep = np.ones(len(t), dtype=bool)
    for d in found:
        adjusted[t >= d.end_s] -= d.litres
        keep &= ~((t > d.start_s) & (t < d.end_s))
    tk, ak = t[keep], adjusted[keep]
    at_start = _median(ak, tk, start, start + SETTLE_S)
    at_end = _median(ak, tk, end - SETTLE_S, end)
    if at_start is None or at_end is None:
        return None
    sel = t >= start
    estimated = float(fs.estimated_l[sel][-1] - fs.estimated_l[sel][0]) if sel.any() else 0.0
    threshold = fs.tolerance_l + ESTIMATED_BURN_UNCERTAINTY * estimated
    return Loss(at_start - at_end, threshold, window_s)
