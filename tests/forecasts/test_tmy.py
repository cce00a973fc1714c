"""TMY3 files shipped with pvlib, read offline."""

import socket

import pandas as pd
import pytest

from forecasts.tmy import read_tmy
from microgrid.errors import InputError


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_greensboro_tmy_reads_offline_on_a_regular_utc_grid(no_network):
    tmy = read_tmy("greensboro")
    w = tmy.weather
    assert "GREENSBORO" in tmy.name
    loc = tmy.location
    assert (loc.latitude, loc.longitude, loc.altitude_m) == (36.1, -79.95, 273.0)
    assert len(w) == 8760 and str(w.index.tz) == "UTC"
    assert (w.index[1:] - w.index[:-1] == pd.Timedelta("1h")).all()
    # hour ending 01:00 local standard time (UTC−5) starts at 05:00 UTC
    assert w.index[0] == pd.Timestamp("2021-01-01 05:00", tz="UTC")
    assert list(w.columns) == ["ghi", "dni", "dhi", "temp_air", "wind_speed"]
    assert 900 < w["ghi"].max() < 1200 and w["ghi"].min() == 0
    # Sun up at midday local (17:00 UTC), down at midnight local (05:00 UTC)
    assert w["ghi"][w.index.hour == 17].mean() > 300
    assert w["ghi"][w.index.hour == 5].max() == 0


def test_sand_point_by_file_name_and_unknown_file_is_an_input_error(no_network):
    assert read_tmy("703165TY.csv").location.latitude == 55.317
    with pytest.raises(InputError, match="no TMY3 file 'nowhere'"):
        read_tmy("nowhere")
