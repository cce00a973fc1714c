"""Genset rules: base loads, sharing load between running units, choosing units for a net load
and reserve, and the diesel-only counterfactual (docs/architecture.md §1).

The fuel curve itself is HOMER's linear one, :meth:`microgrid.site.Genset.fuel_rate_lph`
(``F = F0·P_rated·on + F1·P``) and its integral :meth:`~microgrid.site.Genset.fuel_l`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import TypeVar, cast

from microgrid.site import Genset, Site

__all__ = ["below_min_load", "diesel_only_fuel_lph", "genset_base_kw", "genset_headroom_kw", "least_fuel_units",
           "marginal_fuel_l_per_kwh", "share_by_rating", "smallest_cover"]

#: A number, a numpy array or a linear expression of an optimisation model.
Num = TypeVar("Num")


def below_min_load(g: Genset, power_kw: float) -> bool:
    """Whether a running unit at ``power_kw`` is below its minimum load (wet stacking: unburnt
    fuel and carbon build up). The one test of it, for the accounting's hours below minimum and
    the ``wet_stacking`` alarm. [kW]"""
    return power_kw < g.min_kw - 1e-9


def genset_base_kw(g: Genset, power_kw: float) -> float:
    """A base load the unit can hold: within ``[min_kw, rated_kw]``. [kW]"""
    return min(max(power_kw, g.min_kw), g.rated_kw)


def genset_headroom_kw(g: Genset, power_kw: Num, on: Num | float = 1.0) -> Num:
    """Power a unit could add at short notice: its rating while running, less its output,
    ``P_rated·on − P`` (numbers, arrays or linear model expressions; the reserve rule's genset
    part). [kW]"""
    return cast(Num, g.rated_kw * on - power_kw)  # type: ignore[operator]


def marginal_fuel_l_per_kwh(units: Sequence[Genset]) -> float:
    """Fuel of one more kWh from the cheapest running unit: the least slope ``F1`` of the linear
    fuel curve (:meth:`microgrid.site.Genset.fuel_l`); what stored energy is worth in diesel. [L/kWh]

    Raises
    ------
    ValueError
        No units.
    """
    if not units:
        raise ValueError("no genset: no marginal fuel rate")
    return min(g.fuel_f1_l_per_kwh for g in units)


def share_by_rating(units: Sequence[Genset], power_kw: float) -> dict[str, float]:
    """Running units share ``power_kw`` in proportion to their rating, each within its
    ``[min_kw, rated_kw]`` (what paralleled controllers do with isochronous load sharing). [kW]"""
    rated = sum(g.rated_kw for g in units)
    return {g.name: genset_base_kw(g, power_kw * g.rated_kw / rated) for g in units}


def least_fuel_units(free: Sequence[Genset], forced: Sequence[Genset], need_kw: float,
                     serve_kw: float) -> list[Genset]:
    """The ``forced`` units plus the subset of ``free`` units whose total rating covers
    ``need_kw`` and that burns least fuel serving ``serve_kw`` shared by rating.

    With no subset covering ``need_kw``, every unit. [kW]
    """
    base = sum(g.rated_kw for g in forced)
    best, best_fuel = None, math.inf
    for r in range(len(free) + 1):
        for combo in itertools.combinations(free, r):
            units = [*forced, *combo]
            rated = base + sum(g.rated_kw for g in combo)
            if rated < need_kw - 1e-9 or not units and need_kw > 1e-9:
                continue
            outputs = share_by_rating(units, min(serve_kw, rated)) if units else {}
            fuel = sum(g.fuel_rate_lph(outputs[g.name]) for g in units)
            if fuel < best_fuel - 1e-12:
                best, best_fuel = units, fuel
    return best if best is not None else [*forced, *free]


def smallest_cover(candidates: Sequence[Genset], deficit_kw: float, *,
                   max_units: int | None = None) -> list[Genset]:
    """Units to start for ``deficit_kw``: the smallest single unit that covers what is left,
    else the largest, repeated (at most ``max_units``; all of them if nothing covers). [kW]

    Ties in rating go by name, so the choice does not depend on file order.
    """
    pool = sorted(candidates, key=lambda g: (g.rated_kw, g.name))
    chosen: list[Genset] = []
    while deficit_kw > 0 and pool and (max_units is None or len(chosen) < max_units):
        fit = next((g for g in pool if g.rated_kw >= deficit_kw), pool[-1])
        chosen.append(fit)
        pool.remove(fit)
        deficit_kw -= fit.rated_kw
    return chosen


def diesel_only_fuel_lph(site: Site, load_kw: float) -> float:
    """Fuel rate of the diesel-only counterfactual camp serving ``load_kw``. [L/h]

    The gensets alone, HOMER load following: the least-fuel set of units whose rating covers the
    load plus the operating reserve on load (:func:`least_fuel_units`), sharing the load by
    rating. With no set able to cover it, all units at full power.
    """
    need_kw = load_kw * (1.0 + site.reserve.load_pct / 100.0)
    if sum(g.rated_kw for g in site.gensets) < need_kw:
        return sum(g.fuel_rate_lph(g.rated_kw) for g in site.gensets)
    units = least_fuel_units(site.gensets, [], need_kw, load_kw)
    outputs = share_by_rating(units, load_kw)
    return sum(g.fuel_rate_lph(outputs[g.name]) for g in units)
