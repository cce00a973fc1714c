"""The mission report: one row per camp and the mission's totals, equal to the sum of the camp reports.

Two camps of the example mission have simulated days in October 2026 (Bor with a 6-hour outage and
no fuel sensors), a third camp has no data at all. Pure checks on ``summarize_mission``, then the
CLI against a real influxd holding both camps, compared with each camp's own ``microgrid report``.
"""

from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from testkit import ROOT

from microgrid.cli import main
from microgrid.errors import ReportError
from microgrid.mission import load_mission
from microgrid.reports.mission import summarize_mission
from microgrid.reports.mission_export import write_mission_report
from microgrid.reports.period import parse_period
from microgrid.reports.source import frames_from_readings
from microgrid.reports.summary import summarize
from microgrid.simulator.history import Outage, simulate_history
from microgrid.simulator.settings import load_camp
from telemetry.historian.influx import InfluxV1Historian

START = datetime(2026, 10, 10, tzinfo=timezone.utc)
SUMMED = ("load_kwh", "pv_kwh", "genset_kwh", "battery_charge_kwh", "battery_discharge_kwh", "fuel_l",
          "fuel_estimated_l", "co2_t", "diesel_only_fuel_l", "fuel_avoided_l", "co2_avoided_t")


@pytest.fixture(scope="module")
def mission_file(tmp_path_factory) -> Path:
    """The example mission's two camps plus a third, "wau", that never reported."""
    folder = tmp_path_factory.mktemp("mission")
    wau = folder / "wau.toml"
    text = (ROOT / "sites" / "example-camp-bor.toml").read_text()
    wau.write_text(text.replace('name = "bor"', 'name = "wau"').replace("latitude = 6.21", "latitude = 7.7"))
    path = folder / "mission.toml"
    path.write_text(f'[mission]\nname = "UNMISS"\ntarget_renewable_fraction_pct = 80\ntarget_year = 2030\n'
                    f'[[camp]]\nsite_file = "{ROOT / "sites" / "example-camp.toml"}"\n'
                    f'[[camp]]\nsite_file = "{ROOT / "sites" / "example-camp-bor.toml"}"\n'
                    f'[[camp]]\nsite_file = "wau.toml"\n')
    return path


@pytest.fixture(scope="module")
def readings():
    """Roll-ups of two days of Malakal and of Bor (Bor: 6 h outage, fuel estimated)."""
    out = {}
    for name, kw in (("example-camp.toml", {}),
                     ("example-camp-bor.toml", {"outages": [Outage(START + timedelta(hours=30),
                                                                   START + timedelta(hours=36))],
                                                "metered_fuel": False})):
        site, sim = load_camp(ROOT / "sites" / name)
        out[site.name] = simulate_history(site, sim, START, 2.0, seed=5, sample_s=300,
                                          measurements={"energy", "genset_energy"}, **kw)
    return out


def camp_summaries(mission, readings):
    return {s.name: summarize(s, parse_period("2026-10", s.location.timezone), *frames_from_readings(readings[s.name]))
            for s in mission.camps if s.name in readings}


def test_mission_totals_are_the_sums_of_the_camp_reports(mission_file, readings):
    mission = load_mission(mission_file)
    frames = {name: frames_from_readings(r) for name, r in readings.items()}
    m = summarize_mission(mission, "2026-10", frames)
    camps = camp_summaries(mission, readings)
    assert [c.site.name for c in m.reporting] == ["malakal", "bor"]
    for c in m.reporting:
        assert c.summary == camps[c.site.name]  # each camp's row is its own report
    for name in SUMMED:
        assert getattr(m, name) == pytest.approx(sum(getattr(s, name) for s in camps.values()), rel=1e-12), name
    rf = 100 * (1 - m.genset_kwh / m.load_kwh)
    assert m.renewable_fraction_pct == pytest.approx(rf)
    assert min(s.renewable_fraction_pct for s in camps.values()) < rf < max(s.renewable_fraction_pct
                                                                           for s in camps.values())
    person_days = sum(s.headcount * s.days_with_data for s in camps.values())
    assert m.fuel_l_per_person_day == pytest.approx(m.fuel_l / person_days)
    assert m.convoys_avoided == pytest.approx(m.fuel_avoided_l / 30000.0)
    assert m.to_target_pts == pytest.approx(80.0 - rf)
    covered_h = sum(s.days_with_data * 24 for s in camps.values())
    assert m.completeness_pct == pytest.approx(100 * covered_h / (3 * 31 * 24))


