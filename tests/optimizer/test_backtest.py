"""Rolling-horizon backtest on the virtual camp's physics: accounting, determinism, fallback, CLI."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pandas as pd
import pytest
from optimizer_testkit import battery, genset
from optimizer_testkit import site as make_site
from testkit import EXAMPLE_SITE

from microgrid.cli import main
from microgrid.config import load_site
from microgrid.errors import InputError
from microgrid.plant import Setpoints, StepResult
from microgrid.simulator.conditions import SyntheticConditions
from microgrid.simulator.settings import load_simulator_settings
from optimizer.backtest import backtest, reserve_shortfall_kw, soc_change_l
from optimizer.model import MilpOptions

START = datetime(2026, 3, 2, tzinfo=timezone.utc)
#: Coarse but real MILP operation for tests: 12 h horizon (all 15-min steps), re-plan every 2 h.
FAST = dict(horizon_h=12, replan_every_min=120, milp_options=MilpOptions(mip_rel_gap=0.01, time_limit_s=5))


SITE_PATH = str(EXAMPLE_SITE)
SIM = load_simulator_settings(EXAMPLE_SITE)


@pytest.fixture(scope="module")
def site():
    return load_site(SITE_PATH)


def _truth(site, seed=None):
    return SyntheticConditions(site, SIM, seed)


@pytest.fixture(scope="module")
def milp_2d(site):
    return backtest(site, _truth(site), start=START, days=2, strategy="milp", forecast="realistic", keep_steps=True,
                    **FAST)


@pytest.fixture(scope="module")
def lf_2d(site):
    return backtest(site, _truth(site), start=START, days=2, strategy="load-following", keep_steps=True)


def _steps_check(site, r):
    """Totals equal the per-step physics; each step balances; genset counters match the steps."""
    assert len(r.steps) == 2 * 96 and r.step_times[0] == START
    assert r.balance_error_kwh == pytest.approx(0.0, abs=1e-6)
    for s in r.steps:
        assert s.load_kw == pytest.approx(s.pv_kw + s.genset_total_kw + s.battery_total_kw + s.unserved_kw,
                                          abs=1e-9)
    assert r.load_kwh == pytest.approx(sum(s.load_kw * s.dt_h for s in r.steps), rel=1e-12)
    fuel_curve = sum(g.fuel_rate_lph(s.genset_kw[g.name], s.genset_on[g.name]) * s.dt_h
                     for s in r.steps for g in site.gensets)
    assert r.fuel_l == pytest.approx(fuel_curve, rel=1e-12)
    for g in site.gensets:
        on = [False] + [s.genset_on[g.name] for s in r.steps]
        assert r.genset_run_h[g.name] == pytest.approx(0.25 * sum(on))
        assert r.genset_starts[g.name] == sum(1 for a, b in zip(on, on[1:]) if b and not a)
    assert r.renewable_fraction_pct == pytest.approx(100 * (1 - r.genset_kwh / r.served_kwh))


def test_milp_run_balances_and_fuel_is_the_physics_fuel(site, milp_2d):
    _steps_check(site, milp_2d)
    assert milp_2d.plans == 24 and len(milp_2d.solve_s) == 24 and milp_2d.fallbacks == 0
    assert milp_2d.unserved_kwh == pytest.approx(0.0, abs=1e-6)
    assert milp_2d.solve_p95_s >= milp_2d.solve_p50_s > 0


def test_rule_run_balances_and_decides_every_step(site, lf_2d):
    _steps_check(site, lf_2d)
    assert lf_2d.forecast == "measured" and lf_2d.plans == 2 * 96


def test_milp_burns_less_fuel_than_load_following(milp_2d, lf_2d):
    # the point of the project; SOC-adjusted too, as load following empties the battery
    assert milp_2d.fuel_l < lf_2d.fuel_l
    assert milp_2d.fuel_soc_adjusted_l < lf_2d.fuel_soc_adjusted_l


def test_same_seed_same_result(site):
    # repeatable because make_solver turns HiGHS's symmetry detection off (a parallel task whose
    # timing changed which plan within the gap came back: 0.2-2 % of fuel between runs)
    kw = dict(start=START, days=0.5)
    runs = [backtest(site, _truth(site, 11), strategy="milp", forecast="realistic", **kw, **FAST)
            for _ in range(2)]
    runs += [backtest(site, _truth(site, 11), strategy="cycle-charging", forecast="realistic",
                      rules_on_measured=False, replan_every_min=60, **kw) for _ in range(2)]
    drop = ("wall_s", "cpu_s", "solve_p50_s", "solve_p95_s")
    a, b, c, d = ({k: v for k, v in r.to_dict().items() if k not in drop} for r in runs)
    assert a == b and c == d
    assert c["forecast"] == "realistic" and c["plans"] == 12
    other = backtest(site, _truth(site, 12), strategy="cycle-charging", forecast="realistic",
                     rules_on_measured=False, replan_every_min=60, start=START, days=0.5)
    assert other.load_kwh != runs[2].load_kwh


def test_forced_failure_counts_fallbacks(site):
    r = backtest(site, _truth(site), start=START, days=0.25, strategy="milp", forecast="perfect",
                 replan_every_min=60,
                 horizon_h=12, milp_options=MilpOptions(force_infeasible=True))
    assert r.plans == 6 and r.fallbacks == 6 and r.statuses == {"fallback": 6}
    assert sum(r.fallback_reasons.values()) == 6
    assert all("PlanError" in reason for reason in r.fallback_reasons)
    assert r.unserved_kwh == pytest.approx(0.0, abs=1e-6)
    assert r.to_dict()["fallbacks"] == 6


def test_finer_physics_step(site):
    r = backtest(site, _truth(site), start=START, days=0.25, strategy="load-following", step_min=5,
                 keep_steps=True)
    assert len(r.steps) == 72 and r.steps[0].dt_h == pytest.approx(5 / 60)
    assert r.balance_error_kwh == pytest.approx(0.0, abs=1e-6)
    frame = r.steps_frame()
    assert len(frame) == 72 and str(frame.index.tz) == "UTC" and frame.index[1] - frame.index[0] == pd.Timedelta("5min")
    assert (frame["load_kw"] * 5 / 60).sum() == pytest.approx(r.load_kwh)
    assert frame["fuel_l"].sum() == pytest.approx(r.fuel_l)


@pytest.mark.parametrize("kw, column", [
    (dict(strategy="homer"), "strategy"), (dict(forecast="oracle"), "forecast"),
    (dict(replan_every_min=20), "replan_every_min"), (dict(step_min=7), "step_min"),
    (dict(replan_every_min=60, horizon_h=0.5), "replan_every_min"),
    (dict(days=0), "days"), (dict(start=datetime(2026, 3, 2)), "start")])
def test_bad_arguments_name_the_argument(site, kw, column):
    args = dict(start=START, days=1) | kw
    with pytest.raises(InputError) as err:
        backtest(site, _truth(site), **args)
    assert column in str(err.value) or getattr(err.value, "column", None) == column


def _step(load, pv, gen_kw, on, bat_kw, soc_end, dt_h=0.25):
    return StepResult(load_kw=load, pv_available_kw={}, pv_used_kw={"pv": pv}, pv_curtailed_kw=0.0,
                      genset_kw=gen_kw, genset_on=on, genset_below_min={k: False for k in on},
                      fuel_l={k: 0.0 for k in on}, battery_kw=bat_kw, soc_pct=soc_end, unserved_kw=0.0,
                      dt_h=dt_h)


def test_reserve_shortfall_by_hand():
    s = make_site(gensets=[genset("dg-1", rated_kw=200.0)],
                  batteries=[battery("b", capacity_kwh=200.0, power_kw=100.0, soc_min_pct=10.0)],
                  reserve=(10.0, 25.0))
    free = Setpoints.default(s)
    # need 10 % of 300 + 25 % of 100 = 55 kW; genset headroom 200 - 180 = 20; battery 100 - 90 = 10
    assert reserve_shortfall_kw(s, _step(300, 100, {"dg-1": 180.0}, {"dg-1": True}, {"b": 90.0},
                                         {"b": 60.0}), free) == pytest.approx(25.0)
    # charging battery: stopping the charge is headroom too (100 + 40)
    assert reserve_shortfall_kw(s, _step(300, 100, {"dg-1": 180.0}, {"dg-1": True}, {"b": -40.0},
                                         {"b": 60.0}), free) == 0.0
    # a discharge limit of 20 kW and a battery near empty: 4 kWh above min over 0.25 h -> 16 kW
    limited = free.with_(battery_discharge_limit_kw={"b": 20.0})
    assert reserve_shortfall_kw(s, _step(300, 100, {"dg-1": 0.0}, {"dg-1": False}, {"b": 0.0}, {"b": 12.0}),
                                limited) == pytest.approx(55.0 - 16.0)


def test_soc_change_in_litres_by_hand():
    s = make_site(gensets=[genset("a", f1=0.25), genset("b", f1=0.30)],
                  batteries=[battery("b1", capacity_kwh=1000.0, eff_ch=0.8)])
    # 10 % of 1000 kWh lost, 0.25 L/kWh / 0.8
    assert soc_change_l(s, {"b1": 60.0}, {"b1": 50.0}) == pytest.approx(31.25)
    assert soc_change_l(s, {"b1": 50.0}, {"b1": 60.0}) == pytest.approx(-31.25)


def test_cli_json(capsys):
    rc = main(["backtest", "--site", SITE_PATH, "--days", "0.5", "--strategy", "cycle-charging",
               "--start", "2026-03-02", "--seed", "3", "--json", "--no-progress"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["strategy"] == "cycle-charging" and out["days"] == 0.5 and out["seed"] == 3
    assert out["start"] == "2026-03-02T00:00:00+00:00" and out["plans"] == 48
    for key in ("fuel_l", "renewable_fraction_pct", "genset_run_h", "genset_starts", "below_min_h_total",
                "unserved_kwh", "reserve_shortfall_kwh", "fallbacks", "solve_p50_s", "solve_p95_s"):
        assert key in out


def test_cli_compare_table(capsys):
    rc = main(["backtest", "--site", SITE_PATH, "--days", "0.25", "--compare", "--start", "2026-03-02",
               "--forecast", "perfect", "--replan-every-min", "60", "--horizon-h", "6", "--no-progress"])
    assert rc == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["strategy", "forecast", "fuel_l"]
    assert [line.split()[0] for line in lines[1:]] == ["milp", "load-following", "cycle-charging"]


def test_cli_bad_start(capsys):
    rc = main(["backtest", "--site", SITE_PATH, "--days", "1", "--start", "March", "--no-progress"])
    assert rc == 2 and "--start" in capsys.readouterr().err
