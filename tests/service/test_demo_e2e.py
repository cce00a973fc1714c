"""End to end: the demo for one simulated day on the event clock.

The virtual camp over Modbus TCP, the service (poll, forecast, MILP plan, control enabled),
the SQLite store, then the summary, the report and the dashboards export.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from microgrid.cli.demo import EXAMPLE_SITE, summary_text, write_outputs
from microgrid.demo import DemoOptions, run_demo
from microgrid.simulator.settings import load_camp
from telemetry.historian import open_historian

#: The first test pays for the demo day (the module's fixture): about 4 min on a quiet machine,
#: more when the 2 cores are shared; the suite's default guard (300 s) is too tight for it.
pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    site, sim = load_camp(EXAMPLE_SITE)
    result = asyncio.run(run_demo(site, sim, DemoOptions(days=1.0, out=out)))
    write_outputs(site, result)
    return site, result


@pytest.mark.integration
@pytest.mark.slow
def test_demo_day_serves_the_camp_and_beats_load_following(demo):
    site, r = demo
    s = r.summary
    assert r.unserved_kwh == pytest.approx(0.0, abs=1e-6)
    assert r.plans == 96 and r.fallbacks == 0          # one plan per quarter hour
    assert s.completeness_pct > 99.0
    assert s.load_kwh == pytest.approx(s.pv_kwh + s.genset_kwh + s.battery_discharge_kwh
                                       - s.battery_charge_kwh, rel=0.01)
    # the point of the project: less diesel than load following on the same simulated day,
    # counting the battery energy each run used up (the two end the day at different SOCs)
    ours_l, theirs_l = s.fuel_l + r.soc_change_l, r.baseline_fuel_l + r.baseline_soc_change_l
    assert ours_l < theirs_l
    # the summary leads with it, and says why the raw renewable fractions differ
    lines = summary_text(r, 1.0).splitlines()
    assert lines[1].split()[:3] == ["diesel", "saved", f"{theirs_l - ours_l:.0f}"]
    assert "counting the stored energy each run used up" in lines[1]
    text = "\n".join(lines)
    assert f"raw {s.renewable_fraction_pct:.1f} %" in text and "compare like with like" in text


@pytest.mark.integration
@pytest.mark.slow
def test_demo_renewable_fraction_within_a_point_of_load_following(demo):
    """Compared like with like (the stored energy each run used up counted), the fuel-minimising
    plan keeps the renewable fraction of load following within a point. It cannot beat it on the
    example camp: load following takes PV first, then the battery, and runs diesel only for the
    rest, and this camp's PV never exceeds what it can take, so no dispatch makes fewer genset kWh;
    the MILP saves diesel by running gensets nearer full load and storing the rest, losing a little
    in the battery (README, "Testing")."""
    _, r = demo
    assert abs(r.renewable_fraction_adjusted_pct - r.baseline_renewable_fraction_adjusted_pct) <= 1.0


@pytest.mark.integration
@pytest.mark.slow
def test_demo_setpoints_were_written_and_obeyed(demo):
    site, r = demo
    assert r.setpoints_written > 100
    start, end = r.summary.period.start_utc, r.summary.period.end_utc
    with open_historian(r.store) as store:
        plan = store.query("plan", ["gensets_online"], start, end,
                           tags={"site": site.name, "strategy": "milp"})
        camp = store.query("camp", ["gensets_online"], start, end + timedelta(minutes=15),
                           tags={"site": site.name}, agg="mean", interval="15m")
        written = store.query("setpoint", ["accepted"], start, end, tags={"site": site.name})
    assert len(plan) == 96
    # what the camp ran in each quarter hour is what the plan asked for in (nearly) all of them
    joined = pd.concat([plan["gensets_online"], camp["gensets_online"]], axis=1,
                       keys=["plan", "camp"]).dropna()
    assert len(joined) >= 90
    agree = np.isclose(joined["plan"], joined["camp"], atol=0.34)
    assert agree.mean() >= 0.9, joined[~agree]
    assert written["accepted"].sum() == r.setpoints_written


@pytest.mark.integration
@pytest.mark.slow
def test_demo_writes_report_and_dashboards(demo):
    _, r = demo
    for fmt in ("html", "pdf", "csv", "xlsx"):
        assert (r.out / f"report.{fmt}").stat().st_size > 1000
    assert f"{r.summary.fuel_l:,.0f}" in (r.out / "report.html").read_text().replace("\u202f", ",") \
        or f"{r.summary.fuel_l:.0f}" in (r.out / "report.html").read_text()
    dashboards = sorted((r.out / "grafana" / "dashboards").glob("*.json"))
    assert [d.stem for d in dashboards] == ["camp-environment", "camp-fuel", "camp-generators", "camp-overview",
                                            "camp-plant-health", "mission-overview"]
    assert all(json.loads(d.read_text())["panels"] for d in dashboards)
    assert (r.out / "grafana" / "provisioning" / "datasources").is_dir()
    assert (r.out / "grafana" / "provisioning" / "alerting" / "camp-alerts.yaml").is_file()


@pytest.mark.integration
@pytest.mark.slow
def test_mission_report_on_the_demo_store(demo, tmp_path, capsys):
    """`microgrid report --mission` on the embedded store after the demo: the camp the demo ran is
    its own report's row, the other camps of the example mission are flagged, never zero."""
    import csv

    from microgrid.cli import main

    site, r = demo
    mission = EXAMPLE_SITE.parents[1] / "missions" / "example-mission.toml"
    assert main(["report", "--mission", str(mission), "--period", "2026-11", "--store", r.store,
                 "--out", str(tmp_path / "mission.csv")]) == 0
    assert main(["report", "--site", str(EXAMPLE_SITE), "--period", "2026-11", "--store", r.store,
                 "--out", str(tmp_path / "camp.csv")]) == 0
    out = capsys.readouterr().out
    assert "mission UNMISS 2026-11" in out and "bor: no data in 2026-11" in out

    def read(path):
        with path.open(newline="") as fh:
            return list(csv.DictReader(fh))
    mission_rows, camp_rows = read(tmp_path / "mission.csv"), read(tmp_path / "camp.csv")
    camp = {(row["section"], row["metric"]): row["value"] for row in camp_rows if row["item"] == ""}
    by_camp = {(row["camp"], row["metric"]): row["value"] for row in mission_rows if row["section"] == "camp"}
    figures = {(row["section"], row["metric"]): row["value"] for row in mission_rows if row["section"] != "camp"}
    for section, metric in (("energy", "load_kwh"), ("energy", "pv_kwh"), ("energy", "genset_kwh"),
                            ("diesel", "fuel_l"), ("emissions", "co2_t"), ("avoided", "fuel_avoided_l"),
                            ("renewables", "renewable_fraction_pct")):
        assert by_camp[(site.name, metric)] == camp[(section, metric)], metric
        assert figures[(section, metric)] == camp[(section, metric)], metric  # the only camp with data
    assert float(camp[("diesel", "fuel_l")]) > 0
    for other in ("bor",):
        assert by_camp[(other, "fuel_l")] == "" and by_camp[(other, "flag")] == "no data in 2026-11"


