"""Load forecast: time-of-week profile, recent-level correction, residual quantiles."""

import math

import numpy as np
import pandas as pd
import pytest

from forecasts.load import LoadCore, LoadForecastParams, load_forecast

STEP = pd.Timedelta("15min")


def weekly_pattern(times: pd.DatetimeIndex) -> np.ndarray:
    """A camp-like load with a weekly shape: daily cosine, Friday lower, Sunday higher. [kW]"""
    h = np.asarray(times.hour + times.minute / 60, dtype=float)
    day = np.asarray(times.day_of_week)
    kw = (400 + 150 * np.cos(2 * np.pi * (h - 13) / 24) - 60 * (day == 4) + 35 * (day == 6)
          + 0.5 * day * h)
    return np.round(kw * 8) / 8  # multiples of 1/8 kW: means of equal values are exact


def history(days: int, start="2025-03-03") -> pd.Series:
    t = pd.date_range(start, periods=days * 96, freq=STEP, tz="UTC")
    return pd.Series(weekly_pattern(t), index=t)


def test_profile_recovers_a_weekly_pattern_exactly():
    h = history(21)
    issue = h.index[-1] + STEP
    times = pd.date_range(issue, periods=7 * 96, freq=STEP)
    fc = load_forecast(h, issue, times)
    np.testing.assert_array_equal(fc.p50_kw, weekly_pattern(times))
    np.testing.assert_array_equal(fc.p10_kw, fc.p50_kw)  # no noise, no spread
    np.testing.assert_array_equal(fc.p90_kw, fc.p50_kw)


def test_recent_level_correction_shifts_and_decays():
    h = history(21)
    h.iloc[-8:] += 40.0  # the last 2 h ran 40 kW above the profile
    issue = h.index[-1] + STEP
    times = pd.date_range(issue, periods=48, freq=STEP)
    fc = load_forecast(h, issue, times, LoadForecastParams(level_window_h=2.0, tau_h=3.0))
    lead_h = (np.arange(48) + 0.5) * 0.25
    np.testing.assert_allclose(fc.p50_kw - weekly_pattern(times), 40.0 * np.exp(-lead_h / 3.0),
                               rtol=0, atol=1e-9)
    assert fc.p50_kw[0] - weekly_pattern(times)[0] == pytest.approx(40 * math.exp(-0.125 / 3))


def test_short_history_falls_back_to_the_daily_profile():
    t = pd.date_range("2025-03-03", periods=3 * 96, freq=STEP, tz="UTC")
    daily = 300 + 100 * np.sin(np.arange(len(t)) * 2 * np.pi / 96)
    h = pd.Series(daily, index=t)
    issue = t[-1] + STEP
    times = pd.date_range(issue, periods=96, freq=STEP)
    np.testing.assert_allclose(load_forecast(h, issue, times).p50_kw, daily[:96], atol=1e-9)


def test_gaps_are_skipped_and_quantiles_come_from_residuals():
    rng = np.random.default_rng(3)
    h = history(28)
    h = h + rng.normal(0, 10, len(h))
    h.iloc[500:540] = np.nan
    h = h.drop(h.index[1000:1010])
    issue = h.index[-1] + STEP
    times = pd.date_range(issue, periods=96, freq=STEP)
    fc = load_forecast(h, issue, times)
    assert np.all(fc.p10_kw <= fc.p50_kw) and np.all(fc.p50_kw <= fc.p90_kw)
    width = np.median(fc.p90_kw - fc.p10_kw)
    assert 20 < width < 35  # ≈ 2·1.28·10·sqrt(1 + 1/4) for noise of 10 kW over 4 weeks
    assert np.all(np.abs(fc.p50_kw - weekly_pattern(times)) < 25)


def test_values_after_the_issue_are_never_used():
    v = weekly_pattern(pd.date_range("2025-03-03", periods=21 * 96, freq=STEP, tz="UTC"))
    core_a = LoadCore(v.copy(), 0.25, LoadForecastParams())
    w = v.copy()
    w[1500:] = 0.0
    core_b = LoadCore(w, 0.25, LoadForecastParams())
    pos = np.arange(1500, 1500 + 192)
    for a, b in zip(core_a.forecast(1500, pos), core_b.forecast(1500, pos)):
        np.testing.assert_array_equal(a, b)


def test_persistence_reference_is_the_same_time_on_the_latest_known_day():
    v = np.arange(10 * 96, dtype=float)
    core = LoadCore(v, 0.25, LoadForecastParams())
    ref = core.persistence(500, np.array([500, 595, 596, 700]))
    assert list(ref) == [404, 499, 404, 412]  # 604 and 508 are not yet known at 500
