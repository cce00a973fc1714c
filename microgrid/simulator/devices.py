"""What each simulated device reports: the camp state seen through docs/architecture.md §4 field names.

Also the small device-level models that the camp balance does not need: battery pack
voltage, temperature and state of health, lifetime counters of a camp in service, and the
plant-health values of :mod:`microgrid.simulator.health` (frequency, voltages, currents, engine
and battery health).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from microgrid.plant import CampState, Setpoints, StepResult
from microgrid.simulator import health
from microgrid.simulator.fuel import FUEL_TYPE_DIESEL, level_pct
from microgrid.simulator.settings import SimulatorSettings
from microgrid.site import Battery, Device, FuelTank, Genset, LoadMeter, PvArray, Site

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
    gauge_l: Mapping[str, float] = field(default_factory=dict)  #: what each bulk tank's gauge reads [L]
    grid_offset: tuple[float, float] = (0.0, 0.0)  #: disturbance: frequency [Hz], voltage [%]
    device_alarms: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  #: {device: {code: severity}}


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

    def values(self, device: Device, snap: CampSnapshot) -> dict[str, Any]:
        """The device's fields, its ``alarms`` (``{code: severity}``) and the grid disturbance."""
        out: dict[str, Any]
        if isinstance(device, PvArray):
            out = self.pv(device, snap)
        elif isinstance(device, Battery):
            out = self.battery(device, snap)
        elif isinstance(device, Genset):
            out = self.genset(device, snap)
        elif isinstance(device, LoadMeter):
            out = self.load_meter(device, snap)
        elif isinstance(device, FuelTank):
            out = self.fuel_tank(device, snap)
        else:
            raise TypeError(f"unknown device type {type(device).__name__}")
        df, dv = snap.grid_offset
        if "frequency_hz" in out and (df or dv) and out["frequency_hz"]:  # a stopped set reads 0
            out["frequency_hz"] += df
            for k in ("voltage_l1_l2_v", "voltage_l2_l3_v", "voltage_l3_l1_v"):
                out[k] *= 1.0 + dv / 100.0
        out["alarms"] = dict(snap.device_alarms.get(device.name, {}))
        return out

    def fuel_tank(self, t: FuelTank, c: CampSnapshot) -> dict[str, Any]:
        """A bulk tank's gauge (Victron GX tank service): contents, level, status OK, diesel."""
        litres = c.gauge_l.get(t.name, 0.0)
        return {"capacity_l": t.capacity_l, "volume_l": litres, "level_pct": level_pct(litres, t.capacity_l),
                "gauge_status": 0.0, "fluid_type": float(FUEL_TYPE_DIESEL)}

    def pv(self, a: PvArray, c: CampSnapshot) -> dict[str, float | str | None]:
        step = c.step
        used, avail = step.pv_used_kw[a.name], step.pv_available_kw[a.name]
        status = ST_SLEEPING if avail <= 0 else ST_THROTTLED if used < avail - 1e-6 else ST_MPPT
        return {"ac_power_kw": used,
                "energy_total_kwh": self.pv0[a.name] + c.state.pv_energy_total_kwh[a.name],
                "power_limit_pct": c.setpoints.pv_limit_pct.get(a.name, 100.0),
                "power_limit_revert_s": c.pv_revert_s[a.name],
                "status": float(status),
                **health.ac_values(used, health.INVERTER_PF, self.forming_load_fraction(c))}

    def battery(self, b: Battery, c: CampSnapshot) -> dict[str, float | str | None]:
        step = c.step
        p, soc = step.battery_kw[b.name], c.state.soc_pct[b.name]
        throughput = c.state.battery_charge_total_kwh[b.name] + c.state.battery_discharge_total_kwh[b.name]
        ch = c.setpoints.battery_charge_limit_kw.get(b.name)
        dis = c.setpoints.battery_discharge_limit_kw.get(b.name)
        voltage = pack_voltage_v(soc, p)
        temp = BATTERY_ROOM_C + BATTERY_HEAT_C * abs(p) / max(b.discharge_power_kw, b.charge_power_kw)
        charge = b.charge_power_kw if ch is None else min(ch, b.charge_power_kw)
        discharge = b.discharge_power_kw if dis is None else min(dis, b.discharge_power_kw)
        return {"power_kw": p, "soc_pct": soc,
                "soh_pct": SOH_START_PCT - SOH_FADE_PCT_PER_CYCLE * throughput / (2 * b.capacity_kwh),
                "voltage_v": voltage, "temp_c": temp,
                "charge_limit_kw": charge, "discharge_limit_kw": discharge,
                "limits_revert_s": c.battery_revert_s[b.name],
                **health.battery_dc_values(p, voltage, temp, CELLS_SERIES, charge, discharge),
                **health.ac_values(p, health.BATTERY_PF, self.forming_load_fraction(c))}

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
                "base_load_kw": 0.0 if base is None else base,
                "protocol_id": float(health.EASYGEN_PROTOCOL_ID),  # the controller's identity (easYgen)
                **health.engine_values(bool(on), p / g.rated_kw),
                **self._genset_ac(bool(on), p, c)}

    def _genset_ac(self, on: bool, p: float, c: CampSnapshot) -> dict[str, float]:
        """A running set's AC values; a stopped one reads 0 V, 0 A, 0 Hz and has no power
        factor (the field is absent: missing, not 0)."""
        if on:
            return health.ac_values(p, health.GENSET_PF, self.forming_load_fraction(c))
        return {k: 0.0 for k in health.ac_values(0.0, 1.0, 0.0) if k != "power_factor"}

    def load_meter(self, m: LoadMeter, c: CampSnapshot) -> dict[str, float | str | None]:
        step = c.step
        n = len(self.site.load_meters)  # several meters: each measures an equal share
        served = (step.load_kw - step.unserved_kw) / n
        return {"power_kw": served,
                "energy_total_kwh": (self.load_kwh0 + c.state.load_energy_total_kwh) / n,
                **health.ac_values(served, health.CAMP_LOAD_PF, self.forming_load_fraction(c))}

    def forming_load_fraction(self, c: CampSnapshot) -> float:
        """Camp load over what the grid-forming units can give now (running gensets' ratings
        plus the batteries' discharge ratings): the loading the frequency droops with. [-]"""
        step = c.step
        capacity = (sum(g.rated_kw for g in self.site.gensets if step.genset_on[g.name])
                    + sum(b.discharge_power_kw for b in self.site.batteries))
        return step.load_kw / capacity if capacity > 0 else 0.0

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