def test_demo_prints_fuel_stock_autonomy_and_deliveries(demo):
    """The tanker of the example's virtual camp comes 10 h into the day: the service finds it in
    the tank levels, the summary prints stock, days of autonomy and the delivery, and the report
    has the fuel-logistics section (docs/architecture.md §12)."""
    site, r = demo
    f = r.fuel
    assert f.stock.stock_l > 40000 and 0 < f.autonomy_days < 100
    [(when, litres)] = r.deliveries
    assert r.delivered_truth_l == 30000.0 and abs(litres - r.delivered_truth_l) <= f.stock.tolerance_l
    text = summary_text(r, 1.0)
    assert f"fuel on site           {f.stock.stock_l:8,.0f} L" in text
    assert f"days of autonomy       {f.autonomy_days:.1f} days at the plan's" in text
    assert f"deliveries             1: {when:%Y-%m-%d %H:%M} UTC {litres:,.0f} L" in text
    logistics = r.summary.fuel_logistics
    assert logistics.deliveries == 1 and logistics.delivered_l == pytest.approx(litres)
    assert r.summary.convoys_avoided == pytest.approx(r.summary.fuel_avoided_l / 30000.0)
    html = (r.out / "report.html").read_text()
    assert "Diesel delivered" in html and "Convoys avoided (litres avoided / 30,000 L)" in html
    heads = ("fuel", "days", "deliveries", "convoys", "alarms")
    print("\n" + "\n".join(line for line in text.splitlines() if line.split()[:1] and line.split()[0] in heads))
