"""VirtualCamp: advancing with a clock, device views, setpoint writes and revert timers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from toy_testkit import simulator_settings, toy_site

from microgrid.clock import ManualClock
from microgrid.errors import DeviceError
from microgrid.simulator.camp import CommandError, VirtualCamp
from microgrid.simulator.conditions import generate_conditions

SIM = simulator_settings()

START = datetime(2026, 3, 18, 8, 0, tzinfo=timezone.utc)  # 10:07 local solar, a Wednesday

FIELDS = {
    "pv_inverter": {"ac_power_kw", "energy_total_kwh", "power_limit_pct", "status"},
    "battery": {"power_kw", "soc_pct", "soh_pct", "voltage_v", "temp_c", "charge_limit_kw",
                "discharge_limit_kw"},
    "genset": {"power_kw", "running", "load_pct", "fuel_rate_lph", "fuel_level_pct", "run_hours_h",
               "starts", "energy_total_kwh", "mode"},
    "load_meter": {"power_kw", "energy_total_kwh"},
}


@pytest.fixture
def clock():
    return ManualClock(START)


@pytest.fixture
def camp(clock):
    return VirtualCamp(toy_site(), SIM, clock, seed=3, initial_counters=False)


def test_device_values_carry_design_fields(camp):
    for name, kind in (("pv-1", "pv_inverter"), ("bess-1", "battery"), ("dg-1", "genset"),
                       ("camp-main", "load_meter")):
        values = camp.device_values(name)
        assert FIELDS[kind] <= set(values), name
        assert all(v is not None for v in values.values())


def test_advances_in_whole_substeps_to_clock_now(camp, clock):
    clock.advance(3600 + 59)
    camp.advance()
    assert camp.time == START + timedelta(hours=1)
    clock.advance(1)
    camp.advance()
    assert camp.time == START + timedelta(minutes=61)


def test_steps_use_the_same_conditions_as_generate_conditions(camp, clock):
    clock.advance(10 * 60)
    step = camp.advance()  # last sub-step: 08:09-08:10
    df = generate_conditions(camp.site, SIM, START.replace(hour=0), 1440, 1.0, seed=3)
    row = df.loc[START + timedelta(minutes=9)]
    assert step.load_kw == row["load_kw"]
    assert step.pv_available_kw["pv-1"] == row["pv_available_kw__pv-1"]


def test_energy_counters_and_totals_balance(camp, clock):
    clock.advance(6 * 3600)
    camp.advance()
    t = camp.totals
    served = t["pv_kwh"] + t["genset_kwh"] + t["battery_discharge_kwh"] - t["battery_charge_kwh"]
    assert served == pytest.approx(t["load_kwh"])
    assert camp.device_values("camp-main")["energy_total_kwh"] == pytest.approx(t["load_kwh"])
    assert camp.device_values("pv-1")["energy_total_kwh"] == pytest.approx(t["pv_kwh"])


def test_initial_counters_are_plausible_and_nonzero(clock):
    camp = VirtualCamp(toy_site(), SIM, clock, seed=3)
    pv = camp.device_values("pv-1")
    assert pv["energy_total_kwh"] == 3000.0 * 250.0
    g = camp.device_values("dg-1")
    assert g["run_hours_h"] == 6000.0 and g["starts"] == 900.0


def test_pv_limit_reverts_to_100_after_timeout(camp, clock):
    camp.command("pv-1", "power_limit_revert_s", 300)
    camp.command("pv-1", "power_limit_pct", 50)
    assert camp.device_values("pv-1")["power_limit_pct"] == 50.0
    clock.advance(299)
    v = camp.device_values("pv-1")
    assert v["power_limit_pct"] == 50.0 and v["ac_power_kw"] <= 110.0
    clock.advance(2)
    assert camp.device_values("pv-1")["power_limit_pct"] == 100.0


def test_pv_limit_rewrite_restarts_the_timer(camp, clock):
    camp.command("pv-1", "power_limit_revert_s", 300)
    camp.command("pv-1", "power_limit_pct", 40)
    clock.advance(200)
    camp.command("pv-1", "power_limit_pct", 40)
    clock.advance(200)
    assert camp.device_values("pv-1")["power_limit_pct"] == 40.0
    clock.advance(101)
    assert camp.device_values("pv-1")["power_limit_pct"] == 100.0


def test_pv_limit_without_revert_time_stays(camp, clock):
    camp.command("pv-1", "power_limit_pct", 30)
    clock.advance(86_400)
    v = camp.device_values("pv-1")
    assert v["power_limit_pct"] == 30.0 and v["power_limit_revert_s"] == 0.0


def test_limited_inverter_reports_throttled(camp, clock):
    clock.advance(3600)  # 11:07 solar, sunny enough for > 10 % of 220 kW
    camp.command("pv-1", "power_limit_pct", 10)
    clock.advance(60)
    v = camp.device_values("pv-1")
    assert v["ac_power_kw"] == pytest.approx(22.0) and v["status"] == 5.0


def test_genset_run_heartbeat_returns_to_auto(camp, clock):
    camp.command("dg-1", "mode", "run")
    clock.advance(60)
    v = camp.device_values("dg-1")
    assert v["mode"] == "run" and v["running"] == 1.0 and v["starts"] == 1.0
    clock.advance(200)
    camp.command("dg-1", "mode", "run")  # heartbeat
    clock.advance(200)
    assert camp.device_values("dg-1")["mode"] == "run"
    clock.advance(101)
    assert camp.device_values("dg-1")["mode"] == "auto"


def test_genset_without_heartbeat_keeps_mode(clock):
    camp = VirtualCamp(toy_site(), SIM, clock, seed=3, genset_revert_s=None)
    camp.command("dg-2", "mode", "run")
    clock.advance(3 * 3600)
    assert camp.device_values("dg-2")["mode"] == "run"
    assert camp.device_values("dg-2")["run_hours_h"] == pytest.approx(6000.0 + 3.0)


def test_genset_base_load_and_fuel_tank(camp, clock):
    camp.command("dg-1", "mode", "run")
    camp.command("dg-1", "base_load_kw", 200.0)
    clock.advance(60)
    v = camp.device_values("dg-1")
    assert v["power_kw"] == 200.0 and v["load_pct"] == 50.0 and v["base_load_kw"] == 200.0
    assert v["fuel_rate_lph"] == pytest.approx(0.08 * 400 + 0.25 * 200)  # 82 L/h
    assert v["fuel_level_pct"] == pytest.approx(100.0 * (2000.0 - 82.0 / 60.0) / 2000.0)
    camp.command("dg-1", "base_load_kw", 0)  # 0 = share the load
    assert camp.device_values("dg-1")["base_load_kw"] == 0.0


def test_battery_limits_revert(camp, clock):
    camp.command("bess-1", "limits_revert_s", 120)
    camp.command("bess-1", "discharge_limit_kw", 50.0)
    clock.advance(60)
    v = camp.device_values("bess-1")
    assert v["discharge_limit_kw"] == 50.0 and v["power_kw"] <= 50.0
    clock.advance(61)
    assert camp.device_values("bess-1")["discharge_limit_kw"] == 500.0


def test_refused_commands(camp):
    with pytest.raises(DeviceError):
        camp.command("nope", "mode", "run")
    with pytest.raises(CommandError, match="mode"):
        camp.command("dg-1", "mode", "manual")
    with pytest.raises(ValueError, match="outside"):  # CommandError is also a ValueError
        camp.command("pv-1", "power_limit_pct", 150)
    with pytest.raises(CommandError, match="not writable"):
        camp.command("camp-main", "power_kw", 1.0)
    with pytest.raises(CommandError, match="not writable"):
        camp.command("bess-1", "soc_pct", 50)
    with pytest.raises(DeviceError):
        camp.device_values("nope")


def test_auto_gensets_keep_the_camp_supplied_over_two_days(clock):
    site = toy_site()
    camp = VirtualCamp(site, SIM, clock, seed=3, step_s=300.0)
    clock.advance(2 * 86_400)
    camp.advance()
    t = camp.totals
    assert t["unserved_kwh"] == pytest.approx(0.0, abs=1e-6)
    assert t["genset_starts"] >= 1 and t["fuel_l"] > 0.0
    soc = camp.device_values("bess-1")["soc_pct"]
    assert 15.0 <= soc <= 95.0
