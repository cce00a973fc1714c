"""Every dashboard panel's InfluxQL, run on a real InfluxDB holding a known simulated day.

The day goes through the project's accounting (camp totals, 15-min roll-ups) and is written to
influxd by the project's historian (``InfluxV1Historian``); then each target of each panel is
rendered the way Grafana renders it (``$timeFilter`` as epoch-ms bounds, ``$__interval``,
``$__range_s``, ``$site`` regex-escaped, the constant variables) and sent to ``/query``. A target that
errors or returns nothing fails. Range figures must equal the
report's (:func:`microgrid.reports.summary.summarize` over the same roll-ups), and every stat /
bar-gauge target must have an expected value here — a new panel is tested automatically. (The mission
dashboard, every camp side by side, has its own: ``test_mission_dashboard.py``.)
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
import requests
from testkit import example_camp

from dashboards import queries as q
from dashboards.catalog import camp_dashboards
from dashboards.model import ConstantVariable, Panel
from microgrid.accounting import EnergyRollup, camp_totals
from microgrid.readings import Reading
from microgrid.reports.period import parse_period
from microgrid.reports.summary import summarize
from telemetry.historian.influx import InfluxV1Historian

pytestmark = pytest.mark.integration

SITE, SIM = example_camp()
START = datetime(2026, 10, 1, tzinfo=timezone.utc)
END = START + timedelta(days=1)
INTERVAL = timedelta(minutes=15)
DASHBOARDS = camp_dashboards(SITE)


# -- the known day ------------------------------------------------------------------------
def _simulated_history() -> list[Reading]:
    """A day of the virtual camp (physics + accounting), gensets in their own auto mode."""
    from microgrid.simulator.history import simulate_history
    return simulate_history(SITE, SIM, START, 1.0, seed=7, sample_s=60)


def _simulated_with_gap() -> list[Reading]:
    """The same day with the poller down 10:00-12:00 and no fuel sensors (estimated fuel)."""
    from microgrid.simulator.history import Outage, simulate_history
    gap = Outage(START + timedelta(hours=10), START + timedelta(hours=12))
    return simulate_history(SITE, SIM, START, 1.0, seed=7, sample_s=60, outages=[gap],
                            metered_fuel=False)


def _own_history() -> list[Reading]:
    """A hand-made day at 60 s through the project's accounting (camp totals + roll-up).

    The physics holds running gensets at or above their minimum load and meters all fuel; this
    day also has low-load hours and estimated (unmetered) fuel.

    dg-1 runs 00-07 h at 300 kW and 17-24 h at 100 kW (below its 120 kW minimum), dg-2 19-21 h
    at 250 kW, dg-3 05-09 h at 150 kW without a fuel sensor (estimated fuel); PV a midday bell;
    the battery takes the rest.
    """
    roll = EnergyRollup(SITE, bucket_min=15, max_hold_s=90)
    out: list[Reading] = []
    soc = 60.0
    for i in range(24 * 60 + 1):
        t = START + timedelta(minutes=i)
        h = i / 60.0
        load = 350.0 + 200.0 * max(0.0, math.sin(math.pi * (h - 8.0) / 12.0))
        pv_total = 450.0 * max(0.0, math.sin(math.pi * (h - 6.0) / 12.0))
        gens = {"dg-1": 300.0 if h < 7 else (100.0 if h >= 17 else 0.0),
                "dg-2": 250.0 if 19 <= h < 21 else 0.0,
                "dg-3": 150.0 if 5 <= h < 9 else 0.0}
        bat = load - pv_total - sum(gens.values())
        devices: dict[str, dict] = {"camp-main": {"power_kw": load},
                                    "bess-1": {"power_kw": bat, "soc_pct": soc}}
        for a in SITE.pv_arrays:
            devices[a.name] = {"ac_power_kw": pv_total * a.kwp / SITE.pv_kwp}
        for g in SITE.gensets:
            p = gens[g.name]
            devices[g.name] = {"power_kw": p, "running": float(p > 0),
                               "load_pct": 100.0 * p / g.rated_kw}
            if g.name != "dg-3":
                devices[g.name]["fuel_rate_lph"] = g.fuel_rate_lph(p, p > 0)
        _add_health(devices, load, bat, gens, soh_pct=99.0 - h / 100.0)
        soc -= bat / 60.0 / 1000.0 * 100.0
        if t < END:
            for d in SITE.devices:
                if d.name not in devices:           # the bulk tank: the fuel ledger is hand-made below
                    continue
                kind = {"camp-main": "load_meter", "bess-1": "battery"}.get(d.name)
                kind = kind or ("genset" if d.name.startswith("dg") else "pv_inverter")
                out.append(Reading(t, kind, {"site": SITE.name, "device": d.name},
                                   devices[d.name]))
            out.append(camp_totals(SITE, t, devices))
        out.extend(roll.add(t, devices))
    return out + roll.flush()


def _add_health(devices: dict[str, dict], load: float, bat: float, gens: dict[str, float],
                soh_pct: float) -> None:
    """Plant-health fields (docs/architecture.md §4) for the hand-made day, from the virtual
    camp's health models; dg-3 has no engine sensors (its engine fields stay missing)."""
    from microgrid.simulator import health
    frac = min(1.0, load / 900.0)
    devices["camp-main"].update(health.ac_values(load, health.CAMP_LOAD_PF, frac))
    voltage = 760.0 + 40.0 * frac
    devices["bess-1"].update({"soh_pct": soh_pct, "voltage_v": voltage, "temp_c": 26.0 + 8.0 * frac,
                              "charge_limit_kw": 500.0, "discharge_limit_kw": 500.0,
                              **health.battery_dc_values(bat, voltage, 26.0 + 8.0 * frac, 240,
                                                         500.0, 500.0),
                              **health.ac_values(bat, health.BATTERY_PF, frac)})
    for g in SITE.gensets:
        p = gens[g.name]
        if p > 0:
            devices[g.name].update(health.ac_values(p, health.GENSET_PF, frac))
        if g.name != "dg-3":
            devices[g.name].update(health.engine_values(p > 0, p / g.rated_kw))


