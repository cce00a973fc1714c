"""The virtual camp's diesel: bulk tanks, day tanks, tanker deliveries and a leak.

Each genset burns from its day tank (the kernel's fuel curve, through the step model); a day
tank below :data:`DAY_TANK_REFILL_PCT` is topped up from the bulk tanks (the fullest first),
as a float switch and transfer pump do. Tankers come on a schedule (``[simulator]``
``fuel_delivery_*``: every N days from a first arrival, pumping at a set rate into the bulk tank
with most room), and a leak can drain the first bulk tank (``fuel_leak_l_per_h`` from the start,
or :meth:`FuelDepot.set_leak` at any time). Without bulk tanks in the site file the day tanks
are topped up from an unmetered supply, as before.

Bulk gauges read the contents plus a seeded noise (``fuel_gauge_noise_l``, depending only on
the seed and the minute), so detection works on gauge-like data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from microgrid.simulator.settings import SimulatorSettings
from microgrid.site import FuelTank, Site

__all__ = ["DAY_TANK_REFILL_PCT", "FUEL_TYPE_DIESEL", "DeliveryRecord", "FuelDepot"]

DAY_TANK_REFILL_PCT = 25.0  #: a day tank is topped up from the bulk tanks below this level. [%]
FUEL_TYPE_DIESEL = 7  #: Victron's /FluidType for diesel.


@dataclass
class DeliveryRecord:
    """One tanker: when it started pumping, and the litres it put in so far."""

    start: datetime
    tank: str
    litres: float = 0.0
    done: bool = False


@dataclass
class FuelDepot:
    """The camp's diesel stocks, advanced step by step with the physics.

    Parameters
    ----------
    site : Site
    sim : SimulatorSettings
    start : datetime
        The virtual camp's start (deliveries are scheduled from it).
    seed : int
    """

    site: Site
    sim: SimulatorSettings
    start: datetime
    seed: int
    day_l: dict[str, float] = field(init=False)
    bulk_l: dict[str, float] = field(init=False)
    leak_l_per_h: float = field(init=False)
    leak_tank: str | None = field(init=False)
    deliveries: list[DeliveryRecord] = field(init=False, default_factory=list)
    refills: dict[str, int] = field(init=False)
    leaked_l: float = field(init=False, default=0.0)
    _noise: dict[tuple[str, int], float] = field(init=False, default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.day_l = {g.name: g.tank_l for g in self.site.gensets}
        self.bulk_l = {t.name: t.capacity_l * self.sim.fuel_tank_initial_pct / 100.0 for t in self.site.fuel_tanks}
        self.refills = {g.name: 0 for g in self.site.gensets}
        self.leak_l_per_h = self.sim.fuel_leak_l_per_h
        self.leak_tank = self.site.fuel_tanks[0].name if self.site.fuel_tanks else None

    # ------------------------------------------------------------------------- control
    def set_leak(self, l_per_h: float, tank: str | None = None) -> None:
        """Switch a leak on (``l_per_h`` > 0) or off (0), from ``tank`` (default the first). [L/h]"""
        if tank is not None and tank not in self.bulk_l:
            raise KeyError(f"no bulk tank {tank!r}")
        self.leak_l_per_h = max(0.0, float(l_per_h))
        self.leak_tank = tank or self.leak_tank

    def schedule(self, until: datetime) -> list[datetime]:
        """Tanker arrivals from the start up to ``until``."""
        every = self.sim.fuel_delivery_every_days
        if every <= 0 or self.sim.fuel_delivery_l <= 0 or not self.site.fuel_tanks:
            return []
        out, t = [], self.start + timedelta(hours=self.sim.fuel_delivery_first_h)
        while t <= until:
            out.append(t)
            t += timedelta(days=every)
        return out

    # ------------------------------------------------------------------------- physics
    def step(self, t: datetime, dt_s: float, burnt_l: dict[str, float]) -> None:
        """Advance one physics step ``[t, t + dt_s)``: burn, top-ups, deliveries, the leak."""
        for g in self.site.gensets:
            self.day_l[g.name] = max(0.0, self.day_l[g.name] - burnt_l.get(g.name, 0.0))
            if self.day_l[g.name] < DAY_TANK_REFILL_PCT / 100.0 * g.tank_l:
                self._top_up(g.name, g.tank_l - self.day_l[g.name])
        self._deliver(t, dt_s)
        if self.leak_l_per_h > 0 and self.leak_tank is not None:
            lost = min(self.bulk_l[self.leak_tank], self.leak_l_per_h * dt_s / 3600.0)
            self.bulk_l[self.leak_tank] -= lost
            self.leaked_l += lost

    def _top_up(self, genset: str, want_l: float) -> None:
        if not self.bulk_l:  # no bulk tank in the site file: an unmetered supply
            self.day_l[genset] += want_l
            self.refills[genset] += 1
            return
        source = max(self.bulk_l, key=lambda n: self.bulk_l[n])
        moved = min(want_l, self.bulk_l[source])
        if moved > 0:
            self.bulk_l[source] -= moved
            self.day_l[genset] += moved
            self.refills[genset] += 1

    def _deliver(self, t: datetime, dt_s: float) -> None:
        for arrival in self.schedule(t):
            if not any(d.start == arrival for d in self.deliveries):
                tank = max(self.site.fuel_tanks, key=lambda k: k.capacity_l - self.bulk_l[k.name])
                self.deliveries.append(DeliveryRecord(arrival, tank.name))
        for d in self.deliveries:
            if d.done or d.start > t:
                continue
            tank = self._tank(d.tank)
            pump = min(self.sim.fuel_delivery_l_per_min * dt_s / 60.0, self.sim.fuel_delivery_l - d.litres,
                       tank.capacity_l - self.bulk_l[tank.name])
            self.bulk_l[tank.name] += max(0.0, pump)
            d.litres += max(0.0, pump)
            if pump <= 1e-9:
                d.done = True

    def _tank(self, name: str) -> FuelTank:
        return next(k for k in self.site.fuel_tanks if k.name == name)

    # ------------------------------------------------------------------------- gauges
    def gauge_l(self, tank: str, t: datetime) -> float:
        """What the tank's gauge reads at ``t``: contents plus the seeded noise of that minute. [L]"""
        noise = self.sim.fuel_gauge_noise_l
        if noise > 0:
            minute = int(t.timestamp() // 60)
            key = (tank, minute)
            if key not in self._noise:
                rng = np.random.default_rng([self.seed & 0xFFFFFFFF, minute & 0xFFFFFFFF, _stable(tank)])
                self._noise = {k: v for k, v in self._noise.items() if k[1] >= minute - 1}
                self._noise[key] = float(rng.normal(0.0, noise))
            reading = self.bulk_l[tank] + self._noise[key]
        else:
            reading = self.bulk_l[tank]
        return min(max(reading, 0.0), self._tank(tank).capacity_l)

    @property
    def stock_l(self) -> float:
        """Everything in the bulk and day tanks. [L]"""
        return sum(self.bulk_l.values()) + sum(self.day_l.values())

    @property
    def delivered_l(self) -> float:
        return sum(d.litres for d in self.deliveries)


def _stable(name: str) -> int:
    """A number for a name that does not change between runs (``hash`` does)."""
    return int.from_bytes(name.encode()[:8].ljust(8, b"\0"), "little") % (2**32 - 1) or 1


def level_pct(litres: float, capacity_l: float) -> float:
    """Contents as a share of capacity. [%]"""
    return 100.0 * litres / capacity_l if capacity_l > 0 and math.isfinite(litres) else math.nan
