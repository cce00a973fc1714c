"""Control against the virtual camp's Modbus servers on loopback (real peers, manual clock)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import datetime, timezone

import pytest
from testkit import EXAMPLE_SITE, example_site

from microgrid.clock import ManualClock
from microgrid.config import load_site
from microgrid.plant import Setpoints
from microgrid.simulator.camp import VirtualCamp
from microgrid.simulator.server import serve_camp
from microgrid.simulator.settings import load_simulator_settings
from telemetry.connection import Connections
from telemetry.control import Controller
from telemetry.control_policy import Desired, decide, rating_image, readback_ok
from telemetry.readplan import merge_results, profile_reads
from telemetry.registers import decode, load_profile

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)
SIM = load_simulator_settings(EXAMPLE_SITE)


class Rig:
    """Virtual camp + its servers + a controller's connections, on one manual clock."""

    def __init__(self, genset_revert_s=300.0):
        self.site = example_site()
        self.clock = ManualClock(T0)
        self.camp = VirtualCamp(self.site, SIM, self.clock, genset_revert_s=genset_revert_s)
        self.commands: list[tuple[str, str, object]] = []
        self.ignore: set[tuple[str, str]] = set()     # (device, point) the camp pretends to obey
        real = self.camp.command

        def command(name, point, value):
            self.commands.append((name, point, value))
            if (name, point) not in self.ignore:
                real(name, point, value)
        self.camp.command = command
        self.connections = Connections(self.site)

    def controller(self, **kw) -> Controller:
        kw.setdefault("mode", "enabled")
        return Controller(self.site, clock=self.clock, connections=self.connections, **kw)

    async def served(self, name: str) -> dict:
        """What the device serves now, read over Modbus and decoded."""
        device = self.site.device(name)
        profile = load_profile(device.modbus.profile)
        link = self.connections.for_device(device)
        reads = profile_reads(profile)
        results = [await link.read(device.modbus.unit_id, r.address, r.count, function=profile.function)
                   for r in reads]
        return decode(profile, merge_results(reads, results))


def run(scenario, **rig_kw):
    async def main():
        rig = Rig(**rig_kw)
        rig.servers = await serve_camp(rig.site, rig.camp)
        try:
            await scenario(rig)
        finally:
            await rig.connections.close_all()
            await rig.servers.stop()
    asyncio.run(main())


def by_point(readings):
    return {(r.tags["device"], r.tags["point"]): dict(r.fields) for r in readings}


# ---------------------------------------------------------------------------------------- pure

def test_decide_clamps_to_site_then_profile_and_refuses_garbage():
    site = load_site(EXAMPLE_SITE)
    dg, bess = load_profile("dse_genset"), load_profile("sunspec_storage")
    img = rating_image(bess, site.device("bess-1"))
    d = decide(site, dg, Desired("dg-1", "base_load_kw", 1000.0), None)
    assert (d.value, d.clamped, d.plan.writes[0].registers) == (400.0, True, (4000,))
    d = decide(site, dg, Desired("dg-1", "base_load_kw", 10.0), None)
    assert (d.value, d.clamped) == (120.0, True)                         # min load 30 % of 400
    d = decide(site, bess, Desired("bess-1", "charge_limit_kw", -5.0), img)
    assert (d.value, d.clamped) == (0.0, True)
    d = decide(site, bess, Desired("bess-1", "discharge_limit_kw", 250.0), img)
    assert d.plan.writes[0].registers == (500,)                         # 50.0 % of 500 kW, SF -1
    for bad in (float("nan"), float("inf"), "50", None):
        assert not decide(site, bess, Desired("bess-1", "charge_limit_kw", bad), img).accepted
    assert "not one of" in decide(site, dg, Desired("dg-1", "mode", "manual"), None).refused
    assert "writable" in decide(site, dg, Desired("dg-1", "running", 1.0), None).refused
    assert not decide(site, None, Desired("ghost", "mode", "run"), None).accepted