def _last(readings, measurement: str, field: str) -> dict[str, float]:
    """{device: the last value of ``field``} in ``readings``."""
    out: dict[str, float] = {}
    for r in sorted(readings, key=lambda r: r.time):
        if r.measurement == measurement and r.fields.get(field) is not None:
            out[r.device] = r.fields[field]
    return out


def _control_readings() -> list[Reading]:
    """forecast / plan / optimizer / setpoint points the history does not produce."""
    tags = {"site": SITE.name}
    out = []
    for k in range(96):
        t = START + k * INTERVAL
        h = k / 4.0
        pv = 450.0 * max(0.0, math.sin(math.pi * (h - 6.0) / 12.0))
        out.append(Reading(t, "forecast", {**tags, "quantity": "pv"},
                           {"p50_kw": pv, "p10_kw": 0.7 * pv, "p90_kw": 1.1 * pv}))
        out.append(Reading(t, "forecast", {**tags, "quantity": "load"},
                           {"p50_kw": 450.0, "p10_kw": 400.0, "p90_kw": 500.0}))
        out.append(Reading(t, "plan", {**tags, "strategy": "milp"},
                           {"genset_kw": 0.0 if 8 <= h < 17 else 300.0, "gensets_online": 1.0,
                            "battery_kw": 50.0, "soc_pct": 60.0, "curtail_kw": 0.0,
                            "fuel_l": 20.0}))
        out.append(Reading(t, "optimizer", tags, {"solve_s": 0.5 + k / 100.0,
                                                  "gap_pct": 0.1 * (k % 5),
                                                  "objective_l": 900.0, "status": float(k % 2)}))
    for k, accepted in enumerate((1.0, 1.0, 0.0, 1.0)):
        out.append(Reading(START + timedelta(hours=6 + k), "setpoint",
                           {**tags, "device": "dg-1", "point": "mode"},
                           {"value": 1.0, "accepted": accepted}))
    return out + _fuel_and_alarm_readings()


