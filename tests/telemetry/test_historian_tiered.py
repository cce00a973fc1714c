"""Raw retention and roll-ups (docs/architecture.md §5): the bucket statistics, the downsampler,
the query routing, the tiered store on SQLite and on a real influxd, and the packed layout.

The tiered stores also run the whole contract suite (``test_historian_contract.py``); here is
what the contract cannot see: that the roll-ups answer once the raw readings are gone, that a
late point re-emits its bucket, that data from before the roll-ups began is never deleted.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
import requests

from microgrid.readings import Reading
from telemetry.historian import open_historian
from telemetry.historian.base import QuerySpec
from telemetry.historian.rollup import Downsampler, RetentionPolicy, bucket_stats, route

T0 = datetime(2026, 1, 5, tzinfo=timezone.utc)
NS = 10**9
MIN = 60 * NS
NaN = float("nan")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def ns(t: datetime) -> int:
    return int(pd.Timestamp(t).value)


# -- bucket statistics ---------------------------------------------------------------------------

def test_bucket_stats_by_hand():
    t = np.array([0, 20, 40, 60, 80, 130]) * NS
    v = np.array([1.0, NaN, 3.0, 5.0, 7.0, NaN])
    w = np.array([NaN, NaN, NaN, 2.0, NaN, 4.0])
    starts, s = bucket_stats(t, {"v": v, "w": w}, MIN)
    assert starts.tolist() == [0, MIN, 2 * MIN]
    np.testing.assert_array_equal(s["v__count"], [2, 2, NaN])
    np.testing.assert_array_equal(s["v__sum"], [4, 12, NaN])
    np.testing.assert_array_equal(s["v__min"], [1, 5, NaN])
    np.testing.assert_array_equal(s["v__max"], [3, 7, NaN])
    np.testing.assert_array_equal(s["v__last"], [3, 7, NaN])
    np.testing.assert_array_equal(s["w__count"], [NaN, 1, 1])  # missing, not 0
    np.testing.assert_array_equal(s["w__last"], [NaN, 2, 4])


# -- routing -------------------------------------------------------------------------------------

def spec(start_s: float, end_s: float, agg: str | None = "mean", interval: str | None = "15m"):
    return QuerySpec("camp", ("load_kw",), at(start_s), at(end_s), {"site": "a"}, agg, interval)


TIERS = {"1m": MIN, "15m": 15 * MIN}


def test_route_whole_buckets_from_the_coarsest_tier_rest_from_raw():
    marks = {"1m": (ns(T0), ns(at(3600 + 120))), "15m": (ns(T0), ns(at(3600)))}
    t0 = ns(T0)
    # 00:05 .. 01:30 by 15 min: the cut bucket 00:00 and the buckets after 01:00 from raw
    assert route(spec(300, 5400), marks, TIERS) == [
        (None, t0 + 300 * NS, t0 + 900 * NS), ("15m", t0 + 900 * NS, t0 + 3600 * NS),
        (None, t0 + 3600 * NS, t0 + 5400 * NS)]
    # 5-min buckets: only the 1-min tier divides them; it is complete to 01:02
    assert route(spec(0, 5400, interval="5m"), marks, TIERS) == [
        ("1m", t0, t0 + 3600 * NS), (None, t0 + 3600 * NS, t0 + 5400 * NS)]
    # raw points, a 90-s interval, or nothing rolled up yet: raw only
    assert route(spec(0, 5400, agg=None, interval=None), marks, TIERS) == [(None, t0, t0 + 5400 * NS)]
    assert route(spec(0, 5400, interval="90s"), marks, TIERS) == [(None, t0, t0 + 5400 * NS)]
    assert route(spec(0, 5400), {}, TIERS) == [(None, t0, t0 + 5400 * NS)]
    # one row over the range: a tier when the range is aligned and complete
    assert route(spec(0, 3600, interval=None), marks, TIERS) == [("15m", t0, t0 + 3600 * NS)]
    assert route(spec(0, 3660, interval=None), marks, TIERS) == [("1m", t0, t0 + 3660 * NS)]
    assert route(spec(30, 3600, interval=None), marks, TIERS) == [(None, t0 + 30 * NS, t0 + 3600 * NS)]


# -- downsampler ---------------------------------------------------------------------------------

def camp(seconds: float, load: float, site: str = "a"):
    return ("camp", (("site", site),), {"load_kw": load}, ns(at(seconds)))


def test_downsampler_closes_buckets_after_the_grace_and_re_emits_late_points():
    d = Downsampler(RetentionPolicy(tiers=("1m", "15m"), grace_s=60))
    d.add([camp(s, float(s)) for s in range(0, 180, 10)])  # 00:00:00 .. 00:02:50
    out = d.emit()
    # newest 00:02:50 - 60 s grace: the 1-min bucket 00:00 is closed, 00:01 is not
    minutes = [p for p in out["1m"] if p[0] == "camp"]
    assert [(p[3], p[2]["load_kw__sum"], p[2]["load_kw__count"]) for p in minutes] == [
        (ns(T0), 150.0, 6.0)]
    assert [p for p in out["15m"] if p[0] == "camp"] == []
    marks = {p[0]: p[2] for p in out["1m"] if p[0] == "rollup_watermark"}
    assert marks["rollup_watermark"] == {"from_s": ns(T0) / 1e9, "closed_s": ns(at(60)) / 1e9}
    # a point rewritten in the closed minute re-emits it
    d.add([camp(20, 1000.0)])
    again = [p for p in d.emit()["1m"] if p[0] == "camp"]
    assert [(p[3], p[2]["load_kw__sum"]) for p in again] == [(ns(T0), 150.0 - 20 + 1000)]
    # far later: the first quarter-hour closes; a point older than keep_s only counts as late
    d.add([camp(3600, 1.0)])
    quarter = [p for p in d.emit()["15m"] if p[0] == "camp"]
    assert [(p[3], p[2]["load_kw__count"]) for p in quarter] == [(ns(T0), 18.0)]
    d.add([camp(30, 5.0)])
    assert d.late_points == 1 and [p for p in d.emit()["1m"] if p[0] == "camp"] == []


def test_downsampler_rolls_up_from_the_first_whole_coarsest_bucket_per_site():
    d = Downsampler(RetentionPolicy())
    d.add([camp(100, 1.0), camp(900, 2.0), camp(950, 3.0, site="b"), camp(3000, 4.0)])
    assert d.marks()["a"][0] == ns(at(900)) and d.marks()["b"][0] == ns(at(1800))
    assert d.late_points == 2  # a's 00:01:40 and b's only point come before their first quarter


# -- the tiered store ----------------------------------------------------------------------------

def readings(hours: float, step_s: int = 10, site: str = "a") -> list[Reading]:
    out = []
    for i in range(int(hours * 3600 / step_s)):
        t = at(i * step_s)
        out.append(Reading(t, "camp", {"site": site}, {"load_kw": float(i % 97), "pv_kw": (i % 13) / 2}))
        if i % 90 == 0:
            out.append(Reading(t, "energy", {"site": site}, {"load_kwh": 1.0}))
    return out


def write_in_batches(h, rs, n=100):
    for k in range(0, len(rs), n):
        h.write(rs[k:k + n])


AGGS = [("mean", "15m"), ("sum", "1h"), ("max", "5m"), ("min", "15m"), ("last", "15m"),
        ("count", "30m")]


def test_sqlite_rollups_answer_once_the_raw_readings_are_gone(tmp_path):
    rs = readings(3)
    with open_historian(f"sqlite:///{tmp_path / 'ref.db'}") as ref:
        ref.write(rs)
        expected = {a: ref.query("camp", ["load_kw", "pv_kw"], T0, at(3 * 3600), tags={"site": "a"},
                                 agg=a, interval=iv) for a, iv in AGGS}
    h = open_historian(f"sqlite:///{tmp_path / 't.db'}?raw_days=0.05")  # 72 min
    write_in_batches(h, rs)
    deleted = h.apply_retention()
    # raw readings older than 72 min before the newest are gone; energy (a record) is not
    raw = h.query("camp", ["load_kw"], T0, at(3 * 3600), tags={"site": "a"})
    assert deleted > 0 and raw.index.min() >= pd.Timestamp(at(3 * 3600 - 10 - 72 * 60)).floor("min")
    assert len(h.query("energy", ["load_kwh"], T0, at(3 * 3600), tags={"site": "a"})) == 12
    for a, iv in AGGS:
        got = h.query("camp", ["load_kw", "pv_kw"], T0, at(3 * 3600), tags={"site": "a"}, agg=a,
                      interval=iv)
        pd.testing.assert_frame_equal(got, expected[a], check_exact=False, rtol=1e-12, obj=a)
    h.close()
    # a reader in another connection routes the same way, from the stored watermarks
    with open_historian(f"sqlite:///{tmp_path / 't.db'}", tiered=True).reader() as r:
        got = r.query("camp", ["load_kw"], T0, at(3 * 3600), tags={"site": "a"}, agg="mean",
                      interval="15m")
        pd.testing.assert_frame_equal(got, expected["mean"][["load_kw"]], check_exact=False, rtol=1e-12)


def test_sqlite_never_deletes_what_came_before_the_rollups(tmp_path):
    path = tmp_path / "t.db"
    with open_historian(f"sqlite:///{path}") as plain:  # a store written before roll-ups
        plain.write(readings(1))
    h = open_historian(f"sqlite:///{path}?raw_days=0.01", tiered=True)
    later = [Reading(r.time + timedelta(hours=1), r.measurement, r.tags, r.fields) for r in readings(2)]
    write_in_batches(h, later)
    assert h.apply_retention() > 0
    kept = h.query("camp", ["load_kw"], T0, at(3600), tags={"site": "a"})
    assert len(kept) == 360  # the first hour, never rolled up, is all there
    h.close()


def test_packed_layout_is_small_and_a_version_1_file_opens(tmp_path):
    import sqlite3

    path = tmp_path / "v1.db"
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE series(id INTEGER PRIMARY KEY, measurement TEXT NOT NULL, tags TEXT NOT NULL,
            UNIQUE(measurement, tags));
        CREATE TABLE points(series_id INTEGER NOT NULL, field TEXT NOT NULL, time_ns INTEGER NOT NULL,
            value REAL NOT NULL, PRIMARY KEY(series_id, field, time_ns)) WITHOUT ROWID;
        CREATE INDEX points_time ON points(time_ns);
        INSERT INTO meta VALUES ('schema_version', '1');
        INSERT INTO series VALUES (1, 'camp', '{"site":"a"}');""")
    rng = np.random.default_rng(7)
    load = np.round(400 + np.cumsum(rng.normal(0, 1, 8640)), 1)  # a day at 10 s, 0.1 kW steps
    db.executemany("INSERT INTO points VALUES (1, 'load_kw', ?, ?)",
                   [(ns(at(10 * i)), float(v)) for i, v in enumerate(load)])
    db.commit()
    db.close()
    before = path.read_bytes()
    from telemetry.historian import SQLiteHistorian
    with SQLiteHistorian(path, readonly=True) as ro:  # read as it is, never changed
        got = ro.query("camp", "load_kw", T0, at(86400), tags={"site": "a"})
        assert ro.schema_version == "1"
    assert path.read_bytes() == before
    np.testing.assert_array_equal(got["load_kw"].to_numpy(), load)
    with SQLiteHistorian(path) as h:  # migrated: the rows are packed by compaction
        assert h.schema_version == "2"
        assert h.compact(horizon_ns=ns(at(86400))) == 8640
        assert h.stored_values() == (0, 8640)
        got = h.query("camp", "load_kw", T0, at(86400), tags={"site": "a"})
        np.testing.assert_array_equal(got["load_kw"].to_numpy(), load)
        size = sum(len(b) for (b,) in h._db.execute("SELECT data FROM chunks"))
    assert size / 8640 < 3.0  # bytes per value packed, against ~65 as rows


