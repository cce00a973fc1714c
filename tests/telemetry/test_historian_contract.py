"""One contract, every backend: SQLite, a real InfluxDB 1.x, and each behind the spool.

The data set is small enough to check by hand (values are multiples of 0.5, so sums and means
are exact in binary and both backends must agree to the last bit):

site malakal, 2026-01-05 from 00:00 UTC (T0), measurement genset::

    minute        0     5     10    15    20    40
    dg-1 power   100   110   120   130   140   200
    dg-1 fuel     30     -    34    36     -    50     (- : field absent)
    dg-1 load      -     -     -     -     -    50
    dg-2 power    50    60     -    70
    dg-2 fuel     15    16     -    18
    site juba, dg-1 power 999 at minute 0
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from microgrid.errors import HistorianError
from microgrid.readings import Reading
from telemetry.historian import InfluxV1Historian, Spool, SpooledHistorian, SQLiteHistorian, open_historian

T0 = datetime(2026, 1, 5, tzinfo=timezone.utc)
END = T0 + timedelta(hours=1)
NaN = float("nan")


def at(minute: float) -> datetime:
    return T0 + timedelta(minutes=minute)


def g(device: str, minute: float, site: str = "malakal", **fields) -> Reading:
    return Reading(at(minute), "genset", {"site": site, "device": device}, fields)


DATA = [
    g("dg-1", 0, power_kw=100.0, fuel_rate_lph=30.0), g("dg-2", 0, power_kw=50.0, fuel_rate_lph=15.0),
    g("dg-1", 5, power_kw=110.0, fuel_rate_lph=NaN), g("dg-2", 5, power_kw=60.0, fuel_rate_lph=16.0),
    g("dg-1", 10, power_kw=120.0, fuel_rate_lph=34.0),
    g("dg-1", 15, power_kw=130.0, fuel_rate_lph=36.0), g("dg-2", 15, power_kw=70.0, fuel_rate_lph=18.0),
    g("dg-1", 20, power_kw=140.0),
    g("dg-1", 40, power_kw=200.0, fuel_rate_lph=50.0, load_pct=50.0),
    g("dg-1", 0, site="juba", power_kw=999.0),
]
MALAKAL = {"site": "malakal"}
DG1 = {"site": "malakal", "device": "dg-1"}


def _sqlite(tmp_path, request):
    return SQLiteHistorian(tmp_path / "h.db")


def _sqlite_packed(tmp_path, request):
    """Packed into 5-min chunks on every write, the newest window left as rows: queries read
    both halves of the layout, and later writes land as rows over packed windows."""
    return SQLiteHistorian(tmp_path / "h.db", window_s=300, compact_lag_s=0, compact_every_s=0)


def _influx(tmp_path, request):
    url, db = request.getfixturevalue("influx_database")
    return InfluxV1Historian(url, db)


def _tiered_sqlite(tmp_path, request):
    """Raw readings, 1-min and 15-min roll-ups in one file: aggregated queries over closed
    buckets are answered by the roll-ups, the rest by the raw readings."""
    return open_historian(f"sqlite:///{tmp_path / 't.db'}", tiered=True)


def _tiered_influx(tmp_path, request):
    """The same on InfluxDB: retention policies raw, rollup_1m, rollup_15m (the raw policy's
    duration counts from the wall clock, so it is long here: the data is from January)."""
    url, db = request.getfixturevalue("influx_database")
    return open_historian(f"influx1://{url.removeprefix('http://')}/{db}?raw_days=3650")


def _spooled(make):
    def f(tmp_path, request):
        return SpooledHistorian(make(tmp_path, request), Spool(tmp_path / "spool.db"),
                                batch_points=3)
    return f


BACKENDS = {
    "sqlite": _sqlite,
    "sqlite-packed": _sqlite_packed,
    "influx": _influx,
    "tiered+sqlite": _tiered_sqlite,
    "tiered+influx": _tiered_influx,
    "spool+sqlite": _spooled(_sqlite),
    "spool+influx": _spooled(_influx),
}


def _write(h, readings) -> None:
    h.write(readings)
    if isinstance(h, SpooledHistorian):
        assert h.flush(timeout_s=10)


@pytest.fixture(params=[pytest.param(k, marks=[pytest.mark.integration] if "influx" in k else [])
                        for k in BACKENDS])
def historian(request, tmp_path):
    h = BACKENDS[request.param](tmp_path, request)
    _write(h, DATA)
    yield h
    h.close()


def frame(times_min, columns: dict, tags: dict | None = None) -> pd.DataFrame:
    """Expected result: index at minutes after T0, tag columns, then float field columns."""
    idx = pd.DatetimeIndex([pd.Timestamp(at(m)) for m in times_min], name="time").as_unit("ns")
    data = {k: pd.array(v, dtype=object) for k, v in (tags or {}).items()}
    data.update({k: np.asarray(v, dtype="float64") for k, v in columns.items()})
    return pd.DataFrame(data, index=idx)


def check(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


# -- raw -----------------------------------------------------------------------------------------

def test_raw_points_of_one_device(historian):
    got = historian.query("genset", ["power_kw", "fuel_rate_lph"], T0, END, tags=DG1)
    check(got, frame([0, 5, 10, 15, 20, 40], {
        "power_kw": [100, 110, 120, 130, 140, 200],
        "fuel_rate_lph": [30, NaN, 34, 36, NaN, 50]}))


def test_missing_field_stays_missing_and_rows_need_a_value(historian):
    got = historian.query("genset", ["load_pct"], T0, END, tags=DG1)
    check(got, frame([40], {"load_pct": [50]}))
    got = historian.query("genset", ["fuel_rate_lph", "never_written_kw"], T0, END, tags=DG1)
    check(got, frame([0, 10, 15, 40], {"fuel_rate_lph": [30, 34, 36, 50],
                                       "never_written_kw": [NaN] * 4}))


def test_raw_grouped_by_device(historian):
    got = historian.query("genset", "fuel_rate_lph", T0, at(10), tags=MALAKAL,
                          group_by_tags=["device"])
    check(got, frame([0, 0, 5], {"fuel_rate_lph": [30, 15, 16]},
                     {"device": ["dg-1", "dg-2", "dg-2"]}))


# -- aggregation per 15 min ----------------------------------------------------------------------

def test_mean_per_15_min_by_device(historian):
    got = historian.query("genset", ["power_kw", "fuel_rate_lph"], T0, END, tags=MALAKAL,
                          agg="mean", interval="15m", group_by_tags=("device",))
    check(got, frame([0, 0, 15, 15, 30], {
        "power_kw": [110, 55, 135, 70, 200],
        "fuel_rate_lph": [32, 15.5, 36, 18, 50]}, {"device": ["dg-1", "dg-2"] * 2 + ["dg-1"]}))


def test_sum_and_mean_across_devices_per_15_min(historian):
    got = historian.query("genset", ["power_kw"], T0, END, tags=MALAKAL, agg="sum", interval="15m")
    check(got, frame([0, 15, 30], {"power_kw": [440, 340, 200]}))
    got = historian.query("genset", ["power_kw"], T0, END, tags=MALAKAL, agg="mean", interval="15m")
    check(got, frame([0, 15, 30], {"power_kw": [88, 340 / 3, 200]}))


@pytest.mark.parametrize("agg, power, fuel", [
    ("count", [3, 2, 1], [2, 1, 1]),
    ("last", [120, 140, 200], [34, 36, 50]),
    ("max", [120, 140, 200], [34, 36, 50]),
    ("min", [100, 130, 200], [30, 36, 50]),
])
def test_selectors_and_count_per_15_min(historian, agg, power, fuel):
    got = historian.query("genset", ["power_kw", "fuel_rate_lph"], T0, END, tags=DG1, agg=agg,
                          interval="15m")
    check(got, frame([0, 15, 30], {"power_kw": power, "fuel_rate_lph": fuel}))


def test_empty_buckets_are_absent_and_partial_buckets_keep_nan(historian):
    got = historian.query("genset", ["load_pct"], T0, END, tags=DG1, agg="mean", interval="15m")
    check(got, frame([30], {"load_pct": [50]}))
    got = historian.query("genset", ["power_kw", "load_pct"], T0, END, tags=DG1, agg="count",
                          interval="15m")
    check(got, frame([0, 15, 30], {"power_kw": [3, 2, 1], "load_pct": [NaN, NaN, 1]}))


def test_buckets_align_to_the_epoch_not_to_start(historian):
    got = historian.query("genset", ["power_kw"], at(5), END, tags=DG1, agg="sum", interval="15m")
    check(got, frame([0, 15, 30], {"power_kw": [230, 270, 200]}))  # first bucket starts at T0
    got = historian.query("genset", ["power_kw"], T0, END, tags=DG1, agg="max", interval="1h")
    check(got, frame([0], {"power_kw": [200]}))


def test_aggregate_without_interval_is_one_row_at_start(historian):
    got = historian.query("genset", ["power_kw", "fuel_rate_lph"], at(1), END, tags=DG1, agg="last")
    check(got, frame([1], {"power_kw": [200], "fuel_rate_lph": [50]}))
    got = historian.query("genset", ["power_kw"], at(1), END, tags=DG1, agg="last")
    check(got, frame([1], {"power_kw": [200]}))


# -- filters, boundaries, time zones --------------------------------------------------------------

def test_tag_filters(historian):
    got = historian.query("genset", ["power_kw"], T0, END, tags={"site": "juba"})
    check(got, frame([0], {"power_kw": [999]}))
    got = historian.query("genset", ["power_kw"], T0, END, agg="sum", interval="15m",
                          tags={"device": "dg-1"}, group_by_tags=["site"])
    check(got, frame([0, 0, 15, 30], {"power_kw": [999, 330, 270, 200]},
                     {"site": ["juba", "malakal", "malakal", "malakal"]}))
    assert len(historian.query("genset", ["power_kw"], T0, END, tags={"site": "nowhere"})) == 0


def test_start_inclusive_end_exclusive(historian):
    got = historian.query("genset", ["power_kw"], at(5), at(15), tags=DG1)
    check(got, frame([5, 10], {"power_kw": [110, 120]}))


def test_times_are_utc_whatever_the_query_zone(historian):
    east = timezone(timedelta(hours=3))  # South Sudan is UTC+2, Nairobi +3: any zone works
    got = historian.query("genset", ["power_kw"], at(5).astimezone(east), at(15).astimezone(east),
                          tags=DG1)
    check(got, frame([5, 10], {"power_kw": [110, 120]}))
    assert str(got.index.tz) == "UTC"


def test_empty_result_has_the_columns(historian):
    got = historian.query("genset", ["power_kw"], T0 - timedelta(days=1), T0, tags=DG1,
                          agg="mean", interval="15m", group_by_tags=["device"])
    assert list(got.columns) == ["device", "power_kw"] and len(got) == 0
    assert str(got.index.tz) == "UTC" and got.index.name == "time"
    assert len(historian.query("nothing", ["x_kw"], T0, END)) == 0


def test_group_by_an_absent_tag_gives_empty_string(historian):
    got = historian.query("genset", ["power_kw"], T0, at(1), tags=DG1, group_by_tags=["kind"])
    check(got, frame([0], {"power_kw": [100]}, {"kind": [""]}))


# -- overwrite / replay --------------------------------------------------------------------------

def test_same_series_and_time_overwrites_fields_it_carries(historian):
    _write(historian, [g("dg-1", 5, power_kw=111.0), g("dg-1", 10, fuel_rate_lph=35.0)])
    _write(historian, DATA[:3])  # replaying a batch again changes nothing
    _write(historian, [g("dg-1", 5, power_kw=111.0), g("dg-1", 10, fuel_rate_lph=35.0)])
    got = historian.query("genset", ["power_kw", "fuel_rate_lph"], T0, at(15), tags=DG1)
    check(got, frame([0, 5, 10], {"power_kw": [100, 111, 120], "fuel_rate_lph": [30, NaN, 35]}))


def test_invalid_queries_are_typed_errors(historian):
    with pytest.raises(HistorianError, match="agg 'median'"):
        historian.query("genset", ["power_kw"], T0, END, agg="median")
    with pytest.raises(HistorianError, match="interval '15 minutes'"):
        historian.query("genset", ["power_kw"], T0, END, agg="mean", interval="15 minutes")
    with pytest.raises(HistorianError, match="not after start"):
        historian.query("genset", ["power_kw"], END, T0)


# -- SQLite and InfluxDB give identical frames for every combination ---------------------------

@pytest.mark.integration
def test_sqlite_and_influx_agree_on_every_combination(tmp_path, influx_database):
    url, db = influx_database
    with SQLiteHistorian(tmp_path / "h.db") as lite, InfluxV1Historian(url, db) as influx:
        for h in (lite, influx):
            h.write(DATA)
        combos = itertools.product([None, "mean", "sum", "last", "max", "min", "count"],
                                   [None, "5m", "15m"], [(), ("device",), ("site", "device")],
                                   [{}, DG1], [(T0, END), (at(5), at(40))])
        n = 0
        for agg, interval, group, tags, (start, end) in combos:
            if interval and not agg:
                continue
            kw = dict(tags=tags, agg=agg, interval=interval, group_by_tags=group)
            fields = ["power_kw", "fuel_rate_lph", "load_pct"]
            a = lite.query("genset", fields, start, end, **kw)
            b = influx.query("genset", fields, start, end, **kw)
            if agg is None and not group:  # ties between series: no defined order (InfluxQL)
                a, b = (x.reset_index().sort_values(["time", *fields]).set_index("time")
                        for x in (a, b))
            pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12, obj=str(kw))
            n += 1
        assert n == 2 * 2 * 3 * (1 + 6 * 3)


# -- factory --------------------------------------------------------------------------------------

def test_factory_opens_sqlite_relative_and_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with open_historian("sqlite:///data/h.db?retention_days=400") as h:
        assert isinstance(h, SQLiteHistorian) and h.retention_days == 400
    assert (tmp_path / "data" / "h.db").exists()
    with open_historian(f"sqlite:///{tmp_path}/abs.db?spool_max_mb=2&spool_max_points=9",
                        spool=tmp_path / "s.db") as h:
        assert isinstance(h, SpooledHistorian) and isinstance(h.inner, SQLiteHistorian)
        assert (h.spool.max_bytes, h.spool.max_points) == (2 * 2**20, 9)
    assert (tmp_path / "abs.db").exists()


def test_factory_influx_specs_take_secrets_from_env_only(tmp_path):
    h = open_historian("influx1://127.0.0.1:8086/camp?rp=raw",
                       env={"MICROGRID_INFLUX_USER": "u", "MICROGRID_INFLUX_PASSWORD": "s3cret"})
    assert (h.url, h.database, h.retention_policy) == ("http://127.0.0.1:8086", "camp", "raw")
    assert h._session.auth == ("u", "s3cret")
    (tmp_path / "tok").write_text("tok-from-file\n")
    h2 = open_historian("influx2://influx:9999?org=un&bucket=camp",
                        env={"MICROGRID_INFLUX_TOKEN_FILE": str(tmp_path / "tok")})
    assert (h2.url, h2.org, h2.bucket, h2.query_db) == ("http://influx:9999", "un", "camp", "camp")
    assert "tok-from-file" not in repr(h2)
    with pytest.raises(HistorianError, match="credentials do not go in the spec") as e:
        open_historian("influx1://admin:hunter2@127.0.0.1:8086/camp", env={})
    assert "hunter2" not in str(e.value)
    with pytest.raises(HistorianError, match="no token"):
        open_historian("influx2://influx:8086?org=un&bucket=camp", env={})
    with pytest.raises(HistorianError, match="unknown option"):
        open_historian("sqlite:///x.db?retension_days=3")
    with pytest.raises(HistorianError, match="scheme"):
        open_historian("postgres://x/y")


def test_influx2_write_arguments_are_built_for_the_client():
    """No InfluxDB 2.x server here: only the arguments handed to influxdb-client are checked."""
    from influxdb_client import WritePrecision
    h = open_historian("influx2://influx:8086?org=un&bucket=camp&db=camp_dbrp",
                       env={"MICROGRID_INFLUX_TOKEN": "t0k"})
    assert h.write_kwargs(b"m x=1.0 1\n") == {"bucket": "camp", "org": "un",
                                              "record": b"m x=1.0 1\n",
                                              "write_precision": WritePrecision.NS}
    assert h.query_db == "camp_dbrp" and h._session.headers["Authorization"] == "Token t0k"


# -- SQLite specifics ----------------------------------------------------------------------------

def test_sqlite_wal_and_retention(tmp_path):
    with SQLiteHistorian(tmp_path / "h.db", retention_days=400) as h:  # DATA is younger
        assert h._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        h.write(DATA)
        now_ns = pd.Timestamp(at(40) + timedelta(days=400)).value  # minute 40: exactly 400 d old
        assert h.apply_retention(now_ns) == 15  # 18 points; all but the 3 at minute 40
        got = h.query("genset", ["power_kw", "fuel_rate_lph", "load_pct"], T0, END, tags=DG1)
        check(got, frame([40], {"power_kw": [200], "fuel_rate_lph": [50], "load_pct": [50]}))


def test_sqlite_write_lines_matches_write(tmp_path):
    from telemetry.historian import encode_readings
    with SQLiteHistorian(tmp_path / "a.db") as a, SQLiteHistorian(tmp_path / "b.db") as b:
        a.write(DATA)
        b.write_lines(encode_readings(DATA))
        for tags in (DG1, {"site": "juba"}):
            check(a.query("genset", ["power_kw", "fuel_rate_lph"], T0, END, tags=tags),
                  b.query("genset", ["power_kw", "fuel_rate_lph"], T0, END, tags=tags))