def test_readback_tolerates_one_register_step_only():
    site = load_site(EXAMPLE_SITE)
    pv = load_profile("sunspec_inverter")
    d = decide(site, pv, Desired("pv-north", "power_limit_pct", 42.37), None)
    image = {w.address + i: r for w in d.plan.writes for i, r in enumerate(w.registers)}
    image.update(rating_image(pv, site.device("pv-north")))
    image[pv.point("power_limit_pct").address] = 424                    # 42.4 %: rounding
    assert readback_ok(pv, d, image) == (True, 42.4)
    image[pv.point("power_limit_pct").address] = 426                    # 42.6 %: not ours
    assert readback_ok(pv, d, image)[0] is False


# --------------------------------------------------------------------------------- integration

@pytest.mark.integration
def test_enabled_writes_are_obeyed():
    async def scenario(rig):
        c = rig.controller()
        sp = Setpoints.default(rig.site).with_(
            genset_mode={"dg-1": "run"}, genset_kw={"dg-1": 250.0}, pv_limit_pct={"pv-north": 42.37},
            battery_charge_limit_kw={"bess-1": 250.0}, battery_discharge_limit_kw={"bess-1": 123.4})
        readings = await c.apply(sp)
        assert all(r.fields["accepted"] == 1 and r.fields["dry_run"] == 0 for r in readings)
        rig.clock.advance(120)
        dg = await rig.served("dg-1")
        assert (dg["mode"], dg["running"], dg["base_load_kw"], dg["power_kw"]) == ("run", 1, 250.0, 250.0)
        assert (await rig.served("pv-north"))["power_limit_pct"] == 42.4
        assert (await rig.served("pv-north"))["power_limit_revert_s"] == 300
        bess = await rig.served("bess-1")
        assert bess["charge_limit_kw"] == 250.0
        assert bess["discharge_limit_kw"] == pytest.approx(123.5)       # 24.7 % of 500 kW
        rig.clock.advance(30)                                            # past min_interval_s
        readings = await c.apply(sp.with_(genset_mode={"dg-1": "stop"}))
        assert by_point(readings)[("dg-1", "mode")]["value"] == 0        # DSE code of stop
        rig.clock.advance(60)
        dg = await rig.served("dg-1")
        assert (dg["mode"], dg["running"], dg["power_kw"]) == ("stop", 0, 0.0)
        assert c.status()["faults"] == {}
    run(scenario)


@pytest.mark.integration
def test_dry_run_writes_nothing_but_records():
    async def scenario(rig):
        c = rig.controller(mode=None)                                    # site: dry_run
        assert c.dry_run
        before = {d.name: await rig.served(d.name) for d in rig.site.devices}
        sp = Setpoints.default(rig.site).with_(genset_mode={"dg-1": "run"}, pv_limit_pct={"pv-north": 10.0})
        readings = await c.apply(sp)
        assert rig.commands == [] and c.writes == 0
        assert rig.camp.setpoints == Setpoints.default(rig.site)
        assert (await rig.served("pv-north"))["power_limit_pct"] == before["pv-north"]["power_limit_pct"] == 100.0
        assert (await rig.served("dg-1"))["mode"] == "auto"
        points = by_point(readings)
        assert points[("pv-north", "power_limit_pct")] == pytest.approx(
            {"value": 10.0, "requested": 10.0, "accepted": 1.0, "clamped": 0.0, "dry_run": 1.0,
             "heartbeat": 0.0, "rate_limited": 0.0, "ramped": 0.0})
        assert points[("dg-1", "mode")]["value"] == 2.0
        assert all(r.fields["dry_run"] == 1 and r.measurement == "setpoint"
                   and r.tags["site"] == "malakal" for r in readings)
        # the status never calls a point that was never written confirmed
        status = c.status()["devices"]
        for name, point in (("pv-north", "power_limit_pct"), ("dg-1", "mode")):
            shown = status[name]["points"][point]
            assert (shown["state"], shown["confirmed"], shown["written_at"]) == ("would write", False, None)
        rig.clock.advance(5)
        assert await c.apply(sp) == []                                   # nothing new to say
    run(scenario)


