"""A plan step as device setpoints: hand-made plans on the example site, exact values."""

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from testkit import EXAMPLE_SITE

from microgrid.config import load_site
from microgrid.errors import PlanError
from microgrid.plant import Setpoints
from optimizer.plan import Plan
from optimizer.setpoints import PV_MARGIN_PCT, SOC_FULL_TOL_PCT, setpoints_for_step, step_at

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def site():
    # pv-north/pv-south 250 kWp on 220 kW inverters, pv-carport 100 kWp on 90 kW (600 kWp);
    # dg-1, dg-2 400 kW (min 120 kW), dg-3 250 kW (min 75 kW); bess-1 500 kW; reserve 10 % + 25 %.
    return load_site(EXAMPLE_SITE)


def _plan(status="optimal", genset_on=None, genset_kw=None, battery_kw=(-20.0, 100.0, 50.0),
          pv_used=(300.0, 200.0, 100.0), curtailed=(50.0, 0.0, 0.3), load=(480.0, 300.0, 550.0),
          soc=(95.0, 60.0, 60.0)):
    n = 3
    genset_on = genset_on or {"dg-1": [1, 0, 1], "dg-2": [1, 0, 0], "dg-3": [0, 0, 0]}
    genset_kw = genset_kw or {"dg-1": [200.0, 0.0, 500.0], "dg-2": [50.0, 0.0, 0.0],
                              "dg-3": [0.0, 0.0, 0.0]}
    return Plan(time=tuple(T0 + timedelta(minutes=15 * i) for i in range(n)),
                dt_h=np.full(n, 0.25), load_kw=np.array(load), pv_used_kw=np.array(pv_used),
                pv_curtailed_kw=np.array(curtailed),
                battery_kw={"bess-1": np.array(battery_kw)}, soc_pct={"bess-1": np.array(soc)},
                genset_on={k: np.array(v, float) for k, v in genset_on.items()},
                genset_kw={k: np.array(v, float) for k, v in genset_kw.items()},
                fuel_l=np.zeros(n), unserved_kw=np.zeros(n), reserve_shortfall_kw=np.zeros(n),
                status=status, strategy="milp" if status != "fallback" else "load_following")


def test_step_with_gensets_curtailment_and_a_held_battery(site):
    sp = setpoints_for_step(site, _plan(), 0, hold_battery=True)
    assert sp.genset_mode == {"dg-1": "run", "dg-2": "run", "dg-3": "stop"}
    # 50 kW planned on dg-2 is below its 120 kW minimum load -> 120
    assert sp.genset_kw == {"dg-1": 200.0, "dg-2": 120.0, "dg-3": None}
    # 300 kW used split by kWp: 125 / 125 / 50 kW -> % of 220 / 220 / 90 kW, + 2 points
    assert PV_MARGIN_PCT == 2.0
    assert sp.pv_limit_pct["pv-north"] == pytest.approx(100 * 125 / 220 + 2)   # 58.8181...
    assert sp.pv_limit_pct["pv-south"] == pytest.approx(100 * 125 / 220 + 2)
    assert sp.pv_limit_pct["pv-carport"] == pytest.approx(100 * 50 / 90 + 2)   # 57.5555...
    # battery planned to charge while gensets run: held at the reserve 10 % x 480 + 25 % x 300
    assert sp.battery_discharge_limit_kw == {"bess-1": pytest.approx(123.0)}
    assert sp.battery_charge_limit_kw == {"bess-1": None}


