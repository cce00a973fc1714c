"""Small hand-checkable sites built in code, for the tests (no site file needed).

``toy_site()`` is a camp at Malakal with round numbers: one 250 kWp / 220 kW PV array, one
1000 kWh / 500 kW battery (η 0.96 each way, SOC window 15–95 %), a 400 kW and a 250 kW genset
(30 % minimum load, HOMER F0 0.08 L/h/kW, F1 0.25 L/kWh) and one load meter.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

from microgrid.simulator.settings import SimulatorSettings
from microgrid.site import (
    Battery,
    Climate,
    Genset,
    LoadMeter,
    Location,
    ModbusEndpoint,
    OptimizerSettings,
    PvArray,
    ReserveRule,
    Site,
)
from telemetry.testing import free_port


def endpoint(profile: str) -> ModbusEndpoint:
    """A loopback endpoint on a port free right now."""
    return ModbusEndpoint(host="127.0.0.1", port=free_port(), unit_id=1, profile=profile)


def pv(name: str = "pv-1", **kw: Any) -> PvArray:
    base = dict(name=name, kwp=250.0, inverter_kw=220.0, tilt_deg=10.0, azimuth_deg=180.0,
                losses_pct=14.0, gamma_pdc_per_c=-0.0037, modbus=endpoint("sunspec_inverter"))
    return PvArray(**{**base, **kw})


def battery(name: str = "bess-1", **kw: Any) -> Battery:
    base = dict(name=name, capacity_kwh=1000.0, charge_power_kw=500.0, discharge_power_kw=500.0,
                soc_min_pct=15.0, soc_max_pct=95.0, charge_efficiency=0.96,
                discharge_efficiency=0.96, wear_cost_l_per_kwh=0.02, initial_soc_pct=60.0,
                modbus=endpoint("sunspec_storage"))
    return Battery(**{**base, **kw})


def genset(name: str = "dg-1", **kw: Any) -> Genset:
    base = dict(name=name, rated_kw=400.0, min_load_pct=30.0, fuel_f0_l_per_kwh_rated=0.08,
                fuel_f1_l_per_kwh=0.25, min_up_min=60.0, min_down_min=30.0, start_cost_l=2.0,
                tank_l=2000.0, modbus=endpoint("dse_genset"))
    return Genset(**{**base, **kw})


def simulator_settings(**kw: Any) -> SimulatorSettings:
    """The virtual camp's knobs of the example camp, any of them replaced."""
    base = dict(seed=7, load_base_kw=300.0, load_peak_kw=600.0, load_peak_hour=15.0, load_noise_pct=3.0)
    return SimulatorSettings(**{**base, **kw})


def climate(**kw: float) -> Climate:
    """The example camp's climate, any of it replaced."""
    base = dict(clear_sky_index_mean=0.8, cloud_variability=0.15, ambient_temp_c=30.0)
    return Climate(**{**base, **kw})


def toy_site(pv_arrays: Sequence[PvArray] | None = None,
             batteries: Sequence[Battery] | None = None,
             gensets: Sequence[Genset] | None = None, **kw: Any) -> Site:
    """A small camp at Malakal (9.53 °N, 31.66 °E); any part can be replaced."""
    site = Site(
        name="toy", mission="TEST", headcount=100,
        location=Location(latitude=9.53, longitude=31.66, altitude_m=390.0, timezone="Africa/Juba"),
        emission_factor_kg_per_l=2.68, reserve=ReserveRule(load_pct=10.0, pv_pct=25.0),
        control_mode="dry_run",
        pv_arrays=tuple(pv_arrays) if pv_arrays is not None else (pv(),),
        batteries=tuple(batteries) if batteries is not None else (battery(),),
        gensets=tuple(gensets) if gensets is not None else (
            genset("dg-1"), genset("dg-2", rated_kw=250.0, tank_l=1200.0)),
        load_meters=(LoadMeter(name="camp-main", modbus=endpoint("load_meter")),),
        climate=climate(),
        optimizer=OptimizerSettings(horizon_h=24.0, step_min=15, fine_horizon_h=12.0,
                                    mip_rel_gap=0.005, time_limit_s=10.0, terminal_soc_pct=None,
                                    shed_penalty_l_per_kwh=10.0, curtail_penalty_l_per_kwh=1e-4,
                                    reserve_shortfall_penalty_l_per_kwh=2.0))
    return replace(site, **kw) if kw else site