def test_a_camp_without_data_is_flagged_and_not_counted(mission_file, readings):
    m = summarize_mission(load_mission(mission_file), "2026-10",
                          {name: frames_from_readings(r) for name, r in readings.items()})
    wau = m.camps[2]
    assert wau.summary is None and wau.flag == "no data in 2026-10"
    assert [c.site.name for c in m.flagged] == ["malakal", "bor", "wau"]  # two days of 31 are incomplete too
    assert m.camps[1].flag.startswith("incomplete: ")
    assert m.fuel_l == pytest.approx(sum(c.summary.fuel_l for c in m.reporting))


def test_a_store_error_is_the_camps_flag(mission_file, readings):
    frames = {"malakal": frames_from_readings(readings["malakal"]), "bor": ReportError("connection refused")}
    m = summarize_mission(load_mission(mission_file), "2026-10", frames)
    assert m.camps[1].flag == "store: connection refused"
    assert m.fuel_l == m.camps[0].summary.fuel_l


def test_no_camp_with_data_is_missing_never_zero(mission_file):
    m = summarize_mission(load_mission(mission_file), "2026-10", {})
    assert (m.fuel_l, m.renewable_fraction_pct, m.load_kwh, m.convoys_avoided) == (None, None, None, None)
    assert m.completeness_pct == 0.0


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "html", "pdf"])
def test_every_format_is_written(mission_file, readings, tmp_path, fmt):
    m = summarize_mission(load_mission(mission_file), "2026-10",
                          {name: frames_from_readings(r) for name, r in readings.items()})
    path = write_mission_report(m, fmt, tmp_path / f"mission.{fmt}")
    data = path.read_bytes()
    assert len(data) > 1000
    if fmt == "html":
        text = data.decode()
        assert "no data in 2026-10" in text and "target 80 % renewable by 2030" in text
        assert "data:image/png;base64," in text


def read_csv(path: Path) -> dict[tuple[str, str, str], str]:
    with path.open(newline="", encoding="utf-8") as fh:
        return {(r["section"], r.get("camp", r.get("item", "")), r["metric"]): r["value"] for r in csv.DictReader(fh)}


@pytest.mark.integration
def test_mission_report_on_influxd_equals_the_sum_of_the_camp_reports(mission_file, readings, influx_database,
                                                                      tmp_path, capsys):
    url, db = influx_database
    with InfluxV1Historian(url, db) as store:
        store.write([r for rs in readings.values() for r in rs])
    spec = f"influx1://{url.removeprefix('http://')}/{db}"
    assert main(["report", "--mission", str(mission_file), "--period", "2026-10", "--store", spec,
                 "--out", str(tmp_path / "mission.csv")]) == 0
    line = capsys.readouterr().out
    assert "mission UNMISS 2026-10, 3 camps" in line and "wau: no data in 2026-10" in line
    mission = read_csv(tmp_path / "mission.csv")
    per_camp = {}
    for site_file, name in (("example-camp.toml", "malakal"), ("example-camp-bor.toml", "bor")):
        out = tmp_path / f"{name}.csv"
        assert main(["report", "--site", str(ROOT / "sites" / site_file), "--period", "2026-10", "--store", spec,
                     "--out", str(out)]) == 0
        per_camp[name] = read_csv(out)
    section = {"load_kwh": "energy", "pv_kwh": "energy", "genset_kwh": "energy", "fuel_l": "diesel",
               "co2_t": "emissions", "fuel_avoided_l": "avoided"}
    total = "Mission UNMISS"
    for metric, sec in section.items():
        camps = [float(per_camp[n][(sec, "", metric)]) for n in ("malakal", "bor")]
        for name, value in zip(("malakal", "bor"), camps):
            assert float(mission[("camp", name, metric)]) == pytest.approx(value, abs=1e-3), (name, metric)
        assert float(mission[("camp", total, metric)]) == pytest.approx(sum(camps), abs=2e-3), metric
        assert float(mission[(sec, "", metric)]) == pytest.approx(sum(camps), abs=2e-3), metric
    assert mission[("camp", "wau", "fuel_l")] == "" and mission[("camp", "wau", "flag")] == "no data in 2026-10"
    load = sum(float(per_camp[n][("energy", "", "load_kwh")]) for n in ("malakal", "bor"))
    genset = sum(float(per_camp[n][("energy", "", "genset_kwh")]) for n in ("malakal", "bor"))
    assert float(mission[("renewables", "", "renewable_fraction_pct")]) == pytest.approx(100 * (1 - genset / load),
                                                                                          abs=1e-3)