def test_no_pv_limit_while_a_battery_could_store_the_surplus(site):
    # bess-1: 500 kW charge rating, SOC max 95 %. The plan curtails 50 kW at step 0 in each case.
    limited = {"pv-north": pytest.approx(100 * 125 / 220 + 2)}
    cases = [((-20.0, 100.0, 50.0), 95.0, limited),                        # full: limit
             ((-20.0, 100.0, 50.0), 95.0 - SOC_FULL_TOL_PCT + 0.01, limited),  # within the tolerance
             ((-500.0, 100.0, 50.0), 60.0, limited),                       # charging at its rating
             ((-20.0, 100.0, 50.0), 94.0, {"pv-north": 100.0}),            # room: no limit
             ((-499.0, 100.0, 50.0), 60.0, {"pv-north": 100.0})]
    for battery_kw, soc, expected in cases:
        sp = setpoints_for_step(site, _plan(battery_kw=battery_kw, soc=(soc, 60.0, 60.0)), 0)
        assert {"pv-north": sp.pv_limit_pct["pv-north"]} == expected, (battery_kw, soc)


def test_batteries_at_rated_by_default(site):
    sp = setpoints_for_step(site, _plan(), 0)
    assert sp.battery_discharge_limit_kw == {"bess-1": None}
    assert sp.battery_charge_limit_kw == {"bess-1": None}
    assert sp == setpoints_for_step(site, _plan(), 0, hold_battery=True).with_(
        battery_discharge_limit_kw={"bess-1": None})


def test_step_all_off_no_curtailment(site):
    sp = setpoints_for_step(site, _plan(), 1)
    assert sp.genset_mode == {"dg-1": "stop", "dg-2": "stop", "dg-3": "stop"}
    assert sp.genset_kw == {"dg-1": None, "dg-2": None, "dg-3": None}
    assert sp.pv_limit_pct == {"pv-north": 100.0, "pv-south": 100.0, "pv-carport": 100.0}
    assert sp.battery_discharge_limit_kw == {"bess-1": None}


def test_base_load_clamped_to_rating_and_discharging_battery_not_held(site):
    sp = setpoints_for_step(site, _plan(), 2, hold_battery=True)
    assert sp.genset_mode["dg-1"] == "run" and sp.genset_kw["dg-1"] == 400.0   # 500 -> rated
    assert sp.pv_limit_pct["pv-north"] == 100.0          # 0.3 kW curtailed is rounding
    assert sp.battery_discharge_limit_kw == {"bess-1": None}                    # discharging 50 kW


def test_fallback_plan_maps_the_same(site):
    for hold in (False, True):
        assert (setpoints_for_step(site, _plan("fallback"), 0, hold_battery=hold)
                == setpoints_for_step(site, _plan(), 0, hold_battery=hold))


def test_genset_missing_from_plan_stays_auto(site):
    plan = _plan(genset_on={"dg-1": [1, 0, 1]}, genset_kw={"dg-1": [200.0, 0.0, 500.0]})
    sp = setpoints_for_step(site, plan, 0)
    assert sp.genset_mode == {"dg-1": "run", "dg-2": "auto", "dg-3": "auto"}
    assert sp.genset_kw["dg-2"] is None


def test_every_device_has_a_setpoint(site):
    sp = setpoints_for_step(site, _plan(), 1)
    default = Setpoints.default(site)
    for attr in ("genset_mode", "genset_kw", "pv_limit_pct", "battery_charge_limit_kw",
                 "battery_discharge_limit_kw"):
        assert set(getattr(sp, attr)) == set(getattr(default, attr))


def test_bad_index_and_nan_raise(site):
    with pytest.raises(PlanError, match="step 3"):
        setpoints_for_step(site, _plan(), 3)
    with pytest.raises(PlanError, match="genset_kw"):
        setpoints_for_step(site, _plan(genset_kw={"dg-1": [np.nan, 0, 0], "dg-2": [0, 0, 0],
                                                  "dg-3": [0, 0, 0]}), 0)


def test_step_at(site):
    plan = _plan()
    assert step_at(plan, T0) == 0
    assert step_at(plan, T0 + timedelta(minutes=14, seconds=59)) == 0
    assert step_at(plan, T0 + timedelta(minutes=15)) == 1
    assert step_at(plan, T0 + timedelta(minutes=44)) == 2
    assert step_at(plan, T0 + timedelta(minutes=45)) is None
    assert step_at(plan, T0 - timedelta(seconds=1)) is None
