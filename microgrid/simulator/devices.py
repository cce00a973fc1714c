"""What each simulated device reports: the camp state seen through docs/architecture.md §4 field names.

Also the small device-level models that the camp balance does not need: battery pack
voltage, temperature and state of health, and lifetime counters of a camp in service.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from microgrid.plant import CampState, Setpoints, StepResult
from microgrid.simulator.settings import SimulatorSettings
from microgrid.site import Battery, Device, Genset, LoadMeter, PvArray, Site

# SunSpec inverter operating states (model 103 St).
ST_SLEEPING, ST_MPPT, ST_THROTTLED = 2, 4, 5

CELLS_SERIES = 240  #: LFP cells in series in a pack (768 V nominal). [-]
CELL_R_OHM = 0.02 / CELLS_SERIES  #: so the pack resistance is 0.02 Ω. [Ω]
BATTERY_ROOM_C = 25.0  #: HVAC set point of the battery container. [°C]
BATTERY_HEAT_C = 6.0  #: temperature rise at full power. [°C]
SOH_START_PCT = 100.0  #: [%]
SOH_FADE_PCT_PER_CYCLE = 20.0 / 6000.0  #: 80 % SOH after 6,000 equivalent full cycles. [%]

#: Lifetime counters at the start when ``initial_counters`` (a camp some years in service).
PV_START_KWH_PER_KWP = 3000.0  #: [kWh/kWp]
GENSET_START_RUN_H = 6000.0  #: [h]
GENSET_START_STARTS = 900
GENSET_START_LOAD_FRACTION = 0.5  #: mean loading behind the starting energy counter. [-]
LOAD_START_H = 2 * 8760.0  #: load-meter starting energy as hours at base load. [h]


def pack_voltage_v(soc_pct: float, power_kw: float) -> float:
    """LFP pack terminal voltage: open-circuit curve minus the IR drop (+ discharge). [V]"""
    ocv = CELLS_SERIES * (3.10 + 0.25 * soc_pct / 100.0)
    current_a = power_kw * 1000.0 / ocv
    return ocv - current_a * CELL_R_OHM * CELLS_SERIES


@dataclass(frozen=True)
class CampSnapshot:
    """What the devices of the virtual camp can report at one instant."""

    state: CampState  #: state at the end of the last step
    step: StepResult  #: the last step's mean flows
    setpoints: Setpoints  #: what control has written
    tank_l: Mapping[str, float]  #: day-tank contents per genset [L]
    pv_revert_s: Mapping[str, float]  #: revert time of each inverter's limit [s]
    battery_revert_s: Mapping[str, float]  #: revert time of each battery's limits [s]


class DeviceViews:
    """Builds ``device_values`` dicts from a :class:`CampSnapshot`."""

    def __init__(self, site: Site, sim: SimulatorSettings, initial_counters: bool):
        self.site = site
        k = 1.0 if initial_counters else 0.0
        self.pv0 = {a.name: k * PV_START_KWH_PER_KWP * a.kwp for a in site.pv_arrays}
        self.run_h0 = {g.name: k * GENSET_START_RUN_H for g in site.gensets}
        self.starts0 = {g.name: int(k * GENSET_START_STARTS) for g in site.gensets}
        self.gen_kwh0 = {g.name: k * GENSET_START_RUN_H * GENSET_START_LOAD_FRACTION * g.rated_kw
                         for g in site.gensets}
        self.load_kwh0 = k * LOAD_START_H * sim.load_base_kw

    def values(self, device: Device, snap: CampSnapshot) -> dict[str, float | str | None]:
        if isinstance(device, PvArray):
            return self.pv(device, snap)
        if isinstance(device, Battery):
            return self.battery(device, snap)
        if isinstance(device, Genset):
            return self.genset(device, snap)
        if isinstance(device, LoadMeter):
            return self.load_meter(device, snap)
        raise TypeError(f"unknown device type {type(device).__name__}")

    def pv(self, a: PvArray, c: CampSnapshot) -> dict[str, float | str | None]:
        step = c.step
        used, avail = step.pv_used_kw[a.name], step.pv_available_kw[a.name]
        status = ST_SLEEPING if avail <= 0 else ST_THROTTLED if used < avail - 1e-6 else ST_MPPT
        return {"ac_power_kw": used,
                "energy_total_kwh": self.pv0[a.name] + c.state.pv_energy_total_kwh[a.name],
                "power_limit_pct": c.setpoints.pv_limit_pct.get(a.name, 100.0),
                "power_limit_revert_s": c.pv_revert_s[a.name],
                "status": float(status)}

    def battery(self, b: Battery, c: CampSnapshot) -> dict[str, float | str | None]:
        step = c.step
        p, soc = step.battery_kw[b.name], c.state.soc_pct[b.name]
        throughput = c.state.battery_charge_total_kwh[b.name] + c.state.battery_discharge_total_kwh[b.name]
        ch = c.setpoints.battery_charge_limit_kw.get(b.name)
        dis = c.setpoints.battery_discharge_limit_kw.get(b.name)
        return {"power_kw": p, "soc_pct": soc,
                "soh_pct": SOH_START_PCT - SOH_FADE_PCT_PER_CYCLE * throughput / (2 * b.capacity_kwh),
                "voltage_v": pack_voltage_v(soc, p),
                "temp_c": BATTERY_ROOM_C + BATTERY_HEAT_C * abs(p) / max(b.discharge_power_kw, b.charge_power_kw),
                "charge_limit_kw": b.charge_power_kw if ch is None else min(ch, b.charge_power_kw),
                "discharge_limit_kw": b.discharge_power_kw if dis is None else min(dis, b.discharge_power_kw),
                "limits_revert_s": c.battery_revert_s[b.name]}

    def genset(self, g: Genset, c: CampSnapshot) -> dict[str, float | str | None]:
        step = c.step
        s = c.state
        on, p = step.genset_on[g.name], step.genset_kw[g.name]
        base = c.setpoints.genset_kw.get(g.name)
        return {"power_kw": p, "running": 1.0 if on else 0.0,
                "load_pct": 100.0 * p / g.rated_kw,
                "fuel_rate_lph": g.fuel_rate_lph(p, on) if on else 0.0,
                "fuel_level_pct": 100.0 * c.tank_l[g.name] / g.tank_l,
                "run_hours_h": self.run_h0[g.name] + s.genset_run_hours_h[g.name],
                "starts": float(self.starts0[g.name] + s.genset_starts[g.name]),
                "energy_total_kwh": self.gen_kwh0[g.name] + s.genset_energy_total_kwh[g.name],
                "fuel_total_l": s.genset_fuel_total_l[g.name],
                "mode": c.setpoints.mode(g.name),
                "base_load_kw": 0.0 if base is None else base}

    def load_meter(self, m: LoadMeter, c: CampSnapshot) -> dict[str, float | str | None]:
        step = c.step
        n = len(self.site.load_meters)  # several meters: each measures an equal share
        return {"power_kw": (step.load_kw - step.unserved_kw) / n,
                "energy_total_kwh": (self.load_kwh0 + c.state.load_energy_total_kwh) / n}

    @staticmethod
    def totals(s: CampState) -> dict[str, float]:
        return {"load_kwh": s.load_energy_total_kwh,
                "unserved_kwh": s.unserved_total_kwh,
                "pv_kwh": sum(s.pv_energy_total_kwh.values()),
                "pv_curtailed_kwh": sum(s.pv_curtailed_total_kwh.values()),
                "genset_kwh": sum(s.genset_energy_total_kwh.values()),
                "battery_charge_kwh": sum(s.battery_charge_total_kwh.values()),
                "battery_discharge_kwh": sum(s.battery_discharge_total_kwh.values()),
                "fuel_l": s.fuel_total_l,
                "genset_run_hours_h": sum(s.genset_run_hours_h.values()),
                "genset_starts": float(sum(s.genset_starts.values())),
                "genset_below_min_h": sum(s.genset_below_min_h.values())}
