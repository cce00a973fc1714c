"""Weather files for studies, read with pvlib.iotools: a TMY3 file shipped with pvlib and the same
year written as a PVGIS TMY JSON give the same typical year, and the PV follows the file."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from testkit import example_camp

from forecasts.tmy import pvlib_data_path, read_tmy
from microgrid.errors import InputError
from microgrid.plant.conditions import pv_column
from microgrid.study.conditions import CampConditions
from microgrid.study.weather_file import read_weather_file, weather_at

TMY = read_tmy("greensboro")
SITE0, SIM = example_camp()
#: the example camp moved to the TMY station, so the file's clouds are the site's
SITE = dataclasses.replace(SITE0, location=dataclasses.replace(
    SITE0.location, latitude=TMY.location.latitude, longitude=TMY.location.longitude,
    altitude_m=TMY.location.altitude_m))
TMY3_FILE = pvlib_data_path("723170TYA.CSV")


@pytest.fixture(scope="module")
def year() -> pd.DataFrame:
    return read_weather_file(TMY3_FILE, SITE)


def test_a_typical_year_of_clear_sky_index_and_temperature(year):
    assert len(year) == 8760 and list(year.columns) == ["clear_sky_index", "temp_air"]
    assert year["clear_sky_index"].between(0.0, 1.1).all()
    w = TMY.weather
    hour_of_year = ((w.index.dayofyear - 1) * 24 + w.index.hour) % 8760  # the file's UTC hours, wrapped
    expected = w["temp_air"].groupby(hour_of_year).mean().sort_index()
    assert year["temp_air"].to_numpy() == pytest.approx(expected.to_numpy())


def test_the_sky_follows_the_file(year):
    times = pd.date_range("2026-01-01", periods=365 * 24 * 4, freq="15min", tz="UTC")
    ghi = weather_at(SITE, year, times + pd.Timedelta(minutes=7.5))["ghi_wm2"]
    ours_daily = ghi.groupby(times.floor("1D").dayofyear).sum() / 4 / 1000  # kWh/m² per day
    file = TMY.weather["ghi"]
    file_daily = file.groupby(file.index.dayofyear).sum().to_numpy()[:365] / 1000
    assert ours_daily.sum() == pytest.approx(file_daily.sum(), rel=0.03)
    assert np.corrcoef(ours_daily.to_numpy(), file_daily)[0, 1] > 0.95


def test_a_pvgis_json_of_the_same_year_reads_the_same(tmp_path, year):
    w = TMY.weather
    hourly = [{"time(UTC)": t.strftime("%Y%m%d:%H%M"), "T2m": row.temp_air, "G(h)": row.ghi, "Gb(n)": row.dni,
               "Gd(h)": row.dhi, "WS10m": row.wind_speed} for t, row in w.iterrows()]
    doc = {"inputs": {"location": {"latitude": TMY.location.latitude}}, "meta": {"inputs": {}},
           "outputs": {"months_selected": [], "tmy_hourly": hourly}}
    path = tmp_path / "tmy_pvgis.json"
    path.write_text(json.dumps(doc))
    pd.testing.assert_frame_equal(read_weather_file(path, SITE), year)


def test_29_february_repeats_the_28th(year):
    t = pd.DatetimeIndex(["2028-02-28T12:00Z", "2028-02-29T12:00Z", "2028-03-01T12:00Z", "2027-03-01T12:00Z"])
    csi = weather_at(SITE, year, t)["clear_sky_index"].to_numpy()
    assert csi[0] == csi[1] and csi[2] == csi[3]


def test_pv_of_a_study_comes_from_the_file(year):
    from datetime import datetime, timezone
    start = datetime(2026, 6, 1, tzinfo=timezone.utc)
    synthetic = CampConditions(SITE, SIM).frame(start, 96 * 7, 15)
    filed = CampConditions(SITE, SIM, weather=year, weather_name="tmy").frame(start, 96 * 7, 15)
    pv = pv_column(SITE.pv_arrays[0].name)
    assert (filed["load_kw"] == synthetic["load_kw"]).all()
    assert not np.allclose(filed[pv], synthetic[pv])
    assert filed[pv].max() <= SITE.pv_arrays[0].inverter_kw and filed[pv].sum() > 0
    assert CampConditions(SITE, SIM, weather=year).fingerprint()["weather"] != CampConditions(SITE, SIM).fingerprint()[
        "weather"]


@pytest.mark.parametrize("name,words", [("weather.txt", "unknown weather file type '.txt'"),
                                        ("missing.csv", "weather file not found")])
def test_bad_weather_files_name_the_file(tmp_path, name, words):
    path = tmp_path / name
    if name != "missing.csv":
        path.write_text("x")
    with pytest.raises(InputError, match=words) as err:
        read_weather_file(path, SITE)
    assert str(path) in str(err.value)


def test_a_garbled_csv_names_the_file(tmp_path):
    path = tmp_path / "garbled.csv"
    path.write_text("1,2,3\nnot,a,tmy\n")
    with pytest.raises(InputError, match="cannot read it as a tmy3 weather file") as err:
        read_weather_file(path, SITE)
    assert str(err.value).startswith(str(path))
