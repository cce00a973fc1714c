"""generate_conditions: night, clear-sky noon at Malakal, load shape, determinism, a year."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest
from toy_testkit import climate, pv, simulator_settings, toy_site

from microgrid.errors import InputError
from microgrid.plant.conditions import pv_column
from microgrid.simulator.conditions import SyntheticConditions, generate_conditions, generate_weather
from microgrid.simulator.load import load_shape_kw
from microgrid.simulator.stochastic import standard_ar1

CLEAR = climate(clear_sky_index_mean=1.0, cloud_variability=0.0)
QUIET = simulator_settings(load_noise_pct=0.0)
SIM = simulator_settings()
ARRAYS = [pv("pv-1"), pv("pv-carport", kwp=100.0, inverter_kw=90.0, tilt_deg=5.0, losses_pct=16.0)]


def _utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def test_columns_index_and_units():
    site = toy_site(pv_arrays=ARRAYS)
    df = generate_conditions(site, SIM, _utc(2026, 3, 20), 96, 15, seed=1)
    assert list(df.columns) == ["load_kw", "pv_available_kw__pv-1", "pv_available_kw__pv-carport"]
    assert str(df.index.tz) == "UTC" and len(df) == 96
    assert df.index[1] - df.index[0] == pd.Timedelta(minutes=15)
    assert not df.isna().any().any()


def test_pv_zero_at_night():
    site = toy_site(pv_arrays=ARRAYS)
    # Malakal (31.66 °E): 18:00-02:00 UTC is 20:00-04:00 local solar time, all dark.
    df = generate_conditions(site, SIM, _utc(2026, 3, 20, 18), 8 * 4, 15, seed=3)
    assert (df[[pv_column(a.name) for a in ARRAYS]] == 0.0).all().all()


def test_clear_sky_noon_pv_at_malakal():
    site = toy_site(pv_arrays=ARRAYS, climate=CLEAR)
    # solar noon ≈ 12:00 - 31.66/15 h ≈ 09:53 UTC; equinox, sun 10° from zenith
    row = generate_conditions(site, SIM, _utc(2026, 3, 20, 9, 45), 1, 15, seed=1).iloc[0]
    wx = generate_weather(site, _utc(2026, 3, 20, 9, 45), 1, 15, seed=1).iloc[0]
    assert wx["clear_sky_index"] == 1.0
    assert 950.0 < wx["ghi_wm2"] < 1100.0  # Ineichen clear-sky GHI at 390 m
    # 250 kWp x ~1.0 kW/m² x (1 - 0.0037 x ~35 K) x 0.86 losses x ~0.96 inverter ≈ 180 kW
    assert 165.0 < row["pv_available_kw__pv-1"] < 200.0
    assert row["pv_available_kw__pv-1"] <= 220.0
    assert 60.0 < row["pv_available_kw__pv-carport"] < 80.0


def test_pv_clipped_at_inverter_rating():
    site = toy_site(pv_arrays=[pv("big", kwp=400.0, inverter_kw=150.0)], climate=CLEAR)
    df = generate_conditions(site, SIM, _utc(2026, 3, 20), 96, 15, seed=1)
    assert df["pv_available_kw__big"].max() == pytest.approx(150.0)


def test_load_peaks_near_afternoon_at_600_kw():
    site = toy_site(climate=CLEAR)
    # 15:00 local solar at 31.66 °E = 12:53:20 UTC; Wednesday
    peak = load_shape_kw(site, QUIET, pd.DatetimeIndex([pd.Timestamp("2026-03-18 12:53:20", tz="UTC")]))
    assert peak[0] == pytest.approx(600.0, abs=0.05)
    night = load_shape_kw(site, QUIET, pd.DatetimeIndex([pd.Timestamp("2026-03-18 00:53:20", tz="UTC")]))
    assert night[0] == pytest.approx(300.0, abs=1.0)  # 03:00 solar: base load
    df = generate_conditions(site, QUIET, _utc(2026, 3, 18), 1440, 1, seed=1)
    t_max = df["load_kw"].idxmax()
    assert abs((t_max - pd.Timestamp("2026-03-18 12:53:20", tz="UTC")).total_seconds()) < 15 * 60
    assert df["load_kw"].max() == pytest.approx(600.0, abs=0.1)


def test_load_noise_has_the_configured_spread():
    site = toy_site()
    df = generate_conditions(site, simulator_settings(load_noise_pct=3.0), _utc(2026, 1, 1), 96 * 60, 15,
                             seed=5)
    ratio = df["load_kw"] / load_shape_kw(site, SIM, df.index + pd.Timedelta(minutes=7.5))
    assert ratio.mean() == pytest.approx(1.0, abs=0.01)
    assert ratio.std() == pytest.approx(0.03, abs=0.01)


def test_deterministic_per_seed():
    site = toy_site(pv_arrays=ARRAYS)
    a = generate_conditions(site, SIM, _utc(2026, 3, 20), 192, 15, seed=11)
    b = generate_conditions(site, SIM, _utc(2026, 3, 20), 192, 15, seed=11)
    c = generate_conditions(site, SIM, _utc(2026, 3, 20), 192, 15, seed=12)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["load_kw"], c["load_kw"])
    assert not np.allclose(a["pv_available_kw__pv-1"], c["pv_available_kw__pv-1"])


def test_default_seed_is_the_simulators():
    site = toy_site()
    pd.testing.assert_frame_equal(generate_conditions(site, SIM, _utc(2026, 3, 20), 8, 15),
                                  generate_conditions(site, SIM, _utc(2026, 3, 20), 8, 15, seed=7))


def test_synthetic_conditions_are_a_source_of_the_same_frames():
    site = toy_site()
    source = SyntheticConditions(site, SIM, 4)
    assert source.seed == 4 and SyntheticConditions(site, SIM).seed == SIM.seed
    pd.testing.assert_frame_equal(source.frame(_utc(2026, 3, 20), 8, 15),
                                  generate_conditions(site, SIM, _utc(2026, 3, 20), 8, 15, seed=4))


def test_same_instant_same_value_whatever_window_or_resolution():
    site = toy_site()
    two_days = generate_conditions(site, SIM, _utc(2026, 3, 20), 192, 15, seed=4)
    day_two = generate_conditions(site, SIM, _utc(2026, 3, 21), 96, 15, seed=4)
    pd.testing.assert_frame_equal(two_days.iloc[96:], day_two, check_freq=False)
    # a 1-min row labelled t+7 min has its midpoint at t+7.5 min, like the 15-min row t
    minutes = generate_conditions(site, SIM, _utc(2026, 3, 20), 2880, 1, seed=4)
    fine = minutes.iloc[7::15].to_numpy()
    assert np.allclose(fine, two_days.to_numpy(), rtol=0, atol=1e-9)


def test_cloud_process_continuous_across_midnight():
    times = pd.date_range("2026-03-20 23:00", "2026-03-21 01:00", freq="1min", tz="UTC")
    x = standard_ar1(times, 9, 1, 90.0)
    assert np.abs(np.diff(x)).max() < 0.2


def test_clear_sky_index_clipped_with_site_mean():
    site = toy_site()
    wx = generate_weather(site, _utc(2026, 1, 1), 96 * 365, 15, seed=2)
    csi = wx["clear_sky_index"]
    assert csi.min() >= 0.05 and csi.max() <= 1.1
    assert csi.mean() == pytest.approx(0.8, abs=0.03)
    assert csi.std() == pytest.approx(0.15, abs=0.04)


def test_a_year_at_15_min_for_three_arrays():
    site = toy_site(pv_arrays=[*ARRAYS, pv("pv-3")])
    df = generate_conditions(site, SIM, _utc(2026, 1, 1), 35_040, 15, seed=7)
    assert df.shape == (35_040, 4)
    assert not df.isna().any().any()
    yield_kwh_per_kwp = df["pv_available_kw__pv-1"].sum() * 0.25 / 250.0
    assert 1300.0 < yield_kwh_per_kwp < 2000.0  # Sahel, clear-sky index 0.8


def test_naive_start_is_an_input_error():
    with pytest.raises(InputError, match="timezone-aware"):
        generate_conditions(toy_site(), SIM, datetime(2026, 1, 1), 4, 15, seed=1)
