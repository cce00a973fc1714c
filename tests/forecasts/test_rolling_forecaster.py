"""RollingForecaster: the real forecasters over a truth frame, from its past only."""


import numpy as np
import pandas as pd
import pytest
from testkit import EXAMPLE_SITE

from forecasts.clearsky import clearsky_pv_kw
from forecasts.load import load_forecast
from forecasts.pv import PvForecastParams
from forecasts.rolling import PV_PREFIX, RollingForecaster
from microgrid.config import load_site

SITE = load_site(EXAMPLE_SITE)
STEP = pd.Timedelta("15min")
PARAMS = PvForecastParams(k_clim=0.8, tau_h=2.0, sigma_k=0.2, sigma0=0.03)


def truth_frame(days: int, k: float) -> pd.DataFrame:
    """PV = k × clear sky (at mid-interval), load a daily cosine."""
    t = pd.date_range("2025-03-03", periods=days * 96, freq=STEP, tz="UTC")
    cs = clearsky_pv_kw(SITE, t + STEP / 2)
    df = pd.DataFrame({"load_kw": 400 + 100 * np.cos(np.arange(len(t)) * 2 * np.pi / 96)}, index=t)
    for a in SITE.pv_arrays:
        df[PV_PREFIX + a.name] = k * cs[a.name].to_numpy()
    return df


def test_midday_issue_starts_at_the_measured_index_and_decays():
    fc = RollingForecaster(SITE, truth_frame(3, 0.5), PARAMS, max_horizon_steps=96)
    issue = 96 + 36  # day 2, 09:00 UTC (near noon in Malakal)
    f = fc.forecast(issue, 8)
    k0, age = fc.k0(issue)
    assert k0 == pytest.approx(0.5) and age == 0.125
    k = 0.8 + (0.5 - 0.8) * np.exp(-(f.lead_h + 0.125) / 2.0)
    np.testing.assert_allclose(f.pv_p50_kw, k[:, None] * fc.cs_kw[issue:issue + 8], rtol=1e-12)
    assert f.times[0] == fc.index[issue] and f.pv_p50_kw.shape == (8, 3)
    assert np.all(f.pv_p10_kw <= f.pv_p50_kw) and np.all(f.pv_p50_kw <= f.pv_p90_kw)
    np.testing.assert_allclose(fc.pv_reference_kw(issue, 8), 0.5 * fc.cs_kw[issue:issue + 8])


def test_issue_by_time_equals_issue_by_row_and_night_issue_uses_the_evening_index():
    fc = RollingForecaster(SITE, truth_frame(3, 0.6), PARAMS, max_horizon_steps=96)
    a = fc.forecast(fc.index[100], 4)
    b = fc.forecast(100, 4)
    np.testing.assert_array_equal(a.pv_p50_kw, b.pv_p50_kw)
    k0, age = fc.k0(96 + 80)  # 20:00 UTC, after sunset: last daytime sample ~4-5 h ago
    assert k0 == pytest.approx(0.6) and 3 < age < 6


def test_future_truth_never_changes_a_forecast():
    a = truth_frame(10, 0.7)
    b = a.copy()
    b.iloc[600:] = 0.0
    fa = RollingForecaster(SITE, a, PARAMS, max_horizon_steps=192).forecast(600, 192)
    fb = RollingForecaster(SITE, b, PARAMS, max_horizon_steps=192).forecast(600, 192)
    for name in ("pv_p10_kw", "pv_p50_kw", "pv_p90_kw", "load_p10_kw", "load_p50_kw", "load_p90_kw"):
        np.testing.assert_array_equal(getattr(fa, name), getattr(fb, name))


def test_rolling_load_equals_the_pure_load_forecast():
    truth = truth_frame(10, 0.7)
    fc = RollingForecaster(SITE, truth, PARAMS, max_horizon_steps=96)
    f = fc.forecast(800, 96)
    pure = load_forecast(truth["load_kw"], truth.index[800], truth.index[800:896])
    np.testing.assert_allclose(f.load_p50_kw, pure.p50_kw, rtol=1e-12)


def test_horizon_past_the_truth_end_and_bad_frames():
    fc = RollingForecaster(SITE, truth_frame(2, 0.7), PARAMS, max_horizon_steps=96)
    f = fc.forecast(191, 96)
    assert len(f.times) == 96 and np.isfinite(f.pv_p50_kw).all()
    with pytest.raises(ValueError, match="horizon 97"):
        fc.forecast(0, 97)
    with pytest.raises(ValueError, match="lacks columns"):
        RollingForecaster(SITE, truth_frame(2, 0.7).drop(columns="load_kw"))


def test_spread_calibration_reaches_the_target_coverage_on_its_data():
    from forecasts.calibrate import _inside, calibrate_pv_spread

    truth = truth_frame(8, 1.0)
    rng = np.random.default_rng(5)
    k = np.clip(0.7 + 0.25 * rng.standard_normal(len(truth)), 0.05, 1.1)
    for a in SITE.pv_arrays:
        truth[PV_PREFIX + a.name] *= k
    fc = RollingForecaster(SITE, truth, PARAMS, max_horizon_steps=96)
    issues = np.arange(0, len(truth) - 96, 4)
    p = calibrate_pv_spread(fc, issues, 96)
    assert (p.k_clim, p.tau_h) == (PARAMS.k_clim, PARAMS.tau_h)
    idx = issues[:, None] + np.arange(96)[None, :]
    cs, tr = fc.cs_kw[idx], fc.pv_truth_kw[idx].sum(axis=2)
    lead = (np.arange(96) + 0.5) * 0.25
    inside = _inside(cs, tr, lead, np.array([fc.k0(int(i)) for i in issues]), p, fc.limit_kw)
    assert abs(inside[cs.sum(axis=2) > 0].mean() - 0.8) < 0.05
