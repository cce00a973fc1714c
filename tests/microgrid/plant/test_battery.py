"""Battery rules of the kernel: step limits, reserve, SOC update, weighting, stored energy used."""

from __future__ import annotations

import math

import numpy as np
import pyomo.environ as pyo
import pytest
from toy_testkit import battery

from microgrid.plant.battery import (
    battery_flows_kw,
    battery_limits_kw,
    battery_reserve_kw,
    capacity_weighted_soc_pct,
    deliverable_energy_kwh,
    deliverable_from_stored_kwh,
    discharge_headroom_kw,
    energy_to_restore_kwh,
    energy_window_kwh,
    soc_step_pct,
    stored_energy_change_kwh,
    stored_energy_kwh,
    stored_energy_to_restore_kwh,
)


def test_limits_from_setpoints_and_window():
    b = battery()  # 1000 kWh, 500/500 kW, SOC 15-95 %, eta 0.96 each way
    # 450 kWh above soc_min x eta_d 0.96 over 1 h = 432 kW; over 15 min the 500 kW rating binds
    assert battery_limits_kw(b, 60.0, 1.0, charge_limit_kw=50.0) == (pytest.approx(50.0), pytest.approx(432.0))
    assert battery_limits_kw(b, 60.0, 0.25, charge_limit_kw=50.0) == (pytest.approx(50.0), pytest.approx(500.0))
    assert battery_limits_kw(b, 94.0, 1.0)[0] == pytest.approx(10.0 / 0.96)  # 10 kWh of room
    assert battery_limits_kw(b, 15.0, 0.25, charge_limit_kw=50.0) == (pytest.approx(50.0), 0.0)
    # a limit above the rating is the rating; a negative one is 0
    assert battery_limits_kw(b, 60.0, 0.25, charge_limit_kw=900.0, discharge_limit_kw=-5.0) == (500.0, 0.0)


def test_limits_in_a_strategy_window():
    b = battery()
    # floor 55 %: 5 % = 50 kWh x 0.96 over 1 h; ceiling 80 %: 200 kWh / 0.96
    ch, dis = battery_limits_kw(b, 60.0, 1.0, floor_pct=55.0, ceil_pct=80.0)
    assert dis == pytest.approx(48.0) and ch == pytest.approx(200.0 / 0.96)
    assert battery_limits_kw(b, 50.0, 1.0, floor_pct=55.0)[1] == 0.0  # below the guard: nothing


def test_reserve_is_the_power_left_within_the_energy_left():
    b = battery()
    assert battery_reserve_kw(b, 60.0, 100.0, 0.25) == pytest.approx(400.0)  # power binds
    # 2 % above the minimum = 20 kWh x 0.96 over 15 min = 76.8 kW
    assert battery_reserve_kw(b, 17.0, 100.0, 0.25) == pytest.approx(76.8)
    assert battery_reserve_kw(b, 10.0, 0.0, 0.25) == 0.0  # below the minimum: none
    assert battery_reserve_kw(b, 60.0, 0.0, 0.25, discharge_limit_kw=120.0) == pytest.approx(120.0)
    assert battery_reserve_kw(b, 60.0, 200.0, 0.25, discharge_limit_kw=120.0) == 0.0  # never negative
    assert deliverable_energy_kwh(b, 25.0) == pytest.approx(96.0)


def test_soc_step_keeps_inside_the_window_it_started_in():
    b = battery()
    assert soc_step_pct(b, 50.0, -100.0, 1.0) == pytest.approx(59.6)  # 100 kWh x 0.96
    assert soc_step_pct(b, 50.0, 96.0, 1.0) == pytest.approx(40.0)  # 96 kW / 0.96
    assert soc_step_pct(b, 95.0, -1e-9, 1.0) == 95.0  # rounding past the maximum is clipped
    assert soc_step_pct(b, 10.0, 10.0, 1.0) < 10.0  # started outside the window: not clipped


