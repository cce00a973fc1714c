"""The service is SIGKILLed: the devices fall back to their own safe mode within their revert
time (gensets to auto, PV limits to 100 %, battery limits to rated), and a restarted service
sends what the dead one had spooled.

Everything as an operator runs it: `microgrid simulate-camp` serves the camp at 20x over Modbus
TCP, `microgrid run` (real clock, control enabled) runs against it with its InfluxDB unreachable
(so every point stays in the spool), is SIGKILLed once it has taken the gensets over, and is
started again with a real influxd behind the same spool.
"""

from __future__ import annotations

import asyncio
import signal
from collections import defaultdict
from datetime import datetime, timezone

import pytest
from service_testkit import get_json, influx_rows, start_cli, status_url_from, wait_for, write_site_file
from testkit import free_ports

from microgrid.clock import RealClock
from microgrid.config import load_site
from telemetry.historian import Spool
from telemetry.historian.lineprotocol import parse_lines
from telemetry.poller import Poller

pytestmark = pytest.mark.integration

SPEED = 20.0  #: simulated seconds per wall second of the camp
GENSET_REVERT_S = 300.0  #: VirtualCamp's heartbeat of supervisory genset modes [simulated s]
MARGIN_WALL_S = 10.0  #: observation slack on a loaded machine [wall s]
DB = "camp"


def _read_camp(site) -> dict[str, dict]:
    """Every device's decoded values, read over Modbus TCP (the project's own poller)."""
    async def read():
        poller = Poller(site, clock=RealClock())
        try:
            cycle = await poller.poll_all()
        finally:
            await poller.close()
        return cycle.values
    return asyncio.run(read())


def _supervised(values: dict[str, dict], site) -> list[str]:
    """What the supervisor holds over the camp now (empty: everything in its own safe mode)."""
    out = [f"{g.name} mode {values[g.name]['mode']}" for g in site.gensets
           if values[g.name].get("mode") != "auto"]
    out += [f"{a.name} limit {values[a.name]['power_limit_pct']} %" for a in site.pv_arrays
            if values[a.name].get("power_limit_pct") != 100.0]
    for b in site.batteries:
        v = values[b.name]
        if v.get("charge_limit_kw") != b.charge_power_kw or \
                v.get("discharge_limit_kw") != b.discharge_power_kw:
            out.append(f"{b.name} limits {v.get('charge_limit_kw')}/{v.get('discharge_limit_kw')} kW")
    return out


def _spooled(path) -> dict[tuple, set[int]]:
    """``{(measurement, tags): {time ns}}`` of every point queued in the spool file."""
    spool = Spool(path)
    try:
        batches = spool.peek(10**6)
    finally:
        spool.close()
    out: dict[tuple, set[int]] = defaultdict(set)
    for b in batches:
        for measurement, tags, _fields, t in parse_lines(b.payload):
            out[(measurement, tuple(tags))].add(t)
    return out


def _stop(proc, sig=signal.SIGTERM, timeout_s: float = 30.0) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
    return proc.wait(timeout=timeout_s)