#: Deliveries of the hand-made fuel ledger: (hour, litres).
DELIVERIES = ((10, 30000.0), (16, 12000.0))


def _fuel_and_alarm_readings() -> list[Reading]:
    """What the service's fuel ledger and alarm engine write (``fuel`` each 15 min here, two
    ``fuel_delivery`` points, ``alarm`` transitions): bess-1 below its SOC floor 02:00-03:00, dg-1
    reporting low oil pressure from 20:00 (still active at the end of the day)."""
    tags = {"site": SITE.name}
    out = []
    for k in range(96):
        h = k / 4.0
        stock = 40000.0 - 100.0 * h + sum(litres for at, litres in DELIVERIES if h >= at)
        out.append(Reading(START + k * INTERVAL, "fuel", tags,
                           {"stock_l": stock, "tolerance_l": 452.0, "burn_l_per_day": 2400.0,
                            "planned_burn_l_per_day": 2300.0, "autonomy_days": stock / 2300.0,
                            "unexplained_loss_l": 10.0 + k}))
    for at, litres in DELIVERIES:
        out.append(Reading(START + timedelta(hours=at), "fuel_delivery", tags,
                           {"delivered_l": litres, "duration_min": litres / 500.0}))
    for hour, device, code, active in ((2, "bess-1", "soc_below_floor", 1.0), (3, "bess-1", "soc_below_floor", 0.0),
                                       (20, "dg-1", "dse_low_oil_pressure", 1.0)):
        out.append(Reading(START + timedelta(hours=hour), "alarm", {**tags, "device": device, "code": code},
                           {"active": active, "severity": 2.0, "value": 3.0}))
    return out


HISTORIES = {"simulated": _simulated_history, "gap": _simulated_with_gap,
             "handmade": _own_history}


@pytest.fixture(scope="module", params=sorted(HISTORIES))
def day(request, influx_url):
    """(url, db, readings): a known day written to a fresh database, one per history source."""
    db = f"dashboards_{request.param}"
    readings = [r for r in HISTORIES[request.param]() + _control_readings()
                if START <= r.time < END]
    with InfluxV1Historian(influx_url, db) as historian:   # the project's own writer
        historian.raw_influxql(f'DROP DATABASE "{db}"')
        historian.create_database()
        historian.write(readings)
    return influx_url, db, readings


def run(day, query: str) -> list[dict]:
    """Run rendered InfluxQL on ``day``'s database; return the series (fails on an error)."""
    url, db, _ = day
    resp = requests.get(f"{url}/query", params={"db": db, "q": query, "epoch": "ms"}, timeout=30)
    assert resp.status_code == 200, f"{resp.status_code} {resp.text}\n{query}"
    result = resp.json()["results"][0]
    assert "error" not in result, f"{result['error']}\n{query}"
    return result.get("series", [])


def _variables(dashboard) -> dict[str, str]:
    out = {"site": SITE.name}
    out.update({v.name: v.value for v in dashboard.variables if isinstance(v, ConstantVariable)})
    return out


def _targets():
    for d in DASHBOARDS:
        for panel in d.panels:
            for t in panel.targets:
                yield pytest.param(d, panel, t, id=f"{d.uid}/{panel.title}/{t.ref_id}")


def _render(dashboard, query: str) -> str:
    return q.render(query, START, END, INTERVAL, _variables(dashboard))


# -- the report's numbers -------------------------------------------------------------------
def _frames(readings):
    def frame(measurement):
        rows = [{"time": r.time, **r.tags, **r.present_fields()}
                for r in readings if r.measurement == measurement]
        return pd.DataFrame(rows).set_index("time").drop(columns=["site"])
    return frame("energy"), frame("genset_energy")


@pytest.fixture(scope="module")
def report(day):
    energy, gensets = _frames(day[2])
    return summarize(SITE, parse_period("2026-10", SITE.location.timezone), energy, gensets)


