"""Plant-health values of the simulated devices: plausible, deterministic, from the camp state.

The camp balance (the kernel's step model) knows powers and energies only; a camp engineer's
plant room also shows frequency, voltages, currents, power factor, engine oil pressure and
coolant temperature, battery cell voltages and temperatures. These small models give the
virtual camp's devices such values (docs/architecture.md §4 field names and units), so every
profile, the store and the "Plant health" dashboard have something real-looking to show. They
are not the plant's physics: nothing in planning or accounting reads them.
"""

from __future__ import annotations

import math

NOMINAL_FREQUENCY_HZ = 50.0  #: the camp's grid. [Hz]
FREQUENCY_DROOP_HZ = 0.2  #: frequency fall from no load to full load of the forming units. [Hz]
NOMINAL_VOLTAGE_LL_V = 400.0  #: line-to-line voltage. [V]
VOLTAGE_DROP_PCT = 2.0  #: voltage fall at full load. [%]
PHASE_UNBALANCE = (1.0, 0.998, 1.002)  #: L1-L2, L2-L3, L3-L1 relative to the mean. [-]
CAMP_LOAD_PF = 0.9  #: camp loads (air conditioning, pumps), lagging. [-]
GENSET_PF = 0.85  #: a genset's share of the camp's reactive power. [-]
INVERTER_PF = 1.0  #: PV inverters at unity power factor. [-]
BATTERY_PF = 0.95  #: the grid-forming battery inverter. [-]

OIL_PRESSURE_IDLE_KPA = 300.0  #: running, no load. [kPa]
OIL_PRESSURE_LOAD_KPA = 100.0  #: rise to full load. [kPa]
COOLANT_RUNNING_C = 78.0  #: thermostat-controlled, no load. [°C]
COOLANT_LOAD_C = 10.0  #: rise to full load. [°C]
ENGINE_ROOM_C = 30.0  #: a stopped engine's coolant. [°C]
ENGINE_BATTERY_CHARGING_V = 27.6  #: 24 V starter battery, alternator charging. [V]
ENGINE_BATTERY_RESTING_V = 25.4  #: 24 V starter battery at rest. [V]
#: The easYgen data protocol id the simulated controller reports (profile woodward_easygen_5010).
EASYGEN_PROTOCOL_ID = 5010

CELL_SPREAD_V = 0.005  #: highest minus mean cell voltage. [V]
MODULE_TEMP_SPREAD_C = 1.5  #: hottest module minus the average. [°C]
CELL_CHARGE_LIMIT_V = 3.55  #: LFP charge voltage limit per cell. [V]


def grid_frequency_hz(load_fraction: float) -> float:
    """Camp frequency for the forming units' loading (0 = none, 1 = full) by droop. [Hz]"""
    return NOMINAL_FREQUENCY_HZ - FREQUENCY_DROOP_HZ * min(max(load_fraction, 0.0), 1.0)


def ac_values(power_kw: float, pf: float, load_fraction: float) -> dict[str, float]:
    """Line voltages, balanced phase currents, power factor and reactive power of a
    three-phase unit delivering ``power_kw`` (either sign) at ``pf``.

    Returns
    -------
    dict
        ``frequency_hz`` [Hz], ``voltage_l1_l2_v``, ``voltage_l2_l3_v``, ``voltage_l3_l1_v``
        [V], ``current_l1_a`` .. ``current_l3_a`` [A], ``power_factor`` [-],
        ``reactive_power_kvar`` [kvar] (lagging positive).
    """
    frac = min(max(load_fraction, 0.0), 1.0)
    v_ll = NOMINAL_VOLTAGE_LL_V * (1.0 - VOLTAGE_DROP_PCT / 100.0 * frac)
    amps = abs(power_kw) * 1000.0 / (math.sqrt(3.0) * v_ll * pf)
    out = {"frequency_hz": grid_frequency_hz(frac), "power_factor": pf,
           "reactive_power_kvar": abs(power_kw) * math.tan(math.acos(pf))}
    for (a, b), k in zip((("l1", "l2"), ("l2", "l3"), ("l3", "l1")), PHASE_UNBALANCE):
        out[f"voltage_{a}_{b}_v"] = v_ll * k
        out[f"current_{a}_a"] = amps / k
    return out


def engine_values(running: bool, load_fraction: float) -> dict[str, float]:
    """Oil pressure [kPa], coolant temperature [°C] and starter-battery voltage [V] of a
    diesel engine, running at ``load_fraction`` of its rating or stopped."""
    frac = min(max(load_fraction, 0.0), 1.0)
    if not running:
        return {"oil_pressure_kpa": 0.0, "coolant_temp_c": ENGINE_ROOM_C,
                "engine_battery_v": ENGINE_BATTERY_RESTING_V}
    return {"oil_pressure_kpa": OIL_PRESSURE_IDLE_KPA + OIL_PRESSURE_LOAD_KPA * frac,
            "coolant_temp_c": COOLANT_RUNNING_C + COOLANT_LOAD_C * frac,
            "engine_battery_v": ENGINE_BATTERY_CHARGING_V}


def battery_dc_values(power_kw: float, voltage_v: float, temp_c: float, cells_series: int,
                      charge_kw: float, discharge_kw: float) -> dict[str, float]:
    """DC current (+ discharge) [A], cell voltage and module/cell temperature extremes [V, °C],
    the BMS's current limits [A] and charge voltage limit [V] of a battery pack."""
    cell = voltage_v / cells_series
    return {"current_a": power_kw * 1000.0 / voltage_v,
            "cell_voltage_max_v": cell + CELL_SPREAD_V, "cell_voltage_min_v": cell - CELL_SPREAD_V,
            "module_temp_max_c": temp_c + MODULE_TEMP_SPREAD_C,
            "module_temp_min_c": temp_c - MODULE_TEMP_SPREAD_C,
            "cell_temp_max_c": temp_c + MODULE_TEMP_SPREAD_C,
            "cell_temp_min_c": temp_c - MODULE_TEMP_SPREAD_C,
            "charge_current_limit_a": charge_kw * 1000.0 / voltage_v,
            "discharge_current_limit_a": discharge_kw * 1000.0 / voltage_v,
            "charge_voltage_limit_v": CELL_CHARGE_LIMIT_V * cells_series}
