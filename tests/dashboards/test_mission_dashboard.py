"""The mission dashboard's InfluxQL on a real influxd: every camp side by side.

Three camps have a simulated day in the store (Malakal, Bor, and Juba, which is not selected);
Malakal and Bor write alarms and Malakal its fuel autonomy. Each target is rendered the way Grafana
renders it with ``$camp`` = the two selected camps (a multi-value variable: ``(malakal|bor)``), and
sent to ``/query``. A target that errors or returns nothing fails; every stat and bar gauge must
equal the mission report's figures (:func:`microgrid.reports.mission.summarize_mission`) or the
camp's own report, or the known alarms and autonomy.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest
import requests
from testkit import ROOT

from dashboards import queries as q
from dashboards.mission import mission_dashboard
from microgrid.mission import load_mission
from microgrid.readings import Reading
from microgrid.reports.mission import summarize_mission
from microgrid.reports.source import frames_from_readings
from microgrid.simulator.history import simulate_history
from microgrid.simulator.settings import load_camp
from telemetry.historian.influx import InfluxV1Historian

pytestmark = pytest.mark.integration

START = datetime(2026, 10, 1, tzinfo=timezone.utc)
END = START + timedelta(days=1)
INTERVAL = timedelta(minutes=15)
MISSION = load_mission(ROOT / "missions" / "example-mission.toml")
SELECTED = ("malakal", "bor")
DASHBOARD = mission_dashboard(MISSION)


def _histories() -> dict[str, list[Reading]]:
    out = {}
    for file in ("example-camp.toml", "example-camp-bor.toml"):
        site, sim = load_camp(ROOT / "sites" / file)
        out[site.name] = simulate_history(site, sim, START, 1.0, seed=4, sample_s=300,
                                          measurements={"energy", "genset_energy"})
    site, sim = load_camp(ROOT / "sites" / "example-camp-bor.toml")
    juba = dataclasses.replace(site, name="juba")
    out["juba"] = simulate_history(juba, sim, START, 1.0, seed=9, sample_s=300, measurements={"energy"})
    return out


def _alarm(hours: float, site: str, device: str, code: str, active: float) -> Reading:
    return Reading(START + timedelta(hours=hours), "alarm", {"site": site, "device": device, "code": code},
                   {"active": active, "severity": 1.0, "value": 10.0 * active})


ALARMS = [_alarm(2, "malakal", "service", "plan_expired", 1.0), _alarm(3, "malakal", "service", "plan_expired", 0.0),
          _alarm(5, "malakal", "dg-1", "low_load", 1.0),
          _alarm(6, "bor", "camp-main", "offline", 1.0), _alarm(7, "bor", "camp-main", "offline", 0.0),
          _alarm(8, "juba", "dg-1", "low_load", 1.0)]
AUTONOMY = [Reading(START + timedelta(hours=h), "fuel", {"site": "malakal"}, {"autonomy_days": d})
            for h, d in ((1, 9.0), (12, 8.5))] + [Reading(START + timedelta(hours=2), "fuel", {"site": "juba"},
                                                          {"autonomy_days": 2.0})]


@pytest.fixture(scope="module")
def store(influx_url):
    histories = _histories()
    db = "mission_dashboard"
    with InfluxV1Historian(influx_url, db) as historian:
        historian.raw_influxql(f'DROP DATABASE "{db}"')
        historian.create_database()
        historian.write([r for rs in histories.values() for r in rs] + ALARMS + AUTONOMY)
    return influx_url, db, histories


def run(store, query: str) -> list[dict]:
    url, db, _ = store
    resp = requests.get(f"{url}/query", params={"db": db, "q": query, "epoch": "ms"}, timeout=30)
    assert resp.status_code == 200, f"{resp.status_code} {resp.text}\n{query}"
    result = resp.json()["results"][0]
    assert "error" not in result, f"{result['error']}\n{query}"
    return result.get("series", [])


def render(query: str, camps: tuple[str, ...] = SELECTED) -> str:
    return q.render(query, START, END, INTERVAL, {"camp": camps})


def by_site(series: list[dict]) -> dict[str, float]:
    out = {}
    for s in series:
        (row,) = s["values"]
        (value,) = row[1:]
        out[s["tags"]["site"]] = value
    return out


def single(series: list[dict]) -> float:
    (s,) = series
    (row,) = s["values"]
    (value,) = row[1:]
    return value


@pytest.fixture(scope="module")
def expected(store):
    _, _, histories = store
    frames = {name: frames_from_readings(histories[name]) for name in SELECTED}
    m = summarize_mission(MISSION, "2026-10", frames)
    camps = {c.site.name: c.summary for c in m.reporting}
    assert set(camps) == set(SELECTED)
    return {
        q.MISSION_RENEWABLE_FRACTION_PCT: m.renewable_fraction_pct, q.MISSION_FUEL_L: m.fuel_l,
        q.MISSION_CO2_T: m.co2_t, q.MISSION_FUEL_AVOIDED_L: m.fuel_avoided_l,
        q.CAMP_RENEWABLE_FRACTION_PCT: {n: s.renewable_fraction_pct for n, s in camps.items()},
        q.CAMP_FUEL_L: {n: s.fuel_l for n, s in camps.items()},
        q.CAMP_FUEL_AVOIDED_L: {n: s.fuel_avoided_l for n, s in camps.items()},
        q.CAMP_COMPLETENESS_PCT: {n: 100.0 * s.days_with_data for n, s in camps.items()},  # of a 1-day range
        q.CAMP_AUTONOMY_D: {"malakal": 8.5},  # Bor writes none: no bar, never 0
        q.CAMP_ACTIVE_ALARMS: {"malakal": 1.0, "bor": 0.0},
    }


def _targets():
    for panel in DASHBOARD.panels:
        for t in panel.targets:
            yield pytest.param(panel, t, id=f"{panel.title}/{t.ref_id}")


@pytest.mark.parametrize("panel,target", list(_targets()))
def test_every_target_returns_data_of_the_selected_camps_only(store, panel, target):
    series = run(store, render(target.query))
    values = [v for s in series for row in s["values"] for v in row[1:] if v is not None]
    assert values, f"{panel.title!r} returned no data"
    sites = {s.get("tags", {}).get("site") for s in series} - {None}
    assert sites <= set(SELECTED), (panel.title, sites)


@pytest.mark.parametrize("panel,target", [p for p in _targets() if p.values[0].kind in ("stat", "bargauge")])
def test_figures_match_the_mission_report(store, expected, panel, target):
    assert target.query in expected, f"no expected value for {panel.title!r}: add one"
    want = expected[target.query]
    series = run(store, render(target.query))
    if isinstance(want, dict):
        got = by_site(series)
        assert set(got) == set(want), (panel.title, got)
        for site, value in want.items():
            assert got[site] == pytest.approx(value, rel=1e-9, abs=1e-9), (panel.title, site)
    else:
        assert single(series) == pytest.approx(want, rel=1e-9), panel.title


def test_the_alarms_table_lists_each_alarm_with_its_last_state(store):
    series = run(store, render(q.ALARMS_TABLE))
    got = {(s["tags"]["site"], s["tags"]["device"], s["tags"]["code"]): s["values"][0][1] for s in series}
    assert got == {("malakal", "service", "plan_expired"): 0.0, ("malakal", "dg-1", "low_load"): 1.0,
                   ("bor", "camp-main", "offline"): 0.0}


def test_one_camp_selected_shows_one_camp(store, expected):
    got = by_site(run(store, render(q.CAMP_FUEL_L, ("bor",))))
    assert got == pytest.approx({"bor": expected[q.CAMP_FUEL_L]["bor"]})


def test_bars_link_to_the_camp_overview_and_the_mission_camps_are_preselected():
    from dashboards.common import DATASOURCE
    model = DASHBOARD.to_json(DATASOURCE)
    (camp,) = model["templating"]["list"]
    assert camp["multi"] is True and camp["current"]["value"] == [c.name for c in MISSION.camps]
    assert camp["current"]["value"][:2] == ["malakal", "bor"]
    bars = [p for p in model["panels"] if p["type"] == "bargauge"]
    assert bars and all(p["fieldConfig"]["defaults"]["links"][0]["url"] ==
                        "/d/camp-overview?var-site=${__field.labels.site}&${__url_time_range}" for p in bars)
    rf = next(p for p in model["panels"] if p["type"] == "stat" and p["title"] == "Renewable fraction")
    assert rf["fieldConfig"]["defaults"]["thresholds"]["steps"][-1] == {"color": "green", "value": 80.0}
