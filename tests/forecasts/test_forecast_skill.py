"""Skill metrics by lead time."""

import math

import numpy as np

from forecasts.skill import format_table, mae, rmse, skill_by_lead, skill_row, skill_score


def test_hand_case_mae_2_vs_4_gives_skill_half():
    truth = np.array([10.0, 10.0, 10.0, 10.0])
    model = np.array([12.0, 8.0, 12.0, 8.0])      # MAE 2
    ref = np.array([14.0, 6.0, 14.0, 6.0])        # MAE 4
    assert mae(model - truth) == 2.0 and mae(ref - truth) == 4.0
    assert skill_score(2.0, 4.0) == 0.5
    row = skill_row("x", truth, model, ref, model - 1, model + 1)
    assert (row.mae_kw, row.mae_reference_kw, row.skill, row.coverage_pct) == (2.0, 4.0, 0.5, 0.0)
    assert row.rmse_kw == 2.0 and rmse(np.array([3.0, 4.0])) == math.sqrt(12.5)


def test_skill_by_lead_buckets_and_coverage():
    lead = np.array([[0.5, 2.0, 4.0, 12.0]])
    truth = np.array([[1.0, 1.0, 1.0, 1.0]])
    p50 = np.array([[2.0, 3.0, 1.0, 1.5]])
    ref = np.array([[3.0, 3.0, 2.0, 1.5]])
    rows = skill_by_lead(lead, truth, p50, ref, p50 - 0.5, p50 + 0.5)
    assert [r.lead for r in rows] == ["0-1 h", "1-3 h", "3-6 h", "6-24 h", "all"]
    assert [r.mae_kw for r in rows] == [1.0, 2.0, 0.0, 0.5, 0.875]
    assert [r.skill for r in rows[:3]] == [0.5, 0.0, 1.0]
    assert math.isnan(rows[3].skill) is False and rows[3].skill == 0.0
    assert rows[4].coverage_pct == 50.0
    assert "6-24 h" in format_table(rows, "ref")


def test_nan_pairs_and_masked_pairs_are_left_out_and_zero_reference_gives_nan():
    lead = np.array([0.5, 0.5, 0.5])
    rows = skill_by_lead(lead, np.array([1.0, np.nan, 1.0]), np.array([1.0, 1.0, 5.0]),
                         np.array([1.0, 1.0, 5.0]), np.zeros(3), np.full(3, 9.0),
                         mask=np.array([True, True, False]))
    assert rows[0].n == 1 and math.isnan(rows[0].skill)
