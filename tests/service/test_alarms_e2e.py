"""Every alarm raised and cleared on the virtual camp by the running service, stored in a real
influxd through the spool, listed by ``microgrid alarms`` from influxd and from the embedded
store, and fired and resolved by its provisioned Grafana rule's InfluxQL (docs/architecture.md §12).

One run of 4 h 30 min (simulated, 60-s polls, the service in dry run so what the test does to the
camp holds). The site's thresholds are tightened so each rule trips in minutes:

====== ==============================================================================
0:00   45,200 L on site under a 23-day autonomy minimum (raised with the first plan: the plan
       burns about 2,100 L/d)
0:10   pv-carport stops answering (back at 0:40); dg-3 run at 20 kW by hand (wet stacking
       below its 75 kW minimum, 20-min limit; stopped at 1:00)
0:20   the grid at -1.5 Hz (back at 0:30); 0:35 at +12 % voltage (back at 0:45)
0:40   the optimizer falls back for every plan until 1:40 (2 in a row raise it)
0:50   devices report their own alarms until 1:10: dg-1 low oil pressure (GenComm page 8),
       bess-1 OVER_TEMP_ALARM (802 Evt1) and WARNING (713 Sta), pv-north OVER_TEMP (103 Evt1)
1:30   a tanker delivers 30,000 L (autonomy clears)
2:00   the planner crashes until 3:00: the 1:45 plan expires at 2:15 (30-min limit)
2:40   a 1,500 L/h leak from bulk-1 until 3:30 (unexplained loss over a 1-h window)
3:10   bess-1, discharging on its own (the gensets' auto start waits for a low SOC), passes its
       50 % floor; 3:30 dg-1 and dg-2 run at full load by hand and charge it back; auto at 4:00
3:40   influxd stops until 4:10 (more than 2,000 readings spooled: two plans and 30 min of polls)
====== ==============================================================================
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import datetime, timedelta

import pytest
from alert_testkit import firing
from service_testkit import SIM, START, camp_site, run_camp_service

from dashboards.alerts import alert_rules
from microgrid.cli import main
from microgrid.service.runner import ServiceOptions
from microgrid.service.wiring import open_store
from optimizer.fallback import fallback_plan
from optimizer.planner import make_planner
from telemetry.alarms.history import alarm_history
from telemetry.historian import open_historian

pytestmark = pytest.mark.integration

DB = "alarms_e2e"
END = timedelta(hours=4, minutes=30)


def h(hours: float) -> datetime:
    return START + timedelta(hours=hours)


class FlakyPlanner:
    """The real planner; the fallback plan for plans starting in [0:40, 1:40); a crash in [2:00, 3:00)."""

    def __init__(self, site):
        self.site, self.inner = site, make_planner(site, "load-following")

    def plan(self, inputs, state):
        t = inputs.time[0]
        if h(2.0) <= t < h(3.0):
            raise RuntimeError("the solver process died")
        if h(40 / 60) <= t < h(100 / 60):
            return fallback_plan(self.site, inputs, state, "test: the MILP failed")
        return self.inner.plan(inputs, state)


def _sites():
    site = camp_site()
    alarms = dataclasses.replace(site.alarms, wet_stacking_min=20, soc_floor_pct=50.0, autonomy_min_days=23.0,
                                 fallback_cycles=2, spool_backlog_points=2000, fuel_loss_window_h=1.0)
    site = dataclasses.replace(site, alarms=alarms)
    no_min = tuple(dataclasses.replace(g, min_load_pct=0.0) if g.name == "dg-3" else g for g in site.gensets)
    return site, dataclasses.replace(site, gensets=no_min)


def _events(server):
    async def at(run, fn):
        fn(run)

    def ev(fn):
        return lambda run: at(run, fn)

    async def influx_down(run):
        await asyncio.to_thread(server.stop)

    async def influx_up(run):
        await asyncio.to_thread(server.start)

    def device_alarms(run):
        run.camp.raise_alarm("dg-1", "dse_low_oil_pressure", 2)
        run.camp.raise_alarm("bess-1", "sunspec_over_temp_alarm", 2)
        run.camp.raise_alarm("bess-1", "sunspec_warning", 1)
        run.camp.raise_alarm("pv-north", "sunspec_over_temp", 2)

    def clear_device_alarms(run):
        for d in ("dg-1", "bess-1", "pv-north"):
            run.camp.clear_alarm(d)

    def charge(run):
        run.camp.fuel.set_leak(0.0)
        for g in ("dg-1", "dg-2"):
            run.camp.command(g, "mode", "run")
            run.camp.command(g, "base_load_kw", 400.0)

    m = timedelta(minutes=1)
    return {
        10 * m: ev(lambda r: (r.servers.set_offline("pv-carport"), r.camp.command("dg-3", "mode", "run"),
                              r.camp.command("dg-3", "base_load_kw", 20.0))),
        20 * m: ev(lambda r: setattr(r.camp, "grid_offset", (-1.5, 0.0))),
        30 * m: ev(lambda r: setattr(r.camp, "grid_offset", (0.0, 0.0))),
        35 * m: ev(lambda r: setattr(r.camp, "grid_offset", (0.0, 12.0))),
        40 * m: ev(lambda r: (r.servers.set_offline("pv-carport", False), setattr(r.camp, "grid_offset", (0.0, 0.0)))),
        50 * m: ev(device_alarms),
        60 * m: ev(lambda r: r.camp.command("dg-3", "mode", "stop")),
        70 * m: ev(clear_device_alarms),
        160 * m: ev(lambda r: r.camp.fuel.set_leak(1500.0)),
        210 * m: ev(charge),
        220 * m: influx_down,
        240 * m: ev(lambda r: [r.camp.command(g, "mode", "auto") for g in ("dg-1", "dg-2")]),
        250 * m: influx_up,
    }


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from telemetry.testing.influxd import InfluxdProcess
    tmp = tmp_path_factory.mktemp("alarms")
    server = InfluxdProcess(tmp / "influxd").start()
    try:
        server.create_database(DB)
        site, physics = _sites()
        sim = dataclasses.replace(SIM, fuel_delivery_first_h=1.5)
        store = open_store(f"influx1://127.0.0.1:{server.http_port}/{DB}?timeout_s=5", spool=tmp / "spool.db")
        done = asyncio.run(run_camp_service(
            site, store, END / timedelta(hours=1), planner=FlakyPlanner(site), events=_events(server),
            sim=sim, physics_site=physics, control_mode="dry_run", genset_revert_s=None,
            options=ServiceOptions(poll_tick_s=60.0, plan_max_age_s=1800.0)))
        embedded = tmp / "embedded.sqlite"
        with open_historian(f"sqlite:///{embedded}") as lite:   # the same readings, embedded
            lite.write(done.store.written)
        yield done, server, embedded
    finally:
        server.stop()


def _transitions(run_, server):
    done, _, _ = run_
    with open_historian(f"influx1://127.0.0.1:{server.http_port}/{DB}") as h_:
        hist = alarm_history(h_, done.site.name, START, START + END)
    out: dict[tuple[str, str], list[tuple[bool, datetime]]] = {}
    for t in hist.transitions:
        out.setdefault((t.device, t.code), []).append((t.raised, t.time))
    return out, hist


#: (device, code) → (raised within, cleared within): windows in hours from the start.
EXPECTED = {
    ("pv-carport", "device_offline"): ((10 / 60, 16 / 60), (40 / 60, 44 / 60)),
    ("dg-3", "wet_stacking"): ((30 / 60, 33 / 60), (60 / 60, 63 / 60)),
    ("bess-1", "frequency_out_of_band"): ((20 / 60, 22 / 60), (30 / 60, 32 / 60)),
    ("camp-main", "voltage_out_of_band"): ((35 / 60, 37 / 60), (40 / 60, 42 / 60)),  # 0:40 sets it back too
    ("service", "optimizer_fallback"): ((60 / 60, 62 / 60), (105 / 60, 107 / 60)),
    ("dg-1", "dse_low_oil_pressure"): ((50 / 60, 52 / 60), (70 / 60, 72 / 60)),
    ("bess-1", "sunspec_over_temp_alarm"): ((50 / 60, 52 / 60), (70 / 60, 72 / 60)),
    ("bess-1", "sunspec_warning"): ((50 / 60, 52 / 60), (70 / 60, 72 / 60)),
    ("pv-north", "sunspec_over_temp"): ((50 / 60, 52 / 60), (70 / 60, 72 / 60)),
    ("service", "plan_expired"): ((135 / 60, 137 / 60), (180 / 60, 182 / 60)),
    # the 1-h balance needs the start of its window past the delivery's pumping (until 2:30)
    ("fuel", "fuel_unexplained_loss"): ((185 / 60, 215 / 60), (235 / 60, 270 / 60)),
    ("service", "spool_backlog"): ((225 / 60, 250 / 60), (250 / 60, 255 / 60)),
    ("bess-1", "soc_below_floor"): ((185 / 60, 200 / 60), (210 / 60, 235 / 60)),
    ("fuel", "fuel_autonomy_low"): ((0, 30 / 60), (100 / 60, 130 / 60)),
}


def test_each_alarm_is_raised_and_cleared_on_the_virtual_camp(run):
    done, server, _ = run
    seen, _ = _transitions(run, server)
    assert all(" plan: RuntimeError: the solver process died" in e for e in done.service.state.errors)
    for key, ((r0, r1), (c0, c1)) in EXPECTED.items():
        events = seen.get(key)
        assert events, f"{key} never raised; seen: {sorted(seen)}"
        (raised, t_raise), (cleared, t_clear) = events[0], events[1] if len(events) > 1 else (None, None)
        assert raised and h(r0) <= t_raise <= h(r1), (key, t_raise)
        assert cleared is False and h(c0) <= t_clear <= h(c1), (key, events)
        assert t_raise < t_clear


def test_the_status_lists_what_is_active(run):
    done, _, _ = run
    at_55 = next(s for t, s in done.samples if t >= h(55 / 60))
    active = {(a["device"], a["code"]) for a in at_55["alarms"]}
    assert {("dg-1", "dse_low_oil_pressure"), ("pv-north", "sunspec_over_temp"),
            ("dg-3", "wet_stacking"), ("fuel", "fuel_autonomy_low")} <= active
    oil = next(a for a in at_55["alarms"] if a["code"] == "dse_low_oil_pressure")
    assert oil["severity"] == 2 and "shutdown alarm" in oil["message"]
    assert at_55["healthy"] is True                   # the plant's alarms: listed, service healthy
    fuel = at_55["fuel"]
    assert fuel["stock_l"] > 40000 and 0 < fuel["autonomy_days"] < 25


def test_the_delivery_is_found_with_its_litres_within_the_gauges_tolerance(run):
    done, _, _ = run
    [truth] = done.camp.fuel.deliveries
    [found] = done.store.of("fuel_delivery")
    tolerance = done.store.of("fuel")[-1].fields["tolerance_l"]
    assert truth.litres == 30000.0 and abs(found.fields["delivered_l"] - truth.litres) <= tolerance
    assert abs((found.time - truth.start).total_seconds()) <= 120


def test_every_grafana_rule_fires_while_its_alarm_is_active_and_resolves_after(run):
    done, server, _ = run
    seen, _ = _transitions(run, server)
    rules = {r.uid.removesuffix(f"-{done.site.name}"): r for r in alert_rules(done.site)}
    url = f"http://127.0.0.1:{server.http_port}"
    checked = set()
    for (device, code), events in seen.items():
        uid = "camp-device-alarm" if code.startswith(("sunspec_", "dse_", "victron")) else \
            f"camp-{code.replace('_', '-')}"
        rule = rules[uid]
        (_, t_raise), (_, t_clear) = events[0], events[1]
        assert (done.site.name, device, code) in firing(url, DB, rule, t_raise + timedelta(minutes=1)), (uid, device)
        assert (done.site.name, device, code) not in firing(url, DB, rule, t_clear + timedelta(minutes=1))
        checked.add(uid)
    assert checked == set(rules) - {"camp-service-silent"}     # every alarm's rule, on the camp


def test_microgrid_alarms_lists_the_same_from_influxd_and_the_embedded_store(run, capsys):
    done, server, embedded = run
    site_file = done.site.source
    window = ["--since", START.isoformat(), "--until", (START + END).isoformat(), "--json"]
    outputs = []
    for store in (f"influx1://127.0.0.1:{server.http_port}/{DB}", f"sqlite:///{embedded}"):
        assert main(["alarms", "--site", site_file, "--store", store, *window]) == 0
        outputs.append(json.loads(capsys.readouterr().out))
    influx, lite = outputs
    assert influx["events"] == lite["events"] and len(influx["events"]) >= 2 * len(EXPECTED)
    raised = [e for e in influx["events"] if e["event"] == "raised"]
    assert {("pv-carport", "device_offline"), ("fuel", "fuel_unexplained_loss")} <= {
        (e["device"], e["code"]) for e in raised}
    assert main(["alarms", "--site", site_file, "--store", f"sqlite:///{embedded}",
                 "--since", START.isoformat(), "--until", (START + END).isoformat()]) == 0
    text = capsys.readouterr().out
    assert "raised   critical  pv-carport   device_offline" in text and "cleared" in text

