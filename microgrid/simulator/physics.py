"""Physics of the virtual camp: one dispatch step of the camp's power balance (pure).

The grid-forming battery inverter holds the bus: PV feeds what it can (within its power
limit), running gensets deliver their base load or share the residual, and the battery takes
whatever remains within its power limits and SOC window. Excess PV is curtailed; a deficit the
battery cannot cover is recorded as unserved load, never hidden.

Sign convention (docs/architecture.md §3): battery power positive = discharge; generation and load positive.
Balance each step: ``load = Σ pv_used + Σ genset + Σ battery + unserved``.

``generate_conditions`` (the weather and load driving the physics) lives in
:mod:`microgrid.simulator.conditions` and is re-exported here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Mapping

from microgrid.errors import InputError
from microgrid.simulator.autostart import AutoStartRule, auto_charge_request_kw, decide_running
from microgrid.simulator.conditions import CampProfile, generate_conditions, generate_weather, pv_column  # noqa: F401
from microgrid.site import Battery, Site

__all__ = ["AutoStartRule", "CampProfile", "CampState", "GENSET_MODES", "Setpoints", "StepResult",
           "battery_limits_kw", "dispatch_step", "generate_conditions", "generate_weather",
           "pv_column", "share"]

GENSET_MODES = ("auto", "run", "stop")

#: Minutes in state given to gensets at the start (long enough that no timer binds). [min]
INITIAL_STATE_MIN = 24 * 60.0


@dataclass(frozen=True)
class Setpoints:
    """What control writes, per device name. A device missing from a mapping is at its default.

    Attributes
    ----------
    genset_mode : Mapping[str, str]
        ``"auto"`` (the controller's own safe mode), ``"run"`` or ``"stop"``.
    genset_kw : Mapping[str, float | None]
        Base-load setpoint of a running genset; None = share the residual. [kW]
    pv_limit_pct : Mapping[str, float]
        Inverter active-power limit, percent of its AC rating (0..100, default 100). [%]
    battery_charge_limit_kw, battery_discharge_limit_kw : Mapping[str, float | None]
        Power limits (positive numbers); None = rated. [kW]
    """

    genset_mode: Mapping[str, str] = field(default_factory=dict)
    genset_kw: Mapping[str, float | None] = field(default_factory=dict)
    pv_limit_pct: Mapping[str, float] = field(default_factory=dict)
    battery_charge_limit_kw: Mapping[str, float | None] = field(default_factory=dict)
    battery_discharge_limit_kw: Mapping[str, float | None] = field(default_factory=dict)

    @classmethod
    def default(cls, site: Site) -> Setpoints:
        """Every device in its own safe mode: gensets auto, no PV or battery limits."""
        return cls(genset_mode={g.name: "auto" for g in site.gensets},
                   genset_kw={g.name: None for g in site.gensets},
                   pv_limit_pct={a.name: 100.0 for a in site.pv_arrays},
                   battery_charge_limit_kw={b.name: None for b in site.batteries},
                   battery_discharge_limit_kw={b.name: None for b in site.batteries})

    def mode(self, genset: str) -> str:
        """Mode of a genset (``"auto"`` when not set)."""
        return self.genset_mode.get(genset, "auto")

    def with_(self, **changes: Mapping) -> Setpoints:
        """A copy with some mappings updated key by key, e.g. ``with_(genset_mode={"dg-1": "run"})``."""
        merged = {k: {**getattr(self, k), **v} for k, v in changes.items()}
        return replace(self, **merged)


@dataclass
class CampState:
    """State of the camp between steps, with cumulative counters for summaries.

    Attributes
    ----------
    soc_pct : dict[str, float]
        Battery state of charge. [%]
    genset_running : dict[str, bool]
    genset_state_min : dict[str, float]
        Minutes in the current running / stopped state. [min]
    genset_run_hours_h, genset_energy_total_kwh, genset_fuel_total_l : dict[str, float]
        [h], [kWh], [L]
    genset_starts : dict[str, int]
    genset_below_min_h : dict[str, float]
        Hours run below minimum load (wet stacking). [h]
    pv_energy_total_kwh, pv_curtailed_total_kwh : dict[str, float]
        Energy fed / curtailed per array. [kWh]
    battery_charge_total_kwh, battery_discharge_total_kwh : dict[str, float]
        AC-side energy into / out of each battery. [kWh]
    load_energy_total_kwh : float
        Energy served to the camp load. [kWh]
    unserved_total_kwh : float
        Load that could not be served. [kWh]
    """

    soc_pct: dict[str, float]
    genset_running: dict[str, bool]
    genset_state_min: dict[str, float]
    genset_run_hours_h: dict[str, float]
    genset_starts: dict[str, int]
    genset_energy_total_kwh: dict[str, float]
    genset_fuel_total_l: dict[str, float]
    genset_below_min_h: dict[str, float]
    pv_energy_total_kwh: dict[str, float]
    pv_curtailed_total_kwh: dict[str, float]
    battery_charge_total_kwh: dict[str, float]
    battery_discharge_total_kwh: dict[str, float]
    load_energy_total_kwh: float = 0.0
    unserved_total_kwh: float = 0.0

    @classmethod
    def initial(cls, site: Site) -> CampState:
        """Batteries at their ``initial_soc_pct``, gensets stopped long ago, counters at 0."""
        g0 = {g.name: 0.0 for g in site.gensets}
        return cls(soc_pct={b.name: b.initial_soc_pct for b in site.batteries},
                   genset_running={g.name: False for g in site.gensets},
                   genset_state_min={g.name: INITIAL_STATE_MIN for g in site.gensets},
                   genset_run_hours_h=dict(g0), genset_starts={g.name: 0 for g in site.gensets},
                   genset_energy_total_kwh=dict(g0), genset_fuel_total_l=dict(g0),
                   genset_below_min_h=dict(g0),
                   pv_energy_total_kwh={a.name: 0.0 for a in site.pv_arrays},
                   pv_curtailed_total_kwh={a.name: 0.0 for a in site.pv_arrays},
                   battery_charge_total_kwh={b.name: 0.0 for b in site.batteries},
                   battery_discharge_total_kwh={b.name: 0.0 for b in site.batteries})

    @property
    def fuel_total_l(self) -> float:
        """Fuel burnt by all gensets. [L]"""
        return sum(self.genset_fuel_total_l.values())


@dataclass(frozen=True)
class StepResult:
    """Mean flows over one step. Balance: load = Σpv_used + Σgenset + Σbattery + unserved.

    Attributes
    ----------
    load_kw : float
        Camp load demanded. [kW]
    pv_available_kw, pv_used_kw : dict[str, float]
        PV the arrays could give / actually fed, per array. [kW]
    pv_curtailed_kw : float
        Total available minus used (inverter limits and balance curtailment). [kW]
    genset_kw : dict[str, float]
    genset_on : dict[str, bool]
    genset_below_min : dict[str, bool]
        Forced below minimum load (last resort to keep the balance).
    fuel_l : dict[str, float]
        Fuel burnt this step per genset. [L]
    battery_kw : dict[str, float]
        + discharge, − charge. [kW]
    soc_pct : dict[str, float]
        SOC at the end of the step. [%]
    unserved_kw : float
    dt_h : float
        Step length. [h]
    """

    load_kw: float
    pv_available_kw: dict[str, float]
    pv_used_kw: dict[str, float]
    pv_curtailed_kw: float
    genset_kw: dict[str, float]
    genset_on: dict[str, bool]
    genset_below_min: dict[str, bool]
    fuel_l: dict[str, float]
    battery_kw: dict[str, float]
    soc_pct: dict[str, float]
    unserved_kw: float
    dt_h: float

    @property
    def pv_kw(self) -> float:
        """Total PV fed. [kW]"""
        return sum(self.pv_used_kw.values())

    @property
    def genset_total_kw(self) -> float:
        return sum(self.genset_kw.values())

    @property
    def battery_total_kw(self) -> float:
        return sum(self.battery_kw.values())


def battery_limits_kw(bat: Battery, soc_pct: float, setpoints: Setpoints,
                      dt_h: float) -> tuple[float, float]:
    """Most a battery can charge and discharge over ``dt_h`` (AC side, both ≥ 0). [kW]

    Power: rated and the charge/discharge limit setpoints. Energy: the SOC window, with
    discharging removing ``P·dt/η_d`` from the store and charging adding ``P·dt·η_c``.
    """
    ch_sp = setpoints.battery_charge_limit_kw.get(bat.name)
    dis_sp = setpoints.battery_discharge_limit_kw.get(bat.name)
    ch = bat.charge_power_kw if ch_sp is None else min(bat.charge_power_kw, max(0.0, ch_sp))
    dis = bat.discharge_power_kw if dis_sp is None else min(bat.discharge_power_kw, max(0.0, dis_sp))
    room_kwh = (bat.soc_max_pct - soc_pct) / 100.0 * bat.capacity_kwh
    avail_kwh = (soc_pct - bat.soc_min_pct) / 100.0 * bat.capacity_kwh
    ch = min(ch, max(0.0, room_kwh / (bat.charge_efficiency * dt_h)))
    dis = min(dis, max(0.0, avail_kwh * bat.discharge_efficiency / dt_h))
    return ch, dis


def share(total: float, weights: Mapping[str, float], caps: Mapping[str, float]) -> dict[str, float]:
    """Split ``total`` (≥ 0) in proportion to ``weights``, each part ≤ its cap (water filling)."""
    out = {k: 0.0 for k in weights}
    free = {k for k in weights if caps[k] > 0 and weights[k] > 0}
    left = total
    while left > 1e-12 and free:
        wsum = sum(weights[k] for k in free)
        saturated = {k for k in free if out[k] + left * weights[k] / wsum >= caps[k]}
        if not saturated:
            for k in free:
                out[k] += left * weights[k] / wsum
            break
        for k in saturated:
            left -= caps[k] - out[k]
            out[k] = caps[k]
        free -= saturated
    return out


def _genset_outputs(site: Site, on: Mapping[str, bool], setpoints: Setpoints,
                    residual_kw: float) -> dict[str, float]:
    """Base-load gensets at their clamped setpoint; the others share what remains by rating."""
    out = {g.name: 0.0 for g in site.gensets}
    sharing = []
    for g in site.gensets:
        if not on[g.name]:
            continue
        sp = setpoints.genset_kw.get(g.name)
        if sp is None:
            sharing.append(g)
        else:
            out[g.name] = min(max(sp, g.min_kw), g.rated_kw)
    rest = residual_kw - sum(out.values())
    rated = sum(g.rated_kw for g in sharing)
    for g in sharing:
        out[g.name] = min(max(rest * g.rated_kw / rated, g.min_kw), g.rated_kw)
    return out


def dispatch_step(site: Site, state: CampState, load_kw: float,
                  pv_available_kw: Mapping[str, float], setpoints: Setpoints, dt_h: float,
                  *, auto: AutoStartRule = AutoStartRule()) -> tuple[CampState, StepResult]:
    """Advance the camp by one step of ``dt_h`` hours.

    Parameters
    ----------
    site : Site
    state : CampState
        State at the start of the step (not modified).
    load_kw : float
        Mean camp load demanded over the step. [kW]
    pv_available_kw : Mapping[str, float]
        Mean PV each array could feed (before its power limit). [kW]
    setpoints : Setpoints
        What control has written; devices missing from it are at their default.
    dt_h : float
        Step length. [h]
    auto : AutoStartRule, optional
        Thresholds of the gensets' own auto-start logic (mode ``"auto"``).

    Returns
    -------
    (CampState, StepResult)
        State at the end of the step and the step's mean flows.

    Raises
    ------
    InputError
        A load or PV value that is not a finite number (missing data must be filled by the
        caller: the physics cannot guess it), or a negative load.
    """
    _check_inputs(load_kw, pv_available_kw)
    pv_cap = {a.name: min(max(pv_available_kw.get(a.name, 0.0), 0.0),
                          a.inverter_kw * min(max(setpoints.pv_limit_pct.get(a.name, 100.0), 0.0), 100.0) / 100.0)
              for a in site.pv_arrays}
    pv_total = sum(pv_cap.values())
    limits = {b.name: battery_limits_kw(b, state.soc_pct[b.name], setpoints, dt_h) for b in site.batteries}
    on = decide_running(site, state, setpoints, load_kw - pv_total,
                        sum(d for _, d in limits.values()), auto)
    charge_kw = auto_charge_request_kw(site, state, setpoints, on, limits, auto)
    gen = _genset_outputs(site, on, setpoints, load_kw - pv_total + charge_kw)
    residual = load_kw - pv_total - sum(gen.values())
    bat = _battery_flows(site, limits, residual)
    residual -= sum(bat.values())
    pv_used = dict(pv_cap)
    if residual < 0 and pv_total > 0:  # excess: curtail PV, in proportion to what each feeds
        cut = min(-residual, pv_total)
        pv_used = {k: v - cut * v / pv_total for k, v in pv_cap.items()}
        residual += cut
    below = {g.name: False for g in site.gensets}
    if residual < -1e-9:  # still excess: gensets' minimum load; reduce them as a last resort
        gtot = sum(gen.values())
        cut = min(-residual, gtot)
        for g in site.gensets:
            if gen[g.name] > 0:
                gen[g.name] -= cut * gen[g.name] / gtot
                below[g.name] = gen[g.name] < g.min_kw - 1e-9
        residual += cut
    unserved = max(residual, 0.0)
    new_state = _advance_state(site, state, on, gen, below, bat, pv_used, pv_available_kw,
                               load_kw - unserved, unserved, dt_h)
    fuel = {g.name: g.fuel_rate_lph(gen[g.name], on[g.name]) * dt_h for g in site.gensets}
    result = StepResult(load_kw=load_kw,
                        pv_available_kw={a.name: float(pv_available_kw.get(a.name, 0.0)) for a in site.pv_arrays},
                        pv_used_kw=pv_used,
                        pv_curtailed_kw=sum(max(pv_available_kw.get(k, 0.0), 0.0) - v for k, v in pv_used.items()),
                        genset_kw=gen, genset_on=dict(on), genset_below_min=below, fuel_l=fuel,
                        battery_kw=bat, soc_pct=dict(new_state.soc_pct), unserved_kw=unserved, dt_h=dt_h)
    return new_state, result


def _check_inputs(load_kw: float, pv_available_kw: Mapping[str, float]) -> None:
    if not math.isfinite(load_kw) or load_kw < 0:
        raise InputError(f"load must be a finite number >= 0, got {load_kw!r}", column="load_kw")
    for name, v in pv_available_kw.items():
        if not math.isfinite(v):
            raise InputError(f"available PV must be a finite number, got {v!r}",
                             column=f"pv_available_kw__{name}")


def _battery_flows(site: Site, limits: Mapping[str, tuple[float, float]],
                   residual_kw: float) -> dict[str, float]:
    """Batteries take the residual (+ discharge) in proportion to their power rating."""
    if residual_kw >= 0:
        weights = {b.name: b.discharge_power_kw for b in site.batteries}
        parts = share(residual_kw, weights, {k: d for k, (_, d) in limits.items()})
        return parts
    weights = {b.name: b.charge_power_kw for b in site.batteries}
    parts = share(-residual_kw, weights, {k: c for k, (c, _) in limits.items()})
    return {k: -v for k, v in parts.items()}


def _soc_after(bat: Battery, soc_pct: float, power_kw: float, dt_h: float) -> float:
    """SOC after ``power_kw`` (+ discharge) for ``dt_h`` with one-way efficiencies. [%]"""
    soc = bat.soc_after_pct(soc_pct, power_kw, dt_h)
    if bat.soc_min_pct <= soc_pct <= bat.soc_max_pct:  # guard rounding at the window edges
        soc = min(max(soc, bat.soc_min_pct), bat.soc_max_pct)
    return soc


def _advance_state(site: Site, s: CampState, on: Mapping[str, bool], gen: Mapping[str, float],
                   below: Mapping[str, bool], bat: Mapping[str, float],
                   pv_used: Mapping[str, float], pv_available: Mapping[str, float],
                   served_kw: float, unserved_kw: float, dt_h: float) -> CampState:
    dt_min = dt_h * 60.0
    n = replace(s, **{f: dict(getattr(s, f)) for f in (
        "soc_pct", "genset_running", "genset_state_min", "genset_run_hours_h", "genset_starts",
        "genset_energy_total_kwh", "genset_fuel_total_l", "genset_below_min_h",
        "pv_energy_total_kwh", "pv_curtailed_total_kwh", "battery_charge_total_kwh",
        "battery_discharge_total_kwh")})
    for b in site.batteries:
        p = bat[b.name]
        n.soc_pct[b.name] = _soc_after(b, s.soc_pct[b.name], p, dt_h)
        if p >= 0:
            n.battery_discharge_total_kwh[b.name] += p * dt_h
        else:
            n.battery_charge_total_kwh[b.name] += -p * dt_h
    for g in site.gensets:
        k, run = g.name, on[g.name]
        if run != s.genset_running[k]:
            n.genset_state_min[k] = dt_min
            n.genset_starts[k] += int(run)
        else:
            n.genset_state_min[k] += dt_min
        n.genset_running[k] = run
        if run:
            n.genset_run_hours_h[k] += dt_h
            n.genset_energy_total_kwh[k] += gen[k] * dt_h
            n.genset_fuel_total_l[k] += g.fuel_rate_lph(gen[k], True) * dt_h
            if gen[k] < g.min_kw - 1e-9:
                n.genset_below_min_h[k] += dt_h
    for a in site.pv_arrays:
        n.pv_energy_total_kwh[a.name] += pv_used[a.name] * dt_h
        n.pv_curtailed_total_kwh[a.name] += (max(pv_available.get(a.name, 0.0), 0.0)
                                             - pv_used[a.name]) * dt_h
    n.load_energy_total_kwh = s.load_energy_total_kwh + served_kw * dt_h
    n.unserved_total_kwh = s.unserved_total_kwh + unserved_kw * dt_h
    return n
