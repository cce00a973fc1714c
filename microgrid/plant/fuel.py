"""Fuel on site: stock, burn rate and days of autonomy (docs/architecture.md §12).

The camp's diesel is in its bulk tanks (``[[fuel_tank]]``, each with a level gauge read over
Modbus) and in the gensets' day tanks (``tank_l`` × the ``fuel_level_pct`` each controller
reports; DSE GenComm page 4 offset 3 reads whole percent). Burn is metered where a genset
reports ``fuel_rate_lph``, else the fuel curve (:meth:`microgrid.site.Genset.fuel_rate_lph`) at
its measured power, flagged as estimated. Deliveries and unexplained loss, which need a history
of both, are in :mod:`microgrid.plant.fuel_balance`. Pure: the service, the virtual camp's
tests, the reports and the camp page call these; none computes them again.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from microgrid.site import Genset, Site

__all__ = ["DAY_TANK_RESOLUTION_PCT", "Burn", "Stock", "autonomy_days", "genset_fuel_rate_lph",
           "planned_burn_l_per_day", "site_burn", "site_stock"]

#: A genset controller reports its day tank's level in whole percent (GenComm page 4 offset 3):
#: one step of it is the day tank's gauge tolerance. [%]
DAY_TANK_RESOLUTION_PCT = 1.0

Fields = Mapping[str, object] | None


@dataclass(frozen=True)
class Stock:
    """Diesel on site at one instant.

    Attributes
    ----------
    stock_l : float
        Bulk tanks plus day tanks. [L]
    tolerance_l : float
        The gauges' combined tolerance (± litres). [L]
    by_tank_l : dict
        Contents of each tank (bulk tanks by name, day tanks by genset name). [L]
    """

    stock_l: float
    tolerance_l: float
    by_tank_l: Mapping[str, float]


@dataclass(frozen=True)
class Burn:
    """The gensets' burn rate at one instant.

    Attributes
    ----------
    rate_lph : float
        Metered plus estimated. [L/h]
    estimated_lph : float
        The part from the fuel curve (no meter). [L/h]
    """

    rate_lph: float
    estimated_lph: float


def _number(fields: Fields, key: str) -> float | None:
    v = None if fields is None else fields.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return None
    return float(v)


def site_stock(site: Site, devices: Mapping[str, Fields]) -> Stock | None:
    """Diesel on site from the latest readings; None when a gauge is missing (a missing
    reading stays missing: no partial stock).

    Parameters
    ----------
    devices : mapping
        ``{device: fields}``: each bulk tank's ``volume_l`` [L] (with ``gauge_status`` 0 where
        the gauge reports one), each genset's ``fuel_level_pct`` [%].
    """
    by_tank: dict[str, float] = {}
    tolerance = 0.0
    for t in site.fuel_tanks:
        fields = devices.get(t.name)
        volume, status = _number(fields, "volume_l"), _number(fields, "gauge_status")
        if volume is None or status not in (None, 0.0):  # a gauge in fault reads no usable level
            return None
        by_tank[t.name], tolerance = volume, tolerance + t.gauge_tolerance_l
    for g in site.gensets:
        level = _number(devices.get(g.name), "fuel_level_pct")
        if level is None:
            return None
        by_tank[g.name] = g.tank_l * level / 100.0
        tolerance += g.tank_l * DAY_TANK_RESOLUTION_PCT / 100.0
    if not by_tank:
        return None
    return Stock(sum(by_tank.values()), tolerance, by_tank)


def genset_fuel_rate_lph(g: Genset, fields: Fields) -> tuple[float, bool] | None:
    """A genset's burn rate: metered ``fuel_rate_lph`` where reported, else the fuel curve at
    its ``power_kw`` while ``running``; None when neither is known.

    Returns
    -------
    (rate, estimated) : (float, bool) or None
        Rate [L/h] and whether it came from the fuel curve.
    """
    metered = _number(fields, "fuel_rate_lph")
    if metered is not None:
        return metered, False
    running, power = _number(fields, "running"), _number(fields, "power_kw")
    if running is None and power is not None:
        running = 1.0 if power > 0 else 0.0
    if running is None:
        return None
    if not running:
        return 0.0, True
    if power is None:
        return None
    return g.fuel_rate_lph(power, True), True


def site_burn(site: Site, devices: Mapping[str, Fields]) -> Burn | None:
    """All gensets' burn rate now; None when one genset's is unknown."""
    total = estimated = 0.0
    for g in site.gensets:
        rate = genset_fuel_rate_lph(g, devices.get(g.name))
        if rate is None:
            return None
        total += rate[0]
        estimated += rate[0] if rate[1] else 0.0
    return Burn(total, estimated)


def planned_burn_l_per_day(fuel_l: Sequence[float] | np.ndarray, dt_h: Sequence[float] | np.ndarray) -> float | None:
    """The daily burn of a plan: its diesel over its steps, per day. [L/d] (None: no steps)"""
    hours = float(np.sum(dt_h))
    if hours <= 0:
        return None
    return 24.0 * float(np.sum(fuel_l)) / hours


def autonomy_days(stock_l: float | None, burn_l_per_day: float | None) -> float | None:
    """Days of diesel left at ``burn_l_per_day``: ``inf`` when nothing burns, None when either
    is unknown. [d]"""
    if stock_l is None or burn_l_per_day is None:
        return None
    if burn_l_per_day <= 0:
        return math.inf
    return max(0.0, stock_l) / burn_l_per_day