@pytest.mark.integration
def test_influx_tiered_writes_raw_records_and_rollups_to_their_policies(influx_database):
    url, db = influx_database
    h = open_historian(f"influx1://{url.removeprefix('http://')}/{db}?raw_days=3650")
    write_in_batches(h, readings(1), n=500)
    h.close()  # flushes the open buckets

    def q(text):
        r = requests.get(f"{url}/query", params={"db": db, "q": text}, timeout=10).json()
        return r["results"][0].get("series", [])

    rps = {row[0]: row[1] for row in q(f'SHOW RETENTION POLICIES ON "{db}"')[0]["values"]}
    assert rps["raw"] == "87600h0m0s" and rps["rollup_1m"] == "0s" and rps["rollup_15m"] == "0s"
    assert q('SELECT count("load_kw") FROM "raw"."camp"')[0]["values"][0][1] == 360
    assert q('SELECT count("load_kwh") FROM "energy"')[0]["values"][0][1] == 4  # default policy
    assert not q('SELECT count("load_kw") FROM "camp"')  # telemetry is not in the default policy
    assert q('SELECT sum("load_kw__count") FROM "rollup_1m"."camp"')[0]["values"][0][1] == 360
    assert q('SELECT count("load_kw__sum") FROM "rollup_15m"."camp"')[0]["values"][0][1] == 4


