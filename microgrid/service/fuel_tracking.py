"""The service's fuel ledger: stock, burn, autonomy, deliveries and unexplained loss over time.

Every poll cycle :meth:`FuelTracker.add` integrates the gensets' burn (metered, else the fuel
curve: :func:`microgrid.plant.fuel.site_burn`) since the previous cycle, and once a minute keeps
a sample of the stock on site (:func:`microgrid.plant.fuel.site_stock`) and the burn so far.
:meth:`FuelTracker.evaluate` runs the kernel's balance over the samples
(:mod:`microgrid.plant.fuel_balance`) and gives the ``fuel`` reading (docs/architecture.md §4)
and a ``fuel_delivery`` reading per delivery found. The rules are the kernel's; this only keeps
the history.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from microgrid.plant.fuel import Burn, Stock, autonomy_days, site_burn, site_stock
from microgrid.plant.fuel_balance import RISE_WINDOW_S, Delivery, FuelSeries, Loss, deliveries, unexplained_loss
from microgrid.readings import Reading
from microgrid.site import Site

__all__ = ["FUEL", "FUEL_DELIVERY", "FuelStatus", "FuelTracker"]

FUEL, FUEL_DELIVERY = "fuel", "fuel_delivery"
#: Burn is integrated over gaps between poll cycles of at most this long. [s]
MAX_GAP_S = 300.0


@dataclass(frozen=True)
class FuelStatus:
    """The fuel figures at one instant (None: not known).

    Attributes
    ----------
    stock : Stock or None
    burn_l_per_day : float or None
        Measured over the last day (or as much of it as is known). [L/d]
    planned_burn_l_per_day : float or None
        The current plan's. [L/d]
    autonomy_days : float or None
        Stock over the planned burn (the measured one while there is no plan). [d]
    loss : Loss or None
    new_deliveries : list of Delivery
        Deliveries found since the last evaluation.
    """

    stock: Stock | None
    burn_l_per_day: float | None
    planned_burn_l_per_day: float | None
    autonomy_days: float | None
    loss: Loss | None
    new_deliveries: list[Delivery] = field(default_factory=list)


class FuelTracker:
    """Fuel history of one site, one sample a minute, ``keep_h`` hours of it.

    Parameters
    ----------
    site : Site
    loss_window_s : float
        Window of the unexplained-loss balance (default the site's ``fuel_loss_window_h``). [s]
    sample_s : float
        One sample per this long. [s]
    """

    def __init__(self, site: Site, loss_window_s: float | None = None, sample_s: float = 60.0):
        self.site = site
        self.loss_window_s = (site.alarms.fuel_loss_window_h * 3600.0 if loss_window_s is None
                              else float(loss_window_s))
        self.sample_s = sample_s
        keep_s = max(self.loss_window_s, 24 * 3600.0) + 2 * RISE_WINDOW_S
        self._samples: deque[tuple[float, float, float, float, float]] = deque(maxlen=int(keep_s / sample_s) + 2)
        self._burnt_l = self._estimated_l = 0.0
        self._last: tuple[datetime, Burn | None] | None = None
        self._stock: Stock | None = None
        self._reported: list[float] = []

    @property
    def enabled(self) -> bool:
        """Whether the site has any tank to keep a ledger of."""
        return bool(self.site.fuel_tanks or self.site.gensets)

    def add(self, now: datetime, latest: Mapping[str, Mapping[str, Any]]) -> None:
        """One poll cycle's latest values (burn integrated, a sample kept once a minute)."""
        burn = site_burn(self.site, latest)
        if self._last is not None:
            t0, rate = self._last
            dt_s = (now - t0).total_seconds()
            if rate is not None and 0 < dt_s <= MAX_GAP_S:
                self._burnt_l += rate.rate_lph * dt_s / 3600.0
                self._estimated_l += rate.estimated_lph * dt_s / 3600.0
        if self._last is None or now > self._last[0]:
            self._last = (now, burn)
        self._stock = site_stock(self.site, latest)
        t = now.timestamp()
        if self._stock is not None and (not self._samples or t - self._samples[-1][0] >= self.sample_s - 1e-6):
            self._samples.append((t, self._stock.stock_l, self._burnt_l, self._estimated_l,
                                  self._stock.tolerance_l))

    def series(self) -> FuelSeries | None:
        """The kept samples (None: none yet)."""
        if not self._samples:
            return None
        a = np.array(self._samples)
        return FuelSeries(a[:, 0], a[:, 1], a[:, 2], a[:, 3], float(a[-1, 4]))

    def evaluate(self, now: datetime, planned_l_per_day: float | None) -> FuelStatus:
        """Stock, burn, autonomy, the loss balance and the deliveries found since last time."""
        fs = self.series()
        if fs is None:
            return FuelStatus(self._stock, None, planned_l_per_day, None, None)
        found, under_way = deliveries(fs)
        loss = unexplained_loss(fs, self.loss_window_s, found, under_way)
        new = [d for d in found if all(abs(d.start_s - s) > RISE_WINDOW_S for s in self._reported)]
        self._reported.extend(d.start_s for d in new)
        self._reported = [s for s in self._reported if s >= fs.t_s[0] - RISE_WINDOW_S]
        burn = _measured_l_per_day(fs)
        basis = planned_l_per_day if planned_l_per_day is not None else burn
        stock = self._stock
        return FuelStatus(stock, burn, planned_l_per_day,
                          autonomy_days(None if stock is None else stock.stock_l, basis), loss, new)

    def readings(self, now: datetime, status: FuelStatus) -> list[Reading]:
        """The ``fuel`` reading at ``now`` and a ``fuel_delivery`` reading per new delivery."""
        tags = {"site": self.site.name}
        fields: dict[str, float] = {}
        if status.stock is not None:
            fields.update(stock_l=status.stock.stock_l, tolerance_l=status.stock.tolerance_l)
        for key, value in (("burn_l_per_day", status.burn_l_per_day),
                           ("planned_burn_l_per_day", status.planned_burn_l_per_day),
                           ("autonomy_days", status.autonomy_days)):
            if value is not None and math.isfinite(value):
                fields[key] = value
        if status.loss is not None:
            fields["unexplained_loss_l"] = status.loss.litres
        out = [Reading(now, FUEL, tags, fields)] if fields else []
        for d in status.new_deliveries:
            out.append(Reading(_utc(d.start_s), FUEL_DELIVERY, tags,
                               {"delivered_l": d.litres, "duration_min": (d.end_s - d.start_s) / 60.0}))
        return out


def _measured_l_per_day(fs: FuelSeries) -> float | None:
    """Burn over the last day of samples (or all of them when shorter, at least an hour). [L/d]"""
    t, burnt = fs.t_s, fs.burnt_l
    start = np.searchsorted(t, t[-1] - 86400.0)
    span = t[-1] - t[start]
    if span < 3600.0:
        return None
    return float((burnt[-1] - burnt[start]) / span * 86400.0)


def _utc(t_s: float) -> datetime:
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=t_s)