def test_sigkill_leaves_devices_in_safe_mode_and_the_restart_sends_the_spool(
        influxd_factory, tmp_path):
    # every device polled each second, so the dead service leaves readings behind
    site_file = write_site_file(tmp_path / "camp.toml", control_mode="enabled",
                                replace={'profile = "': 'poll_interval_s = 1, profile = "'})
    site = load_site(site_file)
    spool = tmp_path / "spool.db"
    closed_port = free_ports(1)[0]  # nothing listens: InfluxDB "down"
    camp_log, run_log, rerun_log = (tmp_path / n for n in ("camp.log", "run.log", "rerun.log"))
    camp = start_cli("simulate-camp", "--site", str(site_file), "--speed", str(SPEED),
                     "--print-every", "0", log=camp_log)
    procs = [camp]
    try:
        wait_for(lambda: "serving" in camp_log.read_text(), 60, "camp serving", camp, camp_log)
        assert _supervised(_read_camp(site), site) == []  # the camp starts in its own safe mode

        service = start_cli("run", "--site", str(site_file), "--store",
                            f"influx1://127.0.0.1:{closed_port}/{DB}?timeout_s=2",
                            "--spool", str(spool), "--control", "enabled",
                            "--strategy", "load-following", "--status-port", "0", log=run_log)
        procs.append(service)
        url = wait_for(lambda: status_url_from(run_log), 60, "service start line", service, run_log)
        assert "store not reachable at start-up" in run_log.read_text()

        status = wait_for(lambda: (st := get_json(url))["polls"] >= 3 and st, 30, "polls",
                          service, run_log)
        assert all(d["online"] for d in status["devices"].values()), status["devices"]
        assert status["spool"]["spool_points"] > 0 and status["spool"]["sent_points"] == 0

        # the service takes the camp over: the gensets in supervised modes; kill it right then
        def gensets_held():
            values = _read_camp(site)
            return any(h.startswith("dg-") for h in _supervised(values, site)) and values

        held = wait_for(gensets_held, 120, "setpoints obeyed by the camp", service, run_log,
                        every_s=0.1)
        # revert times written where the device offers one (PV, battery): the control default
        written = {(n, k): v[k] for n, v in held.items() for k in ("power_limit_revert_s",
                                                                   "limits_revert_s") if k in v}
        assert len(written) == len(site.pv_arrays) + len(site.batteries), written
        assert set(written.values()) == {300.0}, written
        revert = max([GENSET_REVERT_S, *written.values()])
        killed_at = datetime.now(timezone.utc)
        service.kill()  # SIGKILL: no clean-up at all
        assert service.wait(timeout=30) == -signal.SIGKILL

        # the devices fall back on their own within the revert time
        wait_for(lambda: not _supervised(_read_camp(site), site), revert / SPEED + MARGIN_WALL_S,
                 "devices back in their own safe mode", camp, camp_log, every_s=0.25)

        # what the dead service produced is in the spool, nothing of it sent
        before = _spooled(spool)
        camp_key = ("camp", (("site", site.name),))
        assert len(before[camp_key]) >= 2
        assert all(t < killed_at.timestamp() * 1e9 for t in before[camp_key])

        # restart against a real InfluxDB with the same spool: the backlog goes out
        server = influxd_factory()
        server.create_database(DB)
        rerun = start_cli("run", "--site", str(site_file), "--store",
                          f"influx1://127.0.0.1:{server.http_port}/{DB}", "--spool", str(spool),
                          "--control", "enabled", "--strategy", "load-following",
                          "--status-port", "0", log=rerun_log)
        procs.append(rerun)
        url = wait_for(lambda: status_url_from(rerun_log), 60, "restart line", rerun, rerun_log)
        n_camp = len(before[camp_key])
        wait_for(lambda: len(influx_rows(server.url, DB, 'SELECT * FROM "camp" WHERE time <= '
                                         f"{int(killed_at.timestamp() * 1e9)}")) >= n_camp,
                 60, "spooled camp points in InfluxDB", rerun, rerun_log)
        assert get_json(url)["spool"]["store_reachable"] is True
        assert _stop(rerun) == 0
        assert "stopped" in rerun_log.read_text()
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                _stop(p, signal.SIGTERM)

    # every point spooled before the kill is in InfluxDB, once
    for (measurement, tags), spooled_times in sorted(before.items()):
        where = " AND ".join(f""""{k}" = '{v}'""" for k, v in tags)
        got = [r["time"] for r in influx_rows(server.url, DB,
                                               f'SELECT * FROM "{measurement}" WHERE {where}')]
        assert len(got) == len(set(got)), (measurement, tags)
        assert spooled_times <= set(got), (measurement, tags, len(spooled_times - set(got)))
    camp_rows = influx_rows(server.url, DB, 'SELECT * FROM "camp" WHERE time <= '
                            f"{int(killed_at.timestamp() * 1e9)}")
    assert {r["time"] for r in camp_rows} == before[camp_key]
