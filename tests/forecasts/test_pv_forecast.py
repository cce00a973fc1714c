"""Smart-persistence PV forecast: clear-sky index, decay to climatology, quantiles."""

import math

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from testkit import EXAMPLE_SITE

from forecasts.clearsky import clearsky_pv_kw
from forecasts.pv import (
    PvForecastParams,
    clear_sky_index,
    fit_pv_params,
    k_path,
    persistence_kw,
    pv_forecast,
    pv_forecast_by_array,
    pv_quantiles,
)
from microgrid.config import load_site

SITE = load_site(EXAMPLE_SITE)
PARAMS = PvForecastParams(k_clim=0.8, tau_h=2.0, sigma_k=0.2, sigma0=0.03)


def test_clear_sky_index_is_energy_weighted_over_daytime_samples():
    measured = np.array([5.0, 50.0, np.nan, 30.0])
    clear = np.array([1.0, 100.0, 80.0, 100.0])  # first sample below the threshold, third missing
    assert clear_sky_index(measured, clear, threshold_kw=10.0) == 80.0 / 200.0
    assert math.isnan(clear_sky_index(measured, np.zeros(4), threshold_kw=10.0))


def test_k_is_measured_index_at_lead_zero_and_decays_to_climatology():
    mean, sd = k_path(np.array([0.0, 2.0, 4.0, 100.0]), 0.5, PARAMS)
    assert mean[0] == 0.5
    assert mean[1] == 0.8 - 0.3 * math.exp(-1.0)
    assert mean[2] == 0.8 - 0.3 * math.exp(-2.0)
    assert abs(mean[3] - 0.8) < 1e-12
    assert sd[0] == 0.03 and abs(sd[3] - math.hypot(0.03, 0.2)) < 1e-12
    assert np.all(np.diff(sd) > 0)
    # No daytime measurement: climatological index with its stationary spread.
    mean, sd = k_path(np.array([0.0, 5.0]), float("nan"), PARAMS)
    assert list(mean) == [0.8, 0.8] and sd[0] == sd[1] == math.hypot(0.03, 0.2)


def test_measured_half_of_clear_sky_gives_half_now_then_climatology():
    issue = pd.Timestamp("2025-03-21 09:00", tz="UTC")
    past = pd.date_range(issue - pd.Timedelta("55min"), issue - pd.Timedelta("5min"), freq="5min")
    measured = 0.5 * clearsky_pv_kw(SITE, past).sum(axis=1)
    times = pd.date_range(issue, periods=13, freq="30min")
    fc = pv_forecast(SITE, issue, times, measured, k_clim=0.8, params=PARAMS)
    cs = clearsky_pv_kw(SITE, times).sum(axis=1).to_numpy()
    age_h = 5 / 60  # the last measurement is 5 min before the issue
    k = 0.8 + (0.5 - 0.8) * np.exp(-(fc.lead_h + age_h) / 2.0)
    np.testing.assert_allclose(fc.p50_kw, k * cs, rtol=1e-12)
    assert abs(fc.p50_kw[0] / cs[0] - 0.5) < 0.03  # ≈ 0.5 at lead 0
    assert fc.quantity == "pv" and fc.issue_time == issue


def test_measurements_at_or_after_the_issue_are_ignored():
    issue = pd.Timestamp("2025-03-21 09:00", tz="UTC")
    past = pd.date_range(issue - pd.Timedelta("1h"), issue + pd.Timedelta("1h"), freq="15min")
    cs = clearsky_pv_kw(SITE, past).sum(axis=1)
    a = cs * np.where(past < issue, 0.5, 0.5)
    b = cs * np.where(past < issue, 0.5, 1.0)
    times = pd.date_range(issue, periods=4, freq="1h")
    np.testing.assert_array_equal(pv_forecast(SITE, issue, times, a).p50_kw,
                                  pv_forecast(SITE, issue, times, b).p50_kw)


def test_no_measurement_means_climatology_and_per_array_sums_to_total():
    issue = pd.Timestamp("2025-03-21 05:00", tz="UTC")
    times = pd.date_range(issue, periods=8, freq="1h")
    per = pv_forecast_by_array(SITE, issue, times, None, PARAMS)
    total = pv_forecast(SITE, issue, times, None, params=PARAMS)
    cs = clearsky_pv_kw(SITE, times)
    np.testing.assert_allclose(per["pv-carport"].p50_kw, 0.8 * cs["pv-carport"].to_numpy())
    np.testing.assert_allclose(total.p50_kw, sum(f.p50_kw for f in per.values()))


@settings(max_examples=60, deadline=None)
@given(k0=st.one_of(st.floats(0.0, 1.3), st.just(float("nan"))),
       age=st.floats(0.0, 20.0), cs=st.lists(st.floats(0.0, 300.0), min_size=1, max_size=12))
def test_quantiles_are_ordered_and_inside_physical_bounds(k0, age, cs):
    c = np.array(cs)[:, None] * np.ones((1, 2))
    lead = np.arange(len(cs)) * 0.7
    limit = np.array([200.0, 90.0])
    p10, p50, p90 = pv_quantiles(c, lead, k0, PARAMS, limit, age)
    assert np.all(p10 <= p50) and np.all(p50 <= p90)
    assert np.all(p10 >= 0) and np.all(p90 <= np.minimum(c * PARAMS.k_max, limit) + 1e-9)
    ref = persistence_kw(c, k0, PARAMS, limit)
    assert np.all(ref >= 0) and np.all(ref <= limit)


def test_fit_recovers_a_constant_index():
    cs = np.tile(np.r_[np.zeros(8), np.linspace(10, 100, 8), np.linspace(100, 10, 8)], 10)
    p = fit_pv_params(0.6 * cs, cs, 1.0, threshold_kw=5.0)
    assert abs(p.k_clim - 0.6) < 1e-12
    assert 0.02 * 0.6 <= p.sigma_k <= 0.02 * 2.0  # floor 0.02, scaled for 80 % coverage


def test_irradiance_forecast_runs_through_the_modelchain():
    from forecasts.clearsky import clearsky_weather, pv_from_weather
    from forecasts.pv import pv_forecast_from_weather

    issue = pd.Timestamp("2025-03-21 06:00", tz="UTC")
    times = pd.date_range(issue, periods=8, freq="1h")
    weather = clearsky_weather(times, SITE.location) * 0.6
    fc = pv_forecast_from_weather(SITE, issue, weather, PARAMS)
    np.testing.assert_allclose(fc.p50_kw, pv_from_weather(SITE, weather).sum(axis=1))
    assert np.all(fc.p10_kw <= fc.p50_kw) and np.all(fc.p50_kw <= fc.p90_kw)
    assert fc.p90_kw[-1] - fc.p10_kw[-1] > fc.p90_kw[0] - fc.p10_kw[0]  # wider with lead