@pytest.mark.integration
def test_clamped_to_site_limits():
    async def scenario(rig):
        c = rig.controller(min_interval_s=0)
        readings = await c.apply(Setpoints.default(rig.site).with_(
            genset_mode={"dg-1": "run", "dg-2": "run"}, genset_kw={"dg-1": 1000.0, "dg-2": 10.0},
            battery_charge_limit_kw={"bess-1": -50.0}, pv_limit_pct={"pv-north": 250.0}))
        points = by_point(readings)
        assert (points[("dg-1", "base_load_kw")]["value"], points[("dg-1", "base_load_kw")]["clamped"]) == (400.0, 1)
        dg2 = points[("dg-2", "base_load_kw")]
        assert (dg2["value"], dg2["requested"]) == (120.0, 10.0)
        assert points[("bess-1", "charge_limit_kw")]["value"] == 0.0
        assert points[("pv-north", "power_limit_pct")]["value"] == 100.0
        assert ("dg-1", "base_load_kw", 400.0) in rig.commands
        assert ("dg-2", "base_load_kw", 120.0) in rig.commands
        assert (await rig.served("bess-1"))["charge_limit_kw"] == 0.0
    run(scenario)


@pytest.mark.integration
def test_non_writable_points_refused_never_written():
    async def scenario(rig):
        pv = load_profile("sunspec_inverter")
        locked = dataclasses.replace(pv, points=tuple(
            dataclasses.replace(p, access="R") if p.field == "power_limit_pct" else p for p in pv.points))
        c = rig.controller(profiles={"pv-north": locked})
        readings = await c.apply(Setpoints.default(rig.site).with_(
            pv_limit_pct={"pv-north": 50.0, "camp-main": 50.0, "pv-ghost": 50.0}))
        points = by_point(readings)
        for key in (("pv-north", "power_limit_pct"), ("camp-main", "power_limit_pct"),
                    ("pv-ghost", "power_limit_pct")):
            assert points[key]["accepted"] == 0 and "value" not in points[key]
        assert not any(name in ("pv-north", "camp-main", "pv-ghost") and point == "power_limit_pct"
                       for name, point, _ in rig.commands)
        assert rig.camp.setpoints.pv_limit_pct["pv-north"] == 100.0
    run(scenario)


@pytest.mark.integration
def test_readback_mismatch_retried_then_flagged_then_cleared():
    async def scenario(rig):
        rig.ignore.add(("pv-north", "power_limit_pct"))                  # the inverter ignores it
        c = rig.controller(readback_retries=2)
        readings = await c.apply(Setpoints.default(rig.site).with_(pv_limit_pct={"pv-north": 40.0}))
        r = by_point(readings)[("pv-north", "power_limit_pct")]
        assert (r["accepted"], r["fault"], r["attempts"]) == (0, 1, 3)
        assert rig.commands.count(("pv-north", "power_limit_pct", 40.0)) == 3   # 1 + 2 retries
        status = c.status()
        assert status["devices"]["pv-north"]["setpoint_fault"] is True
        assert "power_limit_pct" in status["faults"]["pv-north"]
        assert status["devices"]["pv-south"]["setpoint_fault"] is False
        assert json.loads(json.dumps(status)) == status                  # for the status endpoint
        assert status["devices"]["pv-north"]["points"]["power_limit_pct"]["confirmed"] is False
        rig.clock.advance(10)                                            # within min_interval_s
        readings = await c.apply(Setpoints.default(rig.site).with_(pv_limit_pct={"pv-north": 40.0}))
        assert by_point(readings)[("pv-north", "power_limit_pct")]["rate_limited"] == 1
        rig.ignore.clear()
        rig.clock.advance(30)
        readings = await c.apply(Setpoints.default(rig.site).with_(pv_limit_pct={"pv-north": 40.0}))
        assert by_point(readings)[("pv-north", "power_limit_pct")]["accepted"] == 1
        assert c.status()["faults"] == {}
        assert (await rig.served("pv-north"))["power_limit_pct"] == 40.0
    run(scenario)


@pytest.mark.integration
def test_offline_device_flagged_others_written():
    async def scenario(rig):
        c = rig.controller(readback_retries=1)
        rig.servers.set_offline("bess-1")
        readings = await c.apply(Setpoints.default(rig.site).with_(
            battery_discharge_limit_kw={"bess-1": 100.0}, pv_limit_pct={"pv-south": 70.0}))
        points = by_point(readings)
        assert points[("bess-1", "discharge_limit_kw")]["accepted"] == 0
        # its scale factors and rating could not be read: nothing is encoded, nothing written
        assert points[("bess-1", "discharge_limit_kw")]["attempts"] == 0
        assert points[("pv-south", "power_limit_pct")]["accepted"] == 1
        assert set(c.status()["faults"]) == {"bess-1"}
        assert "could not be read" in c.status()["faults"]["bess-1"]
        assert rig.camp.setpoints.battery_discharge_limit_kw["bess-1"] is None
    run(scenario)