def expected_values(report, readings) -> dict[str, object]:
    """Query → expected value: a number, {column: number} or {device: number}."""
    g = {s.name: s for s in report.gensets}
    opt = [r for r in readings if r.measurement == "optimizer"][-1].fields
    fuel = [r for r in readings if r.measurement == "fuel"][-1].fields
    setpoints = [r.fields["accepted"] for r in readings if r.measurement == "setpoint"]
    return {
        q.RENEWABLE_FRACTION_PCT: report.renewable_fraction_pct,
        q.FUEL_L: report.fuel_l,
        q.FUEL_ESTIMATED_L: report.fuel_estimated_l,
        q.CO2_T: report.co2_t,
        q.FUEL_AVOIDED_L: report.fuel_avoided_l,
        q.CO2_AVOIDED_T: report.co2_avoided_t,
        q.LOAD_KWH: report.load_kwh,
        q.PV_KWH: report.pv_kwh,
        q.KWH_PER_L: report.kwh_per_l,
        q.L_PER_PERSON_DAY: report.fuel_l_per_person_day,
        q.COMPLETENESS_PCT: 100.0 * report.days_with_data / ((END - START) / timedelta(days=1)),
        q.BELOW_MIN_H: sum(s.below_min_h or 0.0 for s in report.gensets),
        q.ENERGY_BY_SOURCE_KWH: {"PV used": report.pv_kwh, "Gensets": report.genset_kwh,
                                 "Battery out": report.battery_discharge_kwh,
                                 "Battery in": report.battery_charge_kwh,
                                 "Load": report.load_kwh, "PV curtailed": report.curtailed_kwh},
        q.GENSET_RUN_H: {n: s.run_h for n, s in g.items()},
        q.GENSET_BELOW_MIN_H: {n: s.below_min_h for n, s in g.items()},
        q.GENSET_STARTS: {n: s.starts for n, s in g.items()},
        q.GENSET_KWH: {n: s.genset_kwh for n, s in g.items()},
        q.GENSET_FUEL_L: {n: s.fuel_l for n, s in g.items()},
        q.GENSET_KWH_PER_L: {n: s.kwh_per_l for n, s in g.items()},
        q.OPTIMIZER_STATUS: opt["status"],
        q.OPTIMIZER_SOLVE_S: opt["solve_s"],
        q.OPTIMIZER_GAP_PCT: opt["gap_pct"],
        q.SETPOINTS_REJECTED: {"Rejected": setpoints.count(0.0), "Written": len(setpoints)},
        q.LATEST_COOLANT_C: _last(readings, "genset", "coolant_temp_c"),
        q.LATEST_ENGINE_BATTERY_V: _last(readings, "genset", "engine_battery_v"),
        q.LATEST_BATTERY_SOH_PCT: _last(readings, "battery", "soh_pct"),
        q.LATEST_MODULE_TEMP_MAX_C: _last(readings, "battery", "module_temp_max_c"),
        q.FUEL_STOCK_L: fuel["stock_l"],
        q.FUEL_AUTONOMY_DAYS: fuel["autonomy_days"],
        q.FUEL_PLANNED_BURN_L_PER_DAY: 2300.0,
        q.FUEL_BURN_L_PER_DAY: 2400.0,
        q.FUEL_UNEXPLAINED_LOSS_L: 10.0 + 95,
        q.FUEL_DELIVERED_L: sum(litres for _, litres in DELIVERIES),
        q.FUEL_DELIVERIES: len(DELIVERIES),
        q.CONVOYS_AVOIDED: report.fuel_avoided_l / SITE.logistics.tanker_size_l,
        q.ALARMS_ACTIVE: 1.0,                       # dg-1's low oil pressure; bess-1's cleared
    }


def single_row(series: list[dict]) -> dict:
    """{column or device: value} of an aggregate without GROUP BY time."""
    out: dict = {}
    for s in series:
        assert len(s["values"]) == 1, s
        row = dict(zip(s["columns"], s["values"][0]))
        row.pop("time")
        if "tags" in s and "device" in s["tags"]:
            (value,) = row.values()
            out[s["tags"]["device"]] = value
        else:
            out.update(row)
    return out


