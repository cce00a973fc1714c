"""State of the camp between steps of the step model, and what one step did (docs/architecture.md §1).

Sign convention (docs/architecture.md §3): battery power positive = discharge; generation and load
positive. Balance each step: ``load = Σ pv_used + Σ genset + Σ battery + unserved``.
"""

from __future__ import annotations

from dataclasses import dataclass

from microgrid.site import Site

__all__ = ["INITIAL_STATE_MIN", "CampState", "StepResult"]

#: Minutes in state given to gensets at the start (long enough that no timer binds). [min]
INITIAL_STATE_MIN = 24 * 60.0


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