@pytest.mark.integration
def test_rate_limit_heartbeat_and_ramp():
    async def scenario(rig):
        c = rig.controller(min_interval_s=10, heartbeat_s=30, revert_s=120,
                           max_step={"power_limit_pct": 25.0})
        base = Setpoints.default(rig.site)
        await c.apply(base)
        pv = lambda pct: base.with_(pv_limit_pct={"pv-north": pct})      # noqa: E731
        rig.clock.advance(5)
        r = by_point(await c.apply(pv(40.0)))
        assert r[("pv-north", "power_limit_pct")]["rate_limited"] == 1   # 5 s after the last write
        values = []
        for _ in range(3):                                               # ramp 100 -> 40 by 25
            rig.clock.advance(10)
            r = by_point(await c.apply(pv(40.0)))[("pv-north", "power_limit_pct")]
            values.append((r["value"], r["ramped"]))
        assert values == [(75.0, 1), (50.0, 1), (40.0, 0)]
        assert (await rig.served("pv-north"))["power_limit_pct"] == 40.0
        rig.clock.advance(10)
        assert await c.apply(pv(40.0)) == []                             # steady, heartbeat not due
        rig.clock.advance(30)
        beats = by_point(await c.apply(pv(40.0)))
        assert set(beats) == {("pv-north", "power_limit_pct")}           # only non-default values
        assert beats[("pv-north", "power_limit_pct")]["heartbeat"] == 1
    run(scenario)


@pytest.mark.integration
def test_devices_revert_when_the_controller_stops():
    async def scenario(rig):
        c = rig.controller(min_interval_s=10, heartbeat_s=30, revert_s=120)
        sp = Setpoints.default(rig.site).with_(genset_mode={"dg-1": "run"}, genset_kw={"dg-1": 200.0},
                                               pv_limit_pct={"pv-north": 50.0},
                                               battery_charge_limit_kw={"bess-1": 100.0})
        for _ in range(10):                                              # 5 min of heartbeats
            await c.apply(sp)
            rig.clock.advance(30)
        dg, pv = await rig.served("dg-1"), await rig.served("pv-north")
        assert (dg["mode"], dg["base_load_kw"], pv["power_limit_pct"]) == ("run", 200.0, 50.0)
        # the service dies: last heartbeat was 30 s ago; 80 s more is still within 120 s
        rig.clock.advance(80)
        assert (await rig.served("pv-north"))["power_limit_pct"] == 50.0
        rig.clock.advance(20)                                            # 130 s since the last write
        dg, pv, bess = [await rig.served(n) for n in ("dg-1", "pv-north", "bess-1")]
        assert (dg["mode"], dg["base_load_kw"]) == ("auto", 0.0)
        assert pv["power_limit_pct"] == 100.0
        assert bess["charge_limit_kw"] == 500.0
    run(scenario, genset_revert_s=120.0)


@pytest.mark.integration
def test_release_returns_devices_to_auto():
    async def scenario(rig):
        c = rig.controller()
        await c.apply(Setpoints.default(rig.site).with_(genset_mode={"dg-2": "run"},
                                                        pv_limit_pct={"pv-carport": 20.0}))
        readings = await c.release()                                     # no wait for the rate limit
        assert by_point(readings)[("dg-2", "mode")]["value"] == 1.0
        sp = rig.camp.setpoints
        assert sp.genset_mode == {"dg-1": "auto", "dg-2": "auto", "dg-3": "auto"}
        assert sp.pv_limit_pct == {"pv-north": 100.0, "pv-south": 100.0, "pv-carport": 100.0}
        assert sp.battery_discharge_limit_kw == {"bess-1": 500.0}       # rated = no limit
        assert c.status()["devices"]["dg-2"]["points"]["mode"]["value"] == "auto"
    run(scenario)
