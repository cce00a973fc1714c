"""The step model (dispatch_step): hand-checkable balances, SOC, fuel, curtailment, unserved load,
auto mode."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from toy_testkit import battery, pv, toy_site

from microgrid.errors import InputError
from microgrid.plant import AutoStartRule, CampState, Setpoints, dispatch_step

STOP_ALL = {"genset_mode": {"dg-1": "stop", "dg-2": "stop"}}


def _state(site, soc=None, **kw):
    s = CampState.initial(site)
    if soc is not None:
        s.soc_pct = {b.name: soc for b in site.batteries}
    for k, v in kw.items():
        setattr(s, k, {**getattr(s, k), **v})
    return s


def _sp(site, **changes):
    return Setpoints.default(site).with_(**changes)


def _balance(r):
    return sum(r.pv_used_kw.values()) + sum(r.genset_kw.values()) + sum(r.battery_kw.values()) + r.unserved_kw


def test_soc_integrates_charge_with_efficiency():
    site = toy_site()
    s, r = dispatch_step(site, _state(site, 50.0), 0.0, {"pv-1": 100.0}, _sp(site, **STOP_ALL), 1.0)
    assert r.battery_kw["bess-1"] == pytest.approx(-100.0)
    assert s.soc_pct["bess-1"] == pytest.approx(59.6)  # 100 kWh x 0.96 on 1000 kWh
    assert s.battery_charge_total_kwh["bess-1"] == pytest.approx(100.0)


def test_soc_integrates_discharge_with_efficiency():
    site = toy_site()
    s, r = dispatch_step(site, _state(site, 50.0), 96.0, {"pv-1": 0.0}, _sp(site, **STOP_ALL), 1.0)
    assert r.battery_kw["bess-1"] == pytest.approx(96.0)
    assert s.soc_pct["bess-1"] == pytest.approx(40.0)  # 96 kWh / 0.96 = 100 kWh from the store
    assert r.unserved_kw == 0.0


def test_fuel_follows_the_linear_curve_exactly():
    site = toy_site()
    sp = _sp(site, genset_mode={"dg-1": "run", "dg-2": "stop"}, genset_kw={"dg-1": 200.0})
    s, r = dispatch_step(site, _state(site, 50.0), 300.0, {"pv-1": 0.0}, sp, 0.5)
    assert r.genset_kw["dg-1"] == 200.0
    assert r.fuel_l["dg-1"] == pytest.approx((0.08 * 400 + 0.25 * 200) * 0.5)  # 41.0 L
    assert r.fuel_l["dg-2"] == 0.0
    assert s.genset_fuel_total_l["dg-1"] == pytest.approx(41.0)
    assert s.genset_energy_total_kwh["dg-1"] == pytest.approx(100.0)
    assert s.genset_run_hours_h["dg-1"] == pytest.approx(0.5)
    assert r.battery_kw["bess-1"] == pytest.approx(100.0)


def test_pv_curtailed_when_battery_full():
    site = toy_site()
    s, r = dispatch_step(site, _state(site, 95.0), 100.0, {"pv-1": 200.0}, _sp(site, **STOP_ALL), 1.0)
    assert r.battery_kw["bess-1"] == pytest.approx(0.0)
    assert r.pv_used_kw["pv-1"] == pytest.approx(100.0)
    assert r.pv_curtailed_kw == pytest.approx(100.0)
    assert s.pv_curtailed_total_kwh["pv-1"] == pytest.approx(100.0)


def test_battery_charge_limited_by_soc_window_then_curtail():
    site = toy_site()
    # 9.6 kWh of room below 95 % -> at most 10 kW for 1 h at eta_c 0.96
    s, r = dispatch_step(site, _state(site, 94.04), 100.0, {"pv-1": 200.0}, _sp(site, **STOP_ALL), 1.0)
    assert r.battery_kw["bess-1"] == pytest.approx(-10.0)
    assert r.pv_used_kw["pv-1"] == pytest.approx(110.0)
    assert r.pv_curtailed_kw == pytest.approx(90.0)
    assert s.soc_pct["bess-1"] == pytest.approx(95.0)


def test_unserved_recorded_when_battery_empty_and_no_genset():
    site = toy_site()
    s, r = dispatch_step(site, _state(site, 15.0), 200.0, {"pv-1": 50.0}, _sp(site, **STOP_ALL), 1.0)
    assert r.battery_kw["bess-1"] == 0.0
    assert r.unserved_kw == pytest.approx(150.0)
    assert s.unserved_total_kwh == pytest.approx(150.0)
    assert s.load_energy_total_kwh == pytest.approx(50.0)


def test_partial_energy_left_then_unserved():
    site = toy_site()
    # 1 % of 1000 kWh above soc_min = 10 kWh -> 9.6 kW for 1 h after eta_d
    s, r = dispatch_step(site, _state(site, 16.0), 200.0, {"pv-1": 50.0}, _sp(site, **STOP_ALL), 1.0)
    assert r.battery_kw["bess-1"] == pytest.approx(9.6)
    assert r.unserved_kw == pytest.approx(140.4)
    assert s.soc_pct["bess-1"] == pytest.approx(15.0)


def test_genset_shares_residual_clamped_to_min_load():
    site = toy_site()
    sp = _sp(site, genset_mode={"dg-1": "run", "dg-2": "stop"})
    s, r = dispatch_step(site, _state(site, 50.0), 50.0, {"pv-1": 0.0}, sp, 1.0)
    assert r.genset_kw["dg-1"] == pytest.approx(120.0)  # 30 % of 400
    assert r.battery_kw["bess-1"] == pytest.approx(-70.0)
    assert not r.genset_below_min["dg-1"]


def test_base_load_setpoint_clamped_to_min_and_rated():
    site = toy_site()
    sp = _sp(site, genset_mode={"dg-1": "run", "dg-2": "run"}, genset_kw={"dg-1": 50.0, "dg-2": 900.0})
    _, r = dispatch_step(site, _state(site, 50.0), 500.0, {"pv-1": 0.0}, sp, 1.0)
    assert r.genset_kw == {"dg-1": pytest.approx(120.0), "dg-2": pytest.approx(250.0)}
    assert r.battery_kw["bess-1"] == pytest.approx(130.0)


def test_gensets_share_in_proportion_to_rating():
    site = toy_site()
    sp = _sp(site, genset_mode={"dg-1": "run", "dg-2": "run"})
    _, r = dispatch_step(site, _state(site, 50.0), 620.0, {"pv-1": 100.0}, sp, 1.0)
    assert r.genset_kw == {"dg-1": pytest.approx(320.0), "dg-2": pytest.approx(200.0)}
    assert r.battery_kw["bess-1"] == pytest.approx(0.0)


def test_genset_below_min_as_last_resort_and_flagged():
    site = toy_site()
    sp = _sp(site, genset_mode={"dg-1": "run", "dg-2": "stop"})
    s, r = dispatch_step(site, _state(site, 95.0), 50.0, {"pv-1": 30.0}, sp, 1.0)
    assert r.pv_used_kw["pv-1"] == pytest.approx(0.0)  # PV curtailed first
    assert r.genset_kw["dg-1"] == pytest.approx(50.0)
    assert r.genset_below_min["dg-1"]
    assert s.genset_below_min_h["dg-1"] == pytest.approx(1.0)
    assert r.fuel_l["dg-1"] == pytest.approx(0.08 * 400 + 0.25 * 50)


def test_pv_limit_and_battery_discharge_limit():
    site = toy_site()
    sp = _sp(site, pv_limit_pct={"pv-1": 50.0}, battery_discharge_limit_kw={"bess-1": 100.0}, **STOP_ALL)
    _, r = dispatch_step(site, _state(site, 60.0), 400.0, {"pv-1": 200.0}, sp, 1.0)
    assert r.pv_used_kw["pv-1"] == pytest.approx(110.0)  # 50 % of the 220 kW inverter
    assert r.pv_curtailed_kw == pytest.approx(90.0)
    assert r.battery_kw["bess-1"] == pytest.approx(100.0)
    assert r.unserved_kw == pytest.approx(190.0)


def test_two_batteries_split_by_power_rating():
    site = toy_site(batteries=[battery("b1"), battery("b2", discharge_power_kw=250.0, capacity_kwh=500.0)],
                    gensets=[])
    _, r = dispatch_step(site, _state(site), 300.0, {"pv-1": 0.0}, Setpoints.default(site), 0.25)
    assert r.battery_kw == {"b1": pytest.approx(200.0), "b2": pytest.approx(100.0)}


def test_auto_starts_a_genset_at_low_soc_and_charges():
    site = toy_site()
    s, r = dispatch_step(site, _state(site, 20.0), 300.0, {"pv-1": 0.0}, Setpoints.default(site), 0.25)
    assert r.genset_on == {"dg-1": True, "dg-2": False}  # smallest set covering 300 kW
    assert s.genset_starts["dg-1"] == 1 and s.genset_state_min["dg-1"] == 15.0
    assert r.genset_kw["dg-1"] == pytest.approx(400.0)  # cycle charging up to rating
    assert r.battery_kw["bess-1"] == pytest.approx(-100.0)


def test_auto_stays_off_when_battery_covers():
    site = toy_site()
    s, r = dispatch_step(site, _state(site, 60.0), 300.0, {"pv-1": 0.0}, Setpoints.default(site), 0.25)
    assert r.genset_on == {"dg-1": False, "dg-2": False}
    assert r.battery_kw["bess-1"] == pytest.approx(300.0)
    assert s.genset_starts == {"dg-1": 0, "dg-2": 0}


def test_auto_starts_smallest_cover_when_battery_power_short():
    site = toy_site()
    _, r = dispatch_step(site, _state(site, 60.0), 700.0, {"pv-1": 0.0}, Setpoints.default(site), 0.25)
    assert r.genset_on == {"dg-1": False, "dg-2": True}  # 200 kW short: the 250 kW unit
    assert r.unserved_kw == 0.0


def test_auto_keeps_min_up_then_stops_above_high_soc():
    site = toy_site()
    run = {"genset_running": {"dg-1": True}}
    s = _state(site, 90.0, genset_state_min={"dg-1": 30.0}, **run)
    _, r = dispatch_step(site, s, 300.0, {"pv-1": 0.0}, Setpoints.default(site), 0.25)
    assert r.genset_on["dg-1"]  # 30 min < min_up 60
    s = _state(site, 90.0, genset_state_min={"dg-1": 60.0}, **run)
    s2, r = dispatch_step(site, s, 300.0, {"pv-1": 0.0}, Setpoints.default(site), 0.25)
    assert not r.genset_on["dg-1"] and s2.genset_state_min["dg-1"] == 15.0
    s = _state(site, 70.0, genset_state_min={"dg-1": 600.0}, **run)  # between thresholds: hold
    _, r = dispatch_step(site, s, 300.0, {"pv-1": 0.0}, Setpoints.default(site), 0.25)
    assert r.genset_on["dg-1"]


def test_auto_without_charging_follows_load():
    site = toy_site()
    _, r = dispatch_step(site, _state(site, 20.0), 300.0, {"pv-1": 0.0}, Setpoints.default(site), 0.25,
                         auto=AutoStartRule(charge_batteries=False))
    assert r.genset_kw["dg-1"] == pytest.approx(300.0) and r.battery_kw["bess-1"] == pytest.approx(0.0)


def test_stop_mode_is_obeyed_even_with_empty_battery():
    site = toy_site()
    s = _state(site, 15.0, genset_running={"dg-1": True}, genset_state_min={"dg-1": 5.0})
    s2, r = dispatch_step(site, s, 300.0, {"pv-1": 0.0}, _sp(site, **STOP_ALL), 0.25)
    assert not r.genset_on["dg-1"] and r.unserved_kw == pytest.approx(300.0)
    assert s2.genset_starts["dg-1"] == 0


def test_starts_counted_once_per_off_on():
    site = toy_site()
    sp = _sp(site, genset_mode={"dg-1": "run", "dg-2": "stop"})
    s = CampState.initial(site)
    for _ in range(4):
        s, _r = dispatch_step(site, s, 300.0, {"pv-1": 0.0}, sp, 0.25)
    assert s.genset_starts["dg-1"] == 1 and s.genset_state_min["dg-1"] == 60.0
    assert s.genset_run_hours_h["dg-1"] == pytest.approx(1.0)


def test_input_state_not_mutated():
    site = toy_site()
    s0 = CampState.initial(site)
    snapshot = replace(s0, soc_pct=dict(s0.soc_pct))
    dispatch_step(site, s0, 300.0, {"pv-1": 0.0}, Setpoints.default(site), 1.0)
    assert s0.soc_pct == snapshot.soc_pct and s0.genset_starts == {"dg-1": 0, "dg-2": 0}


def test_no_battery_auto_gensets_follow_the_load():
    site = toy_site(batteries=[])
    s, r = dispatch_step(site, CampState.initial(site), 300.0, {"pv-1": 50.0}, Setpoints.default(site), 0.25)
    assert r.genset_on == {"dg-1": False, "dg-2": True}  # 250 kW net: the 250 kW unit
    assert r.genset_kw["dg-2"] == pytest.approx(250.0) and r.unserved_kw == 0.0
    s = _state(site, genset_running={"dg-2": True}, genset_state_min={"dg-2": 60.0})
    _, r = dispatch_step(site, s, 30.0, {"pv-1": 50.0}, Setpoints.default(site), 0.25)
    assert not r.genset_on["dg-2"]  # PV covers the load: the genset stops after min_up
    assert r.pv_used_kw["pv-1"] == pytest.approx(30.0)


def test_nothing_but_pv_leaves_the_rest_unserved():
    site = toy_site(batteries=[], gensets=[])
    _, r = dispatch_step(site, CampState.initial(site), 300.0, {"pv-1": 50.0}, Setpoints(), 1.0)
    assert r.unserved_kw == pytest.approx(250.0) and r.pv_curtailed_kw == 0.0


def test_non_finite_inputs_are_input_errors():
    site = toy_site()
    with pytest.raises(InputError, match="pv_available_kw__pv-1"):
        dispatch_step(site, CampState.initial(site), 300.0, {"pv-1": float("nan")}, Setpoints(), 1.0)
    with pytest.raises(InputError, match="load_kw"):
        dispatch_step(site, CampState.initial(site), float("nan"), {"pv-1": 0.0}, Setpoints(), 1.0)


RANDOM_SITE = toy_site(pv_arrays=[pv("pv-1"), pv("pv-2", kwp=100.0, inverter_kw=90.0)],
                       batteries=[battery("b1"), battery("b2", capacity_kwh=400.0, charge_power_kw=200.0,
                                                         discharge_power_kw=250.0)])
MODES = st.sampled_from(["auto", "run", "stop"])
OPT_KW = st.one_of(st.none(), st.floats(0.0, 600.0))


@settings(max_examples=300, deadline=None)
@given(load=st.floats(0.0, 1500.0), pv1=st.floats(0.0, 300.0), pv2=st.floats(0.0, 120.0),
       soc1=st.floats(0.0, 100.0), soc2=st.floats(15.0, 95.0), m1=MODES, m2=MODES,
       kw1=OPT_KW, lim=st.floats(0.0, 100.0), ch=OPT_KW, dis=OPT_KW,
       on1=st.booleans(), dt_h=st.sampled_from([1 / 60, 0.25, 1.0]))
def test_energy_balance_holds_on_random_inputs(load, pv1, pv2, soc1, soc2, m1, m2, kw1, lim, ch, dis,
                                               on1, dt_h):
    site = RANDOM_SITE
    s = _state(site, genset_running={"dg-1": on1})
    s.soc_pct = {"b1": soc1, "b2": soc2}
    sp = _sp(site, genset_mode={"dg-1": m1, "dg-2": m2}, genset_kw={"dg-1": kw1},
             pv_limit_pct={"pv-1": lim}, battery_charge_limit_kw={"b1": ch},
             battery_discharge_limit_kw={"b2": dis})
    s2, r = dispatch_step(site, s, load, {"pv-1": pv1, "pv-2": pv2}, sp, dt_h)
    assert _balance(r) == pytest.approx(load, abs=1e-6)
    assert r.unserved_kw >= 0.0
    assert r.pv_used_kw["pv-1"] <= min(pv1, 2.2 * lim) + 1e-9 and r.pv_used_kw["pv-2"] <= pv2 + 1e-9
    assert r.pv_curtailed_kw == pytest.approx(pv1 + pv2 - sum(r.pv_used_kw.values()), abs=1e-9)
    assert r.pv_curtailed_kw >= -1e-9
    for g in site.gensets:
        assert 0.0 <= r.genset_kw[g.name] <= g.rated_kw + 1e-9
        assert r.genset_kw[g.name] == 0.0 or r.genset_on[g.name]
        assert r.fuel_l[g.name] == pytest.approx(g.fuel_rate_lph(r.genset_kw[g.name], r.genset_on[g.name]) * dt_h)
    for m, g in ((m1, "dg-1"), (m2, "dg-2")):
        if m != "auto":
            assert r.genset_on[g] == (m == "run")
    assert r.battery_kw["b1"] >= -(ch if ch is not None else 500.0) - 1e-9
    assert r.battery_kw["b2"] <= (dis if dis is not None else 250.0) + 1e-9
    assert 15.0 - 1e-9 <= s2.soc_pct["b2"] <= 95.0 + 1e-9
    if 15.0 <= soc1 <= 95.0:
        assert 15.0 - 1e-9 <= s2.soc_pct["b1"] <= 95.0 + 1e-9
    if r.unserved_kw > 1e-6:  # unserved only when nothing more could be drawn
        assert all(r.pv_used_kw[k] == pytest.approx(min({"pv-1": pv1, "pv-2": pv2}[k],
                   (2.2 * lim if k == "pv-1" else 90.0))) for k in r.pv_used_kw)