def test_bulk_columns_store_what_readings_store(tmp_path):
    """The bulk path (benches, imports) packs and rolls up the same data the live path does."""
    rs = [r for r in readings(2) if r.measurement == "camp"]
    live = open_historian(f"sqlite:///{tmp_path / 'live.db'}", tiered=True)
    write_in_batches(live, rs)
    live.flush_rollups()
    bulk = open_historian(f"sqlite:///{tmp_path / 'bulk.db'}", tiered=True)
    times = np.array([ns(r.time) for r in rs])
    cols = {f: np.array([r.fields[f] for r in rs]) for f in ("load_kw", "pv_kw")}
    assert bulk.write_columns("camp", {"site": "a"}, times, cols) == 2 * len(rs)
    bulk.set_marks("a", ns(T0), ns(at(2 * 3600)))
    assert bulk.raw.stored_values() == (0, 2 * len(rs))  # packed straight away
    for h in (live, bulk):
        h.raw.delete_range(ns(T0), ns(at(2 * 3600)))  # only the roll-ups can answer now
    # the live writer closed its buckets to 01:45 (the newest reading less the grace)
    for agg, iv in [(a, iv) for a, iv in AGGS if iv != "1h"]:
        a = live.query("camp", ["load_kw", "pv_kw"], T0, at(6300), tags={"site": "a"}, agg=agg, interval=iv)
        b = bulk.query("camp", ["load_kw", "pv_kw"], T0, at(6300), tags={"site": "a"}, agg=agg, interval=iv)
        assert len(a) == len(b) == 6300 // pd.Timedelta(iv).total_seconds()
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12, obj=agg)
    live.close()
    bulk.close()
