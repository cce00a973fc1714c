"""The operating-reserve rule (HOMER): online genset headroom plus the discharge the batteries can
still add must cover a share of the load plus a share of the PV (docs/architecture.md §7).

The battery's part is :func:`microgrid.plant.battery.battery_reserve_kw`.
"""

from __future__ import annotations

from typing import TypeVar, cast

from microgrid.site import ReserveRule

__all__ = ["reserve_required_kw", "reserve_shortfall_kw"]

#: A number, a numpy array or a linear expression of an optimisation model.
Num = TypeVar("Num")


def reserve_required_kw(rule: ReserveRule, load_kw: Num, pv_kw: Num) -> Num:
    """Reserve the camp must hold: ``load_pct`` % of the load plus ``pv_pct`` % of the PV fed. [kW]

    Works on numbers, arrays and linear model expressions alike, so the MILP states the same rule.
    """
    return cast(Num, rule.load_pct / 100.0 * load_kw + rule.pv_pct / 100.0 * pv_kw)  # type: ignore[operator]


def reserve_shortfall_kw(rule: ReserveRule, load_kw: float, pv_kw: float, held_kw: float) -> float:
    """Reserve missing when the camp holds ``held_kw`` (headroom plus battery reserve). [kW]"""
    return max(reserve_required_kw(rule, load_kw, pv_kw) - held_kw, 0.0)