def test_energy_change_is_linear_in_charge_and_discharge():
    b = battery()
    assert stored_energy_change_kwh(b, 100.0, 0.0, 0.5) == pytest.approx(48.0)
    assert stored_energy_change_kwh(b, 0.0, 96.0, 0.5) == pytest.approx(-50.0)
    got = stored_energy_change_kwh(b, np.array([100.0, 0.0]), np.array([0.0, 96.0]), 1.0)
    np.testing.assert_allclose(got, [96.0, -100.0])
    assert energy_window_kwh(b) == (150.0, 950.0)


def test_capacity_weighted_soc_skips_missing_batteries():
    a, b = battery("a", capacity_kwh=1000.0), battery("b", capacity_kwh=250.0)
    assert capacity_weighted_soc_pct([a, b], {"a": 50.0, "b": 100.0}) == pytest.approx(60.0)
    assert capacity_weighted_soc_pct([a, b], {"a": 50.0, "b": None}) == pytest.approx(50.0)
    assert capacity_weighted_soc_pct([a, b], {"a": math.nan, "b": 80.0}) == pytest.approx(80.0)
    assert capacity_weighted_soc_pct([a, b], {}) is None
    assert capacity_weighted_soc_pct([], {"a": 50.0}) is None
    per_step = capacity_weighted_soc_pct([a, b], {"a": np.array([50.0, 40.0]), "b": np.array([100.0, 40.0])})
    np.testing.assert_allclose(per_step, [60.0, 40.0])


def test_stored_energy_to_restore_counts_charge_losses():
    a, b = battery("a"), battery("b", capacity_kwh=500.0, charge_efficiency=0.9)
    # a lost 10 % of 1000 kWh (100 / 0.96); b gained 20 % of 500 kWh (-100 / 0.9)
    got = stored_energy_to_restore_kwh([a, b], {"a": 60.0, "b": 40.0}, {"a": 50.0, "b": 60.0})
    assert got == pytest.approx(100.0 / 0.96 - 100.0 / 0.9)


def test_flows_share_by_rating_within_each_limit():
    a, b = battery("a", discharge_power_kw=400.0, charge_power_kw=400.0), battery("b", discharge_power_kw=200.0)
    limits = {"a": (400.0, 400.0), "b": (500.0, 50.0)}
    assert battery_flows_kw([a, b], limits, 300.0) == {"a": pytest.approx(250.0), "b": pytest.approx(50.0)}
    assert battery_flows_kw([a, b], limits, -900.0) == {"a": pytest.approx(-400.0), "b": pytest.approx(-500.0)}


def test_linear_rules_agree_with_the_number_rules_and_take_model_expressions():
    b = battery()  # 1000 kWh, SOC 15-95 %, eta 0.96 each way, 500 kW
    assert stored_energy_kwh(b, 40.0) == pytest.approx(400.0)
    # 250 kWh above the 150 kWh minimum, delivered through eta_d: the clipped rule's value
    assert deliverable_from_stored_kwh(b, 400.0) == pytest.approx(deliverable_energy_kwh(b, 40.0)) == 240.0
    assert deliverable_from_stored_kwh(b, 100.0) < 0.0 == deliverable_energy_kwh(b, 10.0)
    assert discharge_headroom_kw(b, 120.0) == pytest.approx(380.0)
    assert discharge_headroom_kw(b, -50.0, discharge_limit_kw=100.0) == pytest.approx(150.0)
    assert energy_to_restore_kwh(b, 96.0) == pytest.approx(100.0)
    # the reserve rule is the lesser of the two linear parts, never negative
    assert battery_reserve_kw(b, 17.0, 100.0, 0.25) == pytest.approx(
        min(discharge_headroom_kw(b, 100.0), deliverable_from_stored_kwh(b, stored_energy_kwh(b, 17.0)) / 0.25))
    # on a model's variables they are linear expressions with the same values
    m = pyo.ConcreteModel()
    m.x = pyo.Var(initialize=400.0)
    for rule, number in ((deliverable_from_stored_kwh, 240.0), (discharge_headroom_kw, 100.0),
                         (energy_to_restore_kwh, 400.0 / 0.96)):
        expr = rule(b, m.x)
        assert pyo.value(expr) == pytest.approx(number)
        assert expr.polynomial_degree() == 1
