"""What the page reads from a store, on a small store written by hand: device states, setpoint
states (dry run never "confirmed"), alarms when present and "not known" when absent, the plan's
runs, and the headline figures being the report's."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from microgrid.readings import Reading
from microgrid.reports.source import summarize_range
from microgrid.web.alarms_fuel import fuel_autonomy_days, read_alarms
from microgrid.web.ranges import RANGES
from microgrid.web.reads import read_page
from telemetry.historian import open_historian

NOW = datetime(2026, 11, 1, 12, 0, 30, tzinfo=timezone.utc)
SITE_TAG = {"site": "malakal"}


def r(minutes_ago: float, measurement: str, fields: dict, **tags) -> Reading:
    return Reading(NOW - timedelta(minutes=minutes_ago), measurement, {**SITE_TAG, **tags}, fields)


@pytest.fixture
def store(tmp_path, site):
    h = open_historian(f"sqlite:///{tmp_path / 'h.db'}", tiered=True)
    rows = []
    for d in site.devices:
        kind = {"pv-north": "pv_inverter", "pv-south": "pv_inverter", "pv-carport": "pv_inverter",
                "bess-1": "battery", "camp-main": "load_meter"}.get(d.name, "genset")
        if d.name == "pv-south":  # went offline: its last reading says so
            rows += [r(1.0, kind, {"online": 1, "ac_power_kw": 50.0}, device=d.name),
                     r(0.5, kind, {"online": 0}, device=d.name)]
        elif d.name == "pv-carport":  # last heard of 10 min ago (poll interval 5 s): offline
            rows.append(r(10.0, kind, {"online": 1, "ac_power_kw": 20.0}, device=d.name))
        elif d.name in ("camp-main", "bulk-1"):  # never heard of
            continue
        else:
            rows.append(r(0.1, kind, {"online": 1, "power_kw": 100.0, "ac_power_kw": 100.0, "soc_pct": 55.0,
                                      "load_pct": 40.0, "running": 1.0}, device=d.name))
    rows += [
        r(0.2, "setpoint", {"value": 2, "accepted": 1, "dry_run": 1}, device="dg-1", point="mode"),
        r(0.2, "setpoint", {"value": 0, "accepted": 1, "dry_run": 0, "fault": 0}, device="dg-2", point="mode"),
        r(0.2, "setpoint", {"value": 250, "accepted": 0, "dry_run": 0, "fault": 1}, device="dg-3",
          point="base_load_kw"),
    ]
    for i in range(8):  # two hours of 15-min energy roll-ups
        rows.append(Reading(NOW.replace(minute=0, second=0) - timedelta(minutes=15 * (i + 1)), "energy",
                            SITE_TAG, {"load_kwh": 100.0, "genset_kwh": 60.0, "pv_kwh": 40.0, "fuel_l": 18.0,
                                       "diesel_only_fuel_l": 30.0, "coverage_pct": 100.0}))
    for k in range(8):  # the plan: dg-1 on for the first hour, dg-3 from the second
        t = NOW.replace(second=0) + timedelta(minutes=15 * k)
        rows.append(Reading(t, "plan_genset", {**SITE_TAG, "strategy": "milp", "device": "dg-1"},
                            {"on": float(k < 4), "power_kw": 200.0 * (k < 4)}))
        rows.append(Reading(t, "plan_genset", {**SITE_TAG, "strategy": "milp", "device": "dg-3"},
                            {"on": float(k >= 4), "power_kw": 150.0 * (k >= 4)}))
    h.write(sorted(rows, key=lambda x: x.time))
    yield h
    h.close()


def test_device_states_setpoints_and_plan(store, site):
    d = read_page(store, site, RANGES["24h"], NOW)
    states = {row.name: row.state for row in d.devices}
    assert states == {"pv-north": "online", "pv-south": "offline", "pv-carport": "offline",
                      "bess-1": "online", "dg-1": "online", "dg-2": "online", "dg-3": "online",
                      "camp-main": "no data", "bulk-1": "no data"}
    rows = {row.name: row for row in d.devices}
    assert rows["pv-south"].last_ok == NOW - timedelta(minutes=1)
    assert rows["bess-1"].values == ("100.0 kW", "SOC 55.0 %")
    assert rows["dg-1"].setpoints == (("mode run", "would write"),)  # dry run: never confirmed
    assert rows["dg-2"].setpoints == (("mode stop", "confirmed"),)
    assert rows["dg-3"].setpoints == (("base_load_kw 250", "write failed"),)
    assert all(row.alarms is None for row in d.devices)  # no alarm data: not known, not 0
    spans = {(s.device, s.start, s.end, s.power_kw) for s in d.plan.spans}
    start = NOW.replace(second=0)
    assert spans == {("dg-1", NOW, start + timedelta(hours=1), 200.0),
                     ("dg-3", start + timedelta(hours=1), start + timedelta(hours=2), 150.0)}


def test_headline_figures_are_the_reports(store, site):
    d = read_page(store, site, RANGES["24h"], NOW)
    s = summarize_range(store, site, d.start, d.end, label="24h")
    assert d.summary == s
    assert d.summary.fuel_l == 8 * 18.0 and d.summary.fuel_avoided_l == 8 * 12.0
    assert d.alarms.count is None and d.fuel_autonomy_days is None


def test_alarms_are_read_when_present(store, site):
    assert read_alarms(store, site, NOW).count is None
    store.write([r(30, "alarm", {"active": 1, "severity": 2, "value": 9.0}, device="dg-1", code="low_fuel"),
                 r(5, "alarm", {"active": 0, "severity": 2, "value": 30.0}, device="dg-1", code="low_fuel"),
                 r(3, "alarm", {"active": 1, "severity": 3, "value": 105.0}, device="dg-2", code="overload")])
    alarms = read_alarms(store, site, NOW)
    assert alarms.count == 1 and alarms.by_device == {"dg-2": 1}
    assert alarms.active == (("dg-2", "overload", 3.0),)
    rows = {row.name: row.alarms for row in read_page(store, site, RANGES["24h"], NOW).devices}
    assert rows["dg-2"] == 1 and rows["dg-1"] == 0


def test_fuel_autonomy_is_the_ledgers_newest_figure(store, site):
    assert fuel_autonomy_days(store, site, NOW) is None            # no ledger in the store: not known
    store.write([r(90, "fuel", {"stock_l": 50000.0, "autonomy_days": 30.0}),
                 r(5, "fuel", {"stock_l": 49000.0, "autonomy_days": 21.5}),
                 r(1, "fuel", {"stock_l": 49000.0})])             # no plan yet at that minute
    assert fuel_autonomy_days(store, site, NOW) == 21.5
    assert fuel_autonomy_days(store, site, NOW - timedelta(minutes=80)) == 30.0
    assert fuel_autonomy_days(store, site, NOW + timedelta(hours=3)) is None   # an hour old at most
    assert read_page(store, site, RANGES["24h"], NOW).fuel_autonomy_days == 21.5
