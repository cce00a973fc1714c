"""A backtest cut into chunks with spin-up, run in processes and merged; the spin-up itself."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from testkit import EXAMPLE_SITE

from microgrid.cli import main
from microgrid.errors import InputError
from microgrid.simulator.conditions import SyntheticConditions
from microgrid.simulator.settings import load_camp
from optimizer.backtest import backtest
from optimizer.backtest_chunks import backtest_chunks, chunk_periods, merge_results
from optimizer.backtest_report import BacktestResult

START = datetime(2026, 3, 2, tzinfo=timezone.utc)
SITE_PATH = str(EXAMPLE_SITE)
SITE, SIM = load_camp(EXAMPLE_SITE)
TRUTH = SyntheticConditions(SITE, SIM)


@pytest.fixture(scope="module")
def site():
    return SITE


@pytest.fixture(scope="module")
def lf_3d(site):
    return backtest(site, TRUTH, start=START, days=3, strategy="load-following")


def test_chunk_periods_are_consecutive_whole_days():
    parts = chunk_periods(START, 365, 2)
    assert parts == [(START, 182.0), (START + timedelta(days=182), 183.0)]
    assert chunk_periods(START, 2.5, 1) == [(START, 2.5)]
    with pytest.raises(InputError, match="chunks must be >= 1"):
        chunk_periods(START, 10, 0)
    with pytest.raises(InputError, match="cannot be cut into 3 chunks"):
        chunk_periods(START, 2, 3)


def _result(start, days, **kw):
    base = dict(site="camp", strategy="milp", forecast="realistic", start=start,
                end=start + timedelta(days=days), step_min=15.0, replan_every_min=60.0, horizon_h=24.0,
                seed=7)
    return BacktestResult(**{**base, **kw})


def test_merge_adds_figures_and_keeps_the_outer_socs():
    a = _result(START, 1, load_kwh=100.0, fuel_l=10.0, soc_start_pct=60.0, soc_end_pct=40.0, soc_change_l=5.0,
                genset_run_h={"dg-1": 2.0}, genset_starts={"dg-1": 1}, plans=24, fallbacks=1,
                fallback_reasons={"x": 1}, statuses={"optimal": 23, "fallback": 1}, solve_s=[0.1, 0.2])
    b = _result(START + timedelta(days=1), 2, load_kwh=250.0, fuel_l=30.0, soc_start_pct=70.0,
                soc_end_pct=55.0, soc_change_l=-2.0, genset_run_h={"dg-1": 1.0, "dg-2": 3.0},
                genset_starts={"dg-2": 2}, plans=48, statuses={"optimal": 48}, solve_s=[0.3])
    m = merge_results([a, b], wall_s=9.0)
    assert (m.start, m.end, m.days) == (START, START + timedelta(days=3), 3.0)
    assert (m.load_kwh, m.fuel_l, m.soc_change_l, m.plans, m.fallbacks) == (350.0, 40.0, 3.0, 72, 1)
    assert (m.soc_start_pct, m.soc_end_pct, m.wall_s) == (60.0, 55.0, 9.0)
    assert m.genset_run_h == {"dg-1": 3.0, "dg-2": 3.0} and m.genset_starts == {"dg-1": 1, "dg-2": 2}
    assert m.statuses == {"optimal": 71, "fallback": 1} and m.solve_s == [0.1, 0.2, 0.3]
    assert a.load_kwh == 100.0 and a.solve_s == [0.1, 0.2]  # inputs untouched


def test_merge_refuses_gaps_and_different_runs():
    a = _result(START, 1)
    with pytest.raises(InputError, match="does not follow"):
        merge_results([a, _result(START + timedelta(days=2), 1)])
    with pytest.raises(InputError, match="differs in strategy"):
        merge_results([a, _result(START + timedelta(days=1), 1, strategy="load-following")])
    with pytest.raises(InputError, match="no chunk results"):
        merge_results([])


def test_spinup_enters_the_counted_period_in_the_strategy_state(site, lf_3d):
    day2 = START + timedelta(days=2)
    alone = backtest(site, TRUTH, start=day2, days=1, strategy="load-following")
    spun = backtest(site, TRUTH, start=day2, days=1, strategy="load-following", spinup_days=2)
    assert spun.start == day2 and spun.end == day2 + timedelta(days=1) and spun.plans == 96
    # the load is exogenous: the same counted day whatever came before
    assert spun.load_kwh == pytest.approx(alone.load_kwh, rel=1e-12)
    assert alone.soc_start_pct == pytest.approx(site.batteries[0].initial_soc_pct)
    # two days of spin-up are exactly the first two days of the 3-day run: the same state and the
    # same third day (rules are deterministic)
    assert spun.soc_start_pct != pytest.approx(alone.soc_start_pct)
    assert spun.soc_end_pct == pytest.approx(lf_3d.soc_end_pct, abs=1e-9)
    first2 = backtest(site, TRUTH, start=START, days=2, strategy="load-following")
    assert spun.fuel_l == pytest.approx(lf_3d.fuel_l - first2.fuel_l, rel=1e-9)
    assert spun.genset_starts_total == lf_3d.genset_starts_total - first2.genset_starts_total


def test_spinup_must_be_whole_replan_intervals(site):
    with pytest.raises(InputError, match="whole number of re-plan intervals"):
        backtest(site, TRUTH, start=START, days=1, strategy="milp", replan_every_min=60, spinup_days=0.01)
    with pytest.raises(InputError, match="spinup_days"):
        backtest(site, TRUTH, start=START, days=1, strategy="load-following", spinup_days=-1)


def test_chunks_in_processes_cover_the_sequential_period(site, lf_3d):
    chunked = backtest_chunks(site, TRUTH, start=START, days=3, chunks=2, jobs=2, spinup_days=1,
                              strategy="load-following")
    assert (chunked.start, chunked.end) == (lf_3d.start, lf_3d.end)
    assert chunked.plans == lf_3d.plans == 3 * 96
    assert chunked.load_kwh == pytest.approx(lf_3d.load_kwh, rel=1e-12)
    assert chunked.pv_available_kwh == pytest.approx(lf_3d.pv_available_kwh, rel=1e-12)
    # the second chunk (days 2-3) starts from a 1-day spin-up, not from day 1's end state; with
    # load following the state converges within the spin-up, so fuel agrees closely
    assert chunked.fuel_l == pytest.approx(lf_3d.fuel_l, rel=0.02)
    assert chunked.balance_error_kwh == pytest.approx(0.0, abs=1e-6)
    assert math.isfinite(chunked.wall_s) and chunked.cpu_s > 0  # CPU time of both chunk processes, summed


def test_one_job_runs_the_chunks_in_this_process(site, lf_3d):
    one = backtest_chunks(site, TRUTH, start=START, days=3, chunks=1, jobs=1, strategy="load-following")
    assert one.fuel_l == pytest.approx(lf_3d.fuel_l, rel=1e-12)
    assert replace(one, wall_s=0.0, cpu_s=0.0).to_dict() == replace(lf_3d, wall_s=0.0, cpu_s=0.0).to_dict()


def test_cli_jobs_runs_chunks_and_matches_the_period(capsys, lf_3d):
    rc = main(["backtest", "--site", SITE_PATH, "--days", "3", "--strategy", "load-following",
               "--start", "2026-03-02", "--jobs", "2", "--json", "--no-progress"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["days"] == 3 and out["plans"] == 3 * 96
    assert out["load_kwh"] == pytest.approx(lf_3d.load_kwh, rel=1e-12)
    assert main(["backtest", "--site", SITE_PATH, "--days", "1", "--jobs", "0", "--no-progress"]) == 2
    assert "--jobs" in capsys.readouterr().err
