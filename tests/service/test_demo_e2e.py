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
    assert s.fuel_l + r.soc_change_l < r.baseline_fuel_l + r.baseline_soc_change_l
    text = summary_text(r, 1.0)
    assert "renewable fraction" in text and "avoided" in text


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="not met (issue 6, blocked on a decision): load following takes "
                   "PV first, then the battery, and runs diesel only for the rest, so on the example camp, "
                   "whose PV never exceeds what it can take, no dispatch makes fewer genset kWh; the "
                   "fuel-minimising MILP runs gensets nearer full load and stores the rest, losing a little "
                   "renewable fraction in the battery (27.9 % against 28.1 %, SOC-adjusted). With a PV "
                   "surplus (bench/bench_pv_surplus.py) the two stay within a few tenths of a point")
def test_demo_renewable_fraction_above_load_following(demo):
    _, r = demo
    assert r.renewable_fraction_adjusted_pct > r.baseline_renewable_fraction_adjusted_pct


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
    assert [d.stem for d in dashboards] == ["camp-environment", "camp-generators", "camp-overview"]
    assert all(json.loads(d.read_text())["panels"] for d in dashboards)
    assert (r.out / "grafana" / "provisioning" / "datasources").is_dir()
