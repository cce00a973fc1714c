"""Genset on/off decisions of one step: supervisory run/stop, or the controllers' own auto mode.

A camp sets this auto-start logic on its genset controllers so the camp survives when no
supervisory control is alive: start when the battery is low or cannot carry the net load,
stop when the battery is well charged and can carry the load again. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from microgrid.plant.battery import capacity_weighted_soc_pct
from microgrid.plant.gensets import smallest_cover
from microgrid.plant.state import CampState
from microgrid.plant.vocabulary import Setpoints
from microgrid.site import Genset, Site

__all__ = ["AutoStartRule", "auto_charge_request_kw", "decide_running"]


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
    soc = capacity_weighted_soc_pct(site.batteries, state.soc_pct)
    soc_low = capacity_weighted_soc_pct(site.batteries, {b.name: b.soc_min_pct for b in site.batteries})
    cap = sum(g.rated_kw for g in site.gensets if on[g.name])
    need = 0.0
    if net_kw > 0 and soc is not None and soc_low is not None and soc < soc_low + rule.start_margin_pct:
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
    soc = capacity_weighted_soc_pct(site.batteries, state.soc_pct)
    if soc is None or soc >= rule.stop_soc_pct:
        return 0.0
    return sum(ch for ch, _ in limits.values())
