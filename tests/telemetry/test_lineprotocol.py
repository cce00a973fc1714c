"""Line protocol: exact bytes for hand-made readings, escaping, missing values, round trips
(pure), and the escaping as a real InfluxDB reads it back (integration)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from microgrid.readings import Reading
from telemetry.historian.lineprotocol import (
    LineEncoder,
    LineProtocolError,
    encode_readings,
    parse_line,
    parse_lines,
    time_to_ns,
)

T = datetime(2026, 1, 5, 6, 30, 0, 123456, tzinfo=timezone.utc)
T_NS = 1767594600123456000  # 2026-01-05T06:30:00.123456Z


def test_one_reading_exact_bytes():
    r = Reading(T, "genset", {"site": "malakal", "device": "dg-1"},
                {"power_kw": 312.5, "running": 1, "starts": 17, "fuel_rate_lph": float("nan")})
    assert encode_readings([r]) == (b"genset,device=dg-1,site=malakal "
                                    b"power_kw=312.5,running=1.0,starts=17.0 1767594600123456000\n")


def test_timestamps_in_ns_from_datetime_and_pandas():
    assert time_to_ns(T) == T_NS
    assert time_to_ns(pd.Timestamp("2026-01-05T06:30:00.123456789Z")) == T_NS + 789
    assert time_to_ns(datetime(1970, 1, 1, tzinfo=timezone.utc) - timedelta(microseconds=1)) == -1000


def test_escaping_of_names():
    r = Reading(T, "camp totals", {"site": "Malakal, UNMISS", "device": "dg=1 a"},
                {"power kw": 1.0, "a,b=c": 2.0})
    assert encode_readings([r]).decode() == (
        r"camp\ totals,device=dg\=1\ a,site=Malakal\,\ UNMISS power\ kw=1.0,a\,b\=c=2.0 "
        f"{T_NS}\n")


def test_missing_values_are_dropped_never_zero():
    rs = [Reading(T, "battery", {"site": "s", "device": "b"},
                  {"soc_pct": None, "temp_c": float("inf"), "power_kw": -0.0, "soh_pct": float("nan")}),
          Reading(T, "battery", {"site": "s", "device": "b", "kind": ""}, {"soc_pct": float("nan")})]
    assert encode_readings(rs) == f"battery,device=b,site=s power_kw=-0.0 {T_NS}\n".encode()


@pytest.mark.parametrize("measurement, tags", [("m", {"site": "a\nb"}), ("m", {"site": "a\\b"}),
                                               ("m", {"": "x"}), ("#m", {"site": "s"})])
def test_names_line_protocol_cannot_carry_are_refused(measurement, tags):
    with pytest.raises(LineProtocolError):
        encode_readings([Reading(T, measurement, tags, {"x": 1.0})])


def test_batches_split_at_the_point_count():
    rs = [Reading(T + timedelta(seconds=i), "load_meter", {"site": "s"}, {"power_kw": float(i)})
          for i in range(7)]
    batches = list(LineEncoder().batches(rs, batch_points=3))
    assert [n for _, n in batches] == [3, 3, 1]
    assert b"".join(p for p, _ in batches) == encode_readings(rs)
    assert batches[2][0] == f"load_meter,site=s power_kw=6.0 {T_NS + 6 * 10**9}\n".encode()


def test_parse_accepts_influx_value_forms():
    assert parse_line("m,b=2,a=1 i=3i,u=4u,t=t,f=false,x=1e-3 5") == (
        "m", (("a", "1"), ("b", "2")), {"i": 3.0, "u": 4.0, "t": 1.0, "f": 0.0, "x": 0.001}, 5)
    with pytest.raises(LineProtocolError, match="string fields"):
        parse_line('m s="x" 1')
    with pytest.raises(LineProtocolError):
        parse_line("m x=1")


name = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\\\n\r"),
               min_size=1, max_size=12)
value = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(measurement=name.filter(lambda s: not s.startswith("#")), tags=st.dictionaries(name, name, max_size=3),
       fields=st.dictionaries(name, value, min_size=1, max_size=4),
       us=st.integers(-10**15, 10**16))
def test_round_trip(measurement, tags, fields, us):
    t = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=us)
    payload = encode_readings([Reading(t, measurement, tags, fields)])
    [(m, tg, f, ns)] = list(parse_lines(payload))
    assert (m, tg, f, ns) == (measurement, tuple(sorted(tags.items())), fields, us * 1000)


@pytest.mark.integration
def test_influxdb_reads_escaped_names_back(influx_database):
    url, db = influx_database
    r = Reading(T, "camp totals", {"site": "Malakal, UNMISS", "device": "dg=1 a"},
                {"power kw": 1.5, "a,b=c": 2.0})
    resp = requests.post(f"{url}/write", params={"db": db, "precision": "ns"},
                         data=encode_readings([r]), timeout=10)
    assert resp.status_code == 204, resp.text
    q = 'SELECT * FROM "camp totals"'
    series = requests.get(f"{url}/query", params={"db": db, "q": q, "epoch": "ns"},
                          timeout=10).json()["results"][0]["series"][0]
    row = dict(zip(series["columns"], series["values"][0]))
    assert row == {"time": T_NS, "a,b=c": 2.0, "device": "dg=1 a", "power kw": 1.5,
                   "site": "Malakal, UNMISS"}
