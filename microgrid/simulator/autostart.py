"""Genset on/off decisions of one step: supervisory run/stop, or the controllers' own auto mode.

A camp sets this auto-start logic on its genset controllers so the camp survives when no
supervisory control is alive: start when the battery is low or cannot carry the net load,
stop when the battery is well charged and can carry the load again. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping

from microgrid.site import Genset, Site

if TYPE_CHECKING:  # pragma: no cover
    from microgrid.simulator.physics import CampState, Setpoints


@dataclass(frozen=True)
class AutoStartRule:
    """Thresholds of the gensets' auto-start logic.

    Attributes
    ----------
    start_margin_pct : float
        Start when the (capacity-weighted) SOC is below ``soc_min + start_margin_pct``. [%]
    stop_soc_pct : float
        Auto gensets may stop only above this SOC. [%]
    stop_cover_fraction : float
        ... and only if the net load without them is at most this fraction of what the
        batteries can discharge (avoids start/stop chatter). [-]
    charge_batteries : bool
        While an auto genset runs and the SOC is below ``stop_soc_pct``, the battery
        inverter's generator management charges the batteries from it (cycle charging, up to
        the gensets' rating); otherwise auto gensets only follow the net load.
    """

    start_margin_pct: float = 10.0
    stop_soc_pct: float = 80.0
    stop_cover_fraction: float = 0.9
    charge_batteries: bool = True


def camp_soc_pct(site: Site, soc_pct: Mapping[str, float]) -> float | None:
    """Capacity-weighted SOC of all batteries, None without batteries. [%]"""
    cap = sum(b.capacity_kwh for b in site.batteries)
    if cap <= 0:
        return None
    return sum(soc_pct[b.name] * b.capacity_kwh for b in site.batteries) / cap


def smallest_cover(candidates: list[Genset], deficit_kw: float) -> list[Genset]:
    """Smallest set of gensets whose ratings cover ``deficit_kw``: the smallest single unit
    that covers what is left, else the largest, repeated (all of them if nothing covers)."""
    pool = sorted(candidates, key=lambda g: (g.rated_kw, g.name))
    chosen: list[Genset] = []
    while deficit_kw > 0 and pool:
        fit = next((g for g in pool if g.rated_kw >= deficit_kw), pool[-1])
        chosen.append(fit)
        pool.remove(fit)
        deficit_kw -= fit.rated_kw
    return chosen


def decide_running(site: Site, state: CampState, setpoints: Setpoints, net_kw: float,
                   discharge_max_kw: float, rule: AutoStartRule) -> dict[str, bool]:
    """Which gensets run this step.

    Parameters
    ----------
    net_kw : float
        Load minus the PV the arrays can feed. [kW]
    discharge_max_kw : float
        Most all batteries can discharge this step. [kW]

    ``"run"`` runs and ``"stop"`` stops regardless of timers (control owns min up/down);
    ``"auto"`` gensets follow :class:`AutoStartRule` and, once started, run at least
    ``min_up_min``.
    """
    on = {}
    auto: list[Genset] = []
    for g in site.gensets:
        mode = setpoints.mode(g.name)
        if mode == "auto":
            auto.append(g)
            on[g.name] = state.genset_running[g.name]
        else:
            on[g.name] = mode == "run"
    if not auto:
        return on
    soc = camp_soc_pct(site, state.soc_pct)
    cap = sum(g.rated_kw for g in site.gensets if on[g.name])
    need = 0.0
    if net_kw > 0 and soc is not None and soc < _soc_low(site) + rule.start_margin_pct:
        need = net_kw  # battery low: gensets carry the whole net load (and charge with the rest)
    if net_kw - cap > discharge_max_kw:
        need = max(need, net_kw - discharge_max_kw)  # battery cannot carry the net load
    if need > cap:
        for g in smallest_cover([g for g in auto if not on[g.name]], need - cap):
            on[g.name] = True
        return on
    if soc is not None and soc <= rule.stop_soc_pct:
        return on
    for g in sorted(auto, key=lambda g: (-g.rated_kw, g.name)):
        if on[g.name] and state.genset_state_min[g.name] >= g.min_up_min:
            if net_kw - (cap - g.rated_kw) <= rule.stop_cover_fraction * discharge_max_kw:
                on[g.name] = False
                cap -= g.rated_kw
    return on


def _soc_low(site: Site) -> float:
    cap = sum(b.capacity_kwh for b in site.batteries)
    return sum(b.soc_min_pct * b.capacity_kwh for b in site.batteries) / cap


def auto_charge_request_kw(site: Site, state: CampState, setpoints: Setpoints,
                           on: Mapping[str, bool], limits: Mapping[str, tuple[float, float]],
                           rule: AutoStartRule) -> float:
    """Battery charging the running auto gensets are asked for on top of the net load. [kW]

    Parameters
    ----------
    limits : Mapping[str, tuple[float, float]]
        Per battery, most it can charge and discharge this step. [kW]
    """
    if not rule.charge_batteries or not any(
            on[g.name] and setpoints.mode(g.name) == "auto" for g in site.gensets):
        return 0.0
    soc = camp_soc_pct(site, state.soc_pct)
    if soc is None or soc >= rule.stop_soc_pct:
        return 0.0
    return sum(ch for ch, _ in limits.values())
