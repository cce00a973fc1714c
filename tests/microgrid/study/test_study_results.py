"""A study's figures, Pareto front, answer and table, on hand-checkable numbers (pure)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest
from testkit import example_camp

from microgrid.study.economics import StudyRow, study_row
from microgrid.study.results import HEADER, Outcome, answer_line, csv_rows, least_cost, pareto_front
from microgrid.study.spec import Sizing
from optimizer.backtest_report import BacktestResult

SITE, _ = example_camp()
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
AS_BUILT = Sizing(600.0, 1000.0, "milp")


def result(fuel_l: float, soc_change_l: float = 0.0, genset_kwh: float = 6000.0, days: float = 2.0) -> BacktestResult:
    return BacktestResult(site="malakal", strategy="milp", forecast="realistic", start=T0,
                          end=T0 + timedelta(days=days), step_min=15, replan_every_min=60, horizon_h=24, seed=7,
                          load_kwh=20000.0, served_kwh=20000.0, genset_kwh=genset_kwh, fuel_l=fuel_l,
                          soc_change_l=soc_change_l)


def test_figures_against_the_camp_as_built():
    base = result(1500.0, 10.0)
    row = study_row(SITE, SITE.costs, SITE.logistics, Sizing(1200.0, 2000.0, "milp"), result(1000.0, 10.0), AS_BUILT,
                    base)
    assert row.fuel_soc_adjusted_l == 1010.0
    assert row.fuel_l_per_year == pytest.approx(1010.0 * 182.5)
    assert row.fuel_cost_usd_per_year == pytest.approx(1010.0 * 182.5 * 1.5)
    assert row.litres_avoided_per_year == pytest.approx(500.0 * 182.5)
    assert row.convoys_avoided_per_year == pytest.approx(500.0 * 182.5 / 30000.0)
    assert row.co2_t_per_year == pytest.approx(1010.0 * 182.5 * 2.68 / 1000)
    assert row.capex_usd == 1200 * 1000 + 2000 * 450
    assert row.added_capex_usd == (1200 - 600) * 1000 + (2000 - 1000) * 450
    assert row.payback_years == pytest.approx(1_050_000 / (500.0 * 182.5 * 1.5))
    # the stored energy used up counts as genset energy: 10 L / 0.25 L/kWh = 40 kWh
    assert row.renewable_fraction_pct == pytest.approx(100 * (1 - 6040.0 / 20000.0))
    assert not row.as_built


def test_no_saving_no_payback_and_no_tanker_no_convoys():
    row = study_row(SITE, SITE.costs, None, Sizing(1200.0, 2000.0, "milp"), result(1600.0), AS_BUILT, result(1500.0))
    assert math.isnan(row.payback_years) and math.isnan(row.convoys_avoided_per_year)
    assert row.litres_avoided_per_year < 0


def row(pv: float, bat: float, capex: float, fuel: float, rf: float) -> StudyRow:
    r = study_row(SITE, SITE.costs, SITE.logistics, Sizing(pv, bat, "milp"), result(1000.0), AS_BUILT, result(1000.0))
    return StudyRow(**{**r.__dict__, "capex_usd": capex, "fuel_l_per_year": fuel, "renewable_fraction_pct": rf})


ROWS = [row(600, 1000, 1.0e6, 900e3, 28.0), row(1200, 1000, 1.6e6, 700e3, 50.0),
        row(600, 4000, 2.4e6, 880e3, 30.0), row(1800, 4000, 3.6e6, 250e3, 81.0),
        row(2400, 4000, 4.2e6, 200e3, 84.0), row(2400, 2000, 3.5e6, 260e3, 80.5)]


def test_pareto_front_drops_dominated_rows():
    front = pareto_front(ROWS)
    assert [(r.sizing.pv_kwp, r.sizing.battery_kwh) for r in front] == [
        (600, 1000), (1200, 1000), (2400, 2000), (1800, 4000), (2400, 4000)]  # 600/4000 is dominated


def test_least_cost_reaching_the_target():
    assert (least_cost(ROWS, 80.0).sizing.pv_kwp, least_cost(ROWS, 80.0).sizing.battery_kwh) == (2400, 2000)
    assert least_cost(ROWS, 83.0).sizing.battery_kwh == 4000 and least_cost(ROWS, 90.0) is None


def test_answer_lines():
    assert answer_line(ROWS, 80.0).startswith(
        "least-cost combination reaching 80 % renewable: PV 2400 kWp, battery 2000 kWh, milp: 80.5 % renewable, "
        "260,000 L of diesel per year")
    assert answer_line(ROWS, 90.0) == ("no combination reaches 90 % renewable; the highest is PV 2400 kWp, "
                                       "battery 4000 kWh, milp at 84.0 %")
    assert answer_line(ROWS[:1], 90.0, failed=2).endswith("(2 combination(s) failed; see failures.csv)")


def test_a_failed_combination_has_its_row_with_empty_figures():
    rows = csv_rows([Outcome(ROWS[0].sizing, ROWS[0]), Outcome(Sizing(1200.0, 2000.0, "milp"), None, "boom")], 80.0)
    assert len(rows[1]) == len(HEADER)
    assert rows[1][:4] == ["1200", "2000", "milp", "failed"] and set(rows[1][4:]) == {""}
    assert rows[0][3] == "ok" and rows[0][-2:] == ["1", "0"]  # alone it is on the front; 28 % misses 80 %
