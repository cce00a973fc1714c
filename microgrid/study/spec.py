"""What a study varies and how: the grid of PV and battery sizes, the strategies, the options.

Pure. A combination re-sizes the camp's *existing* plant (:func:`resize_site`): every PV array
keeps its orientation and losses and scales its kWp and inverter rating by one factor, every
battery keeps its C-rate, efficiencies and SOC window and scales its capacity and power ratings by
one factor. The gensets, the load and the weather stay the camp's own.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass
from datetime import datetime

from microgrid.errors import InputError
from microgrid.site import Site

__all__ = ["Sizing", "StudyOptions", "combinations", "parse_sizes", "resize_site", "site_sizing"]


@dataclass(frozen=True, order=True)
class Sizing:
    """One combination of the grid: total PV and total battery of the camp."""

    pv_kwp: float  #: PV DC nameplate of the whole camp. [kWp]
    battery_kwh: float  #: usable battery capacity of the whole camp. [kWh]
    strategy: str  #: ``milp``, ``load-following`` or ``cycle-charging``

    @property
    def label(self) -> str:
        """``PV 1200 kWp, battery 2000 kWh, milp``: how messages name the combination."""
        return f"PV {self.pv_kwp:g} kWp, battery {self.battery_kwh:g} kWh, {self.strategy}"


@dataclass(frozen=True)
class StudyOptions:
    """How every backtest of a study operates the camp.

    The defaults are the operation a year is measured in (``bench/bench_year.py``): re-plan every
    60 min over a 24 h horizon, 15-min steps for the first 2 h, hourly to 8 h, 2-h blocks after,
    1 % MIP gap; realistic forecasts (the service's own forecasters on the simulated history).

    Attributes
    ----------
    start : datetime
        First counted instant, aware UTC, on the planning grid.
    days : float
        Counted period of every backtest. [d]
    chunk_days : float
        Longest chunk a task simulates; each combination is cut into ``ceil(days / chunk_days)``
        consecutive chunks (:func:`optimizer.backtest_chunks.chunk_periods`). [d]
    spinup_days : float
        Uncounted days before every chunk but the first. [d]
    forecast : str
        ``realistic`` or ``perfect``.
    replan_every_min : float
        [min]
    horizon_h : float
        Planning horizon; the fine part is ``min(2 h, horizon)``, hourly to ``min(8 h, horizon)``. [h]
    mip_rel_gap : float
        [fraction]
    time_limit_s : float
        Time limit of one MILP solve. A study has no real-time deadline, and a generous limit keeps
        its results repeatable: with the site's 10 s, HiGHS (1.15, one thread) returned different
        plans within the gap for the same solve depending on how loaded the machine was, even
        when no solve came near the limit (its heuristics budget the time left); with 300 s the
        same chunk gave the same plans alone and with six copies competing for two cores. [s]
    seed : int or None
        Seed of the synthetic weather and load (None: the site's simulator seed).
    """

    start: datetime
    days: float
    chunk_days: float = 30.0
    spinup_days: float = 2.0
    forecast: str = "realistic"
    replan_every_min: float = 60.0
    horizon_h: float = 24.0
    mip_rel_gap: float = 0.01
    time_limit_s: float = 300.0
    seed: int | None = None

    @property
    def chunks(self) -> int:
        """Chunks per combination."""
        return max(1, math.ceil(self.days / self.chunk_days - 1e-9))

    def operated_site(self, site: Site) -> Site:
        """``site`` with the study's planning horizon (its steps within it as documented above)."""
        h = float(self.horizon_h)
        opt = dataclasses.replace(site.optimizer, horizon_h=h, fine_horizon_h=min(2.0, h),
                                  hourly_horizon_h=min(8.0, h))
        return dataclasses.replace(site, optimizer=opt)


def parse_sizes(text: str, option: str) -> tuple[float, ...]:
    """``"600,1200,1800"`` as sizes (≥ 0, finite, distinct), in the given order.

    Raises
    ------
    InputError
        Naming the option and the bad item.
    """
    out: list[float] = []
    for item in (p.strip() for p in text.split(",")):
        try:
            value = float(item)
        except ValueError:
            raise InputError(f"{item!r} is not a number (give e.g. 600,1200,1800)", path=option) from None
        if not math.isfinite(value) or value < 0:
            raise InputError(f"{item!r} must be a finite size >= 0", path=option)
        if value in out:
            raise InputError(f"{item!r} is given twice", path=option)
        out.append(value)
    return tuple(out)


def combinations(pv_kwp: tuple[float, ...], battery_kwh: tuple[float, ...],
                 strategies: tuple[str, ...]) -> list[Sizing]:
    """Every PV × battery × strategy, PV outermost, in the given orders."""
    return [Sizing(p, b, s) for p, b, s in itertools.product(pv_kwp, battery_kwh, strategies)]


def site_sizing(site: Site) -> tuple[float, float]:
    """The camp as built: (PV kWp, battery kWh)."""
    return site.pv_kwp, sum(b.capacity_kwh for b in site.batteries)


def resize_site(site: Site, pv_kwp: float, battery_kwh: float) -> Site:
    """``site`` with its PV and batteries scaled to the given totals (module docstring).

    Zero removes the arrays or the batteries.

    Raises
    ------
    InputError
        A size above zero for a camp that has no PV array or no battery to scale, or a camp
        left with neither a genset nor a battery.
    """
    pv0, bat0 = site_sizing(site)
    if pv_kwp > 0 and pv0 <= 0:
        raise InputError(f"site {site.name!r} has no PV array to scale to {pv_kwp:g} kWp", path="--pv-kwp")
    if battery_kwh > 0 and bat0 <= 0:
        raise InputError(f"site {site.name!r} has no battery to scale to {battery_kwh:g} kWh",
                         path="--battery-kwh")
    fp = pv_kwp / pv0 if pv0 else 0.0
    fb = battery_kwh / bat0 if bat0 else 0.0
    arrays = tuple(dataclasses.replace(a, kwp=a.kwp * fp, inverter_kw=a.inverter_kw * fp)
                   for a in site.pv_arrays) if pv_kwp > 0 else ()
    batteries = tuple(dataclasses.replace(b, capacity_kwh=b.capacity_kwh * fb,
                                          charge_power_kw=b.charge_power_kw * fb,
                                          discharge_power_kw=b.discharge_power_kw * fb)
                      for b in site.batteries) if battery_kwh > 0 else ()
    if not batteries and not site.gensets:
        raise InputError(f"site {site.name!r} without a battery has nothing to form the grid",
                         path="--battery-kwh")
    return dataclasses.replace(site, pv_arrays=arrays, batteries=batteries)