# -- tests ------------------------------------------------------------------------------------
@pytest.mark.parametrize("dashboard,panel,target", list(_targets()))
def test_every_target_returns_data(day, dashboard, panel: Panel, target):
    series = run(day, _render(dashboard, target.query))
    values = [v for s in series for row in s["values"] for v in row[1:] if v is not None]
    assert values, f"{panel.title!r} ({target.ref_id}) returned no data"


@pytest.mark.parametrize("dashboard,panel,target",
                         [p for p in _targets() if p.values[1].kind in ("stat", "bargauge")])
def test_range_figures_match_the_report(day, report, dashboard, panel: Panel, target):
    expected = expected_values(report, day[2])
    assert target.query in expected, f"no expected value for {panel.title!r}: add one"
    want = expected[target.query]
    got = single_row(run(day, _render(dashboard, target.query)))
    if not isinstance(want, dict):
        assert want is not None, f"the report has no value for {panel.title!r}"
        assert len(got) == 1, got
        got = next(iter(got.values()))
        want, got = {"value": want}, {"value": got}
    want = {k: v for k, v in want.items() if v is not None}   # e.g. curtailment not measured
    assert want and set(got) >= set(want), (got, want)
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-9), (panel.title, key)


def test_the_day_is_not_trivial(day, report):
    """The known day exercises what the panels show (else equalities above prove little)."""
    assert 0 < report.renewable_fraction_pct < 100
    assert report.fuel_l > 0 and report.fuel_avoided_l > 0
    assert sum(s.starts or 0 for s in report.gensets) >= 1
    assert sum(1 for s in report.gensets if s.run_h) >= 1
    if day[1] == "dashboards_gap":
        assert report.days_with_data == pytest.approx(22 / 24, abs=1e-3)  # + 1 held sample
        assert report.fuel_estimated_l == pytest.approx(report.fuel_l)
    if day[1] == "dashboards_handmade":
        assert report.gensets[0].below_min_h == pytest.approx(7.0)
        assert report.fuel_estimated_l > 0


def test_power_flow_series_cover_the_day(day):
    (series,) = run(day, _render(DASHBOARDS[0], q.POWER_FLOWS_KW))
    assert series["columns"] == ["time", "Load", "PV", "Gensets", "Battery (+ discharge)"]
    assert len(series["values"]) == 96     # 15-min intervals of the day (gaps are nulls)
    rows = [row for row in series["values"] if None not in row]
    assert len(rows) >= 88
    for _, load, pv, gen, bat in rows:
        assert load == pytest.approx(pv + gen + bat, abs=1e-6)   # camp balance, kW


def test_site_variable_lists_the_site(day):
    (series,) = run(day, q.SITE_TAG_VALUES)
    assert [v[1] for v in series["values"]] == [SITE.name]


def test_other_site_sees_nothing(day):
    query = q.render(q.FUEL_L, START, END, INTERVAL, {"site": "other-camp"})
    assert run(day, query) == []


def test_plant_health_panels_show_what_they_say(day):
    """Oil pressure only while running (a stopped engine's 0 kPa would paint the panel red),
    three named line voltages in the 400 V band, frequency within the 50 Hz band."""
    health = next(d for d in DASHBOARDS if d.uid == "camp-plant-health")
    running = {r.device for r in day[2] if r.measurement == "genset" and r.fields.get("running") == 1}
    oil = run(day, _render(health, q.GENSET_OIL_PRESSURE_KPA))
    sensed = running - {"dg-3"} if day[1] == "dashboards_handmade" else running   # dg-3: no sensors
    assert running and {s["tags"]["device"] for s in oil} == sensed
    assert all(v is None or v > 250 for s in oil for _, v in s["values"])
    (volts,) = run(day, _render(health, q.METER_VOLTAGES_V))
    assert volts["columns"] == ["time", "L1-L2", "L2-L3", "L3-L1"]
    assert all(380 < v < 410 for row in volts["values"] for v in row[1:] if v is not None)
    freq = [v for s in run(day, _render(health, q.METER_FREQUENCY_HZ)) for _, v in s["values"]]
    assert freq and all(49.5 <= v <= 50.5 for v in freq if v is not None)
