"""Clear-sky PV per array (pvlib PVWatts ModelChain, Ineichen + Linke climatology)."""


import numpy as np
import pandas as pd
import pytest
from testkit import EXAMPLE_SITE

from forecasts.clearsky import clearsky_pv_kw, pv_from_weather
from microgrid.config import load_site

SITE = load_site(EXAMPLE_SITE)


def test_zero_at_night_and_plausible_at_noon_for_malakal():
    # Malakal 9.53 N 31.66 E: solar noon on 21 March ≈ 12:00 − 31.66/15 h + 7 min ≈ 10:00 UTC.
    times = pd.DatetimeIndex(["2025-03-21 10:00", "2025-03-21 22:00", "2025-03-21 02:00"], tz="UTC")
    cs = clearsky_pv_kw(SITE, times)
    assert list(cs.columns) == ["pv-north", "pv-south", "pv-carport"]
    assert (cs.iloc[1:] == 0).all().all()
    # By hand: sun 9° from zenith, tilt 10° south → AOI ≈ 1°, clear-sky POA ≈ DNI 864 + diffuse
    # ≈ 1000–1040 W/m². SAPM open rack, 30 °C air, 1 m/s: T_cell ≈ 0.0264·E + 33 ≈ 60 °C →
    # temperature factor 1 − 0.0037·35 ≈ 0.87. DC = 250 kW · E/1000 · 0.87 · (1 − 0.14)
    # ≈ 187–195 kW; PVWatts inverter at ~83 % load ≈ 0.961 → AC ≈ 180–187 kW. ±3 % for the
    # transposition model: 175–192 kW. Carport (100 kWp, 16 % losses): ≈ 72 kW → 69–76 kW.
    assert 175 <= cs.loc[times[0], "pv-north"] <= 192
    assert cs.loc[times[0], "pv-north"] == cs.loc[times[0], "pv-south"]
    assert 69 <= cs.loc[times[0], "pv-carport"] <= 76


def test_never_above_inverter_rating_and_never_negative_over_a_year():
    times = pd.date_range("2025-01-01", periods=365 * 24, freq="1h", tz="UTC")
    cs = clearsky_pv_kw(SITE, times)
    for a in SITE.pv_arrays:
        assert cs[a.name].min() == 0.0
        assert cs[a.name].max() <= a.inverter_kw


def test_weather_driven_pv_scales_with_irradiance_and_clips_at_the_inverter():
    t = pd.DatetimeIndex(["2025-03-21 10:00"] * 3, tz="UTC")
    w = pd.DataFrame({"ghi": [0.0, 500.0, 3000.0], "dni": [0.0, 400.0, 2500.0],
                      "dhi": [0.0, 100.0, 500.0]}, index=t)
    pv = pv_from_weather(SITE, w)
    assert (pv.iloc[0] == 0).all()
    assert 60 < pv["pv-north"].iloc[1] < 120
    assert pv["pv-north"].iloc[2] == pytest.approx(220.0)  # clipped at inverter_kw


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        clearsky_pv_kw(SITE, pd.date_range("2025-01-01", periods=3, freq="1h"))
    assert np.isfinite(clearsky_pv_kw(SITE, pd.date_range("2025-01-01", periods=3, freq="1h",
                                                          tz="UTC")).to_numpy()).all()
