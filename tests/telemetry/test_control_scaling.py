"""A device's own scaling cannot fool control (issue 12, docs/architecture.md §8).

A SunSpec scale factor outside -10..10 (0x7FFF) or "not implemented" (0x8000), or one so coarse
(+2 on a percentage) that a 40 % limit would be held as 0 %, refuses that device's point as a
fault naming device, point and register; the other devices are still written; read-back compares
engineering values within the point's resolution; an exception with one device stays with it.

The integration tests serve the example camp over Modbus TCP on loopback, one inverter from a
register image whose scale-factor register holds the bad value (the virtual camp's own server,
fed a profile that serves it), and run the real :class:`telemetry.control.Controller`.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timezone

import pytest
from testkit import EXAMPLE_SITE, example_site

from microgrid.clock import ManualClock
from microgrid.config import load_site
from microgrid.plant import Setpoints
from microgrid.plant.nameplate import nameplate
from microgrid.simulator.camp import VirtualCamp
from microgrid.simulator.server import DeviceImage, Endpoint, serve_camp
from microgrid.simulator.settings import load_simulator_settings
from telemetry.connection import Connections
from telemetry.control import Controller
from telemetry.control_policy import Desired, decide, rating_image, readback_ok
from telemetry.registers import DeviceScalingError, Profile, decode, encode, load_profile, plan_write

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)
SITE = load_site(EXAMPLE_SITE)
INVERTER = load_profile("sunspec_inverter")
STORAGE = load_profile("sunspec_storage")
LIMIT = INVERTER.point("power_limit_pct")
SF_REGISTER = LIMIT.sf_address  # WMaxLimPct_SF of model 123


def _image(sf_raw: int) -> dict[int, int]:
    """The inverter's register image with WMaxLimPct_SF holding ``sf_raw`` (a 16-bit register)."""
    image = rating_image(INVERTER, SITE.device("pv-north"))
    image[SF_REGISTER] = sf_raw & 0xFFFF
    return image


# ---------------------------------------------------------------------------------------- pure

@pytest.mark.parametrize("sf_raw, words", [
    (0x7FFF, "scale factor 32767"), (0x8000, "not implemented"), (11, "outside SunSpec's -10..10"),
    (-11, "outside SunSpec's -10..10")])
def test_scale_factor_outside_sunspec_refuses_the_point_naming_it(sf_raw, words):
    with pytest.raises(DeviceScalingError) as err:
        plan_write(INVERTER, "power_limit_pct", 40.0, _image(sf_raw))
    assert words in str(err.value)
    assert f"register {SF_REGISTER}" in str(err.value) and "power_limit_pct" in str(err.value)
    d = decide(SITE, INVERTER, Desired("pv-north", "power_limit_pct", 40.0), _image(sf_raw))
    assert not d.accepted and d.fault
    assert "'pv-north'" in d.refused and "power_limit_pct" in d.refused and str(SF_REGISTER) in d.refused


def test_a_value_the_device_cannot_hold_is_refused_the_ones_it_can_are_written():
    # SF +2: one register step is 100 %; 40 % would be written as raw 0 and held as 0 %
    with pytest.raises(DeviceScalingError, match=r"asked 40 %, the device would hold 0"):
        plan_write(INVERTER, "power_limit_pct", 40.0, _image(2))
    assert plan_write(INVERTER, "power_limit_pct", 100.0, _image(2)).writes[0].registers == (1,)
    assert plan_write(INVERTER, "power_limit_pct", 0.0, _image(2)).writes[0].registers == (0,)
    # SF +1: 10 % steps; 42.37 % is not within the 1 % a percentage point may be off
    with pytest.raises(DeviceScalingError):
        plan_write(INVERTER, "power_limit_pct", 42.37, _image(1))
    # SF 0 (many real inverters): 1 % steps; 42.37 % -> 42 %, within the resolution of 1 %
    plan = plan_write(INVERTER, "power_limit_pct", 42.37, _image(0))
    assert (plan.writes[0].registers, plan.resolution) == ((42,), 1.0)
    # SF -1, the profile's: 0.1 % steps
    plan = plan_write(INVERTER, "power_limit_pct", 42.37, _image(-1))
    assert (plan.writes[0].registers, plan.resolution) == ((424,), pytest.approx(0.1))


def test_a_value_that_does_not_fit_its_register_is_refused():
    # SF -10: 100 % is raw 10^12, far beyond a 16-bit register
    with pytest.raises(DeviceScalingError, match="does not fit the register"):
        plan_write(INVERTER, "power_limit_pct", 100.0, _image(-10))


def test_a_rating_the_device_reports_unusably_refuses_the_percentage_point():
    image = rating_image(STORAGE, SITE.device("bess-1"))
    rating = STORAGE.point("discharge_rated_kw")
    image[rating.sf_address] = 0x7FFF                   # WDisChaRteMax's scale factor
    d = decide(SITE, STORAGE, Desired("bess-1", "discharge_limit_kw", 100.0), image)
    assert d.fault and "discharge_rated_kw" in d.refused and "'bess-1'" in d.refused


def test_decode_treats_an_unusable_scale_factor_as_missing():
    image = encode(INVERTER, {"ac_power_kw": 120.0, "power_limit_pct": 100.0})
    image[INVERTER.point("ac_power_kw").sf_address] = 0x7FFF
    image[SF_REGISTER] = 0x8000
    values = decode(INVERTER, image)
    assert values["ac_power_kw"] is None and values["power_limit_pct"] is None


def test_readback_compares_engineering_values_within_the_resolution():
    d = decide(SITE, INVERTER, Desired("pv-north", "power_limit_pct", 40.0), _image(-1))
    assert d.accepted and d.plan.resolution == pytest.approx(0.1)
    image = _image(-1)
    image[LIMIT.address] = 400
    assert readback_ok(INVERTER, d, image) == (True, 40.0)
    # the device switched to SF +2 and holds raw 0: 0 %, not the 40 % asked
    image = _image(2)
    image[LIMIT.address] = 0
    assert readback_ok(INVERTER, d, image) == (False, 0.0)
    image[LIMIT.address] = 1                            # 100 %
    assert readback_ok(INVERTER, d, image)[0] is False


# --------------------------------------------------------------------------------- integration

def _profile_serving_sf(profile: Profile, field: str, sf: int) -> Profile:
    """``profile`` whose simulator side serves scale factor ``sf`` for ``field``."""
    return dataclasses.replace(profile, points=tuple(
        dataclasses.replace(p, sf_value=sf) if p.field == field else p for p in profile.points))


def run_camp(scenario, *, bad: str, sf: int, connections_class=Connections):
    """The example camp on loopback, device ``bad``'s WMaxLimPct_SF served as ``sf``."""
    async def main():
        site = example_site()
        clock = ManualClock(T0)
        camp = VirtualCamp(site, load_simulator_settings(EXAMPLE_SITE), clock)
        others = dataclasses.replace(site, pv_arrays=tuple(a for a in site.pv_arrays if a.name != bad))
        servers = await serve_camp(others, camp)
        device = site.device(bad)
        served = _profile_serving_sf(load_profile(device.modbus.profile), "power_limit_pct", sf)
        endpoint = Endpoint(device.modbus.host, device.modbus.port,
                            [DeviceImage(bad, served, device.modbus.unit_id, camp, nameplate(device))])
        await endpoint.start()
        connections = connections_class(site)
        try:
            controller = Controller(site, clock=clock, connections=connections, mode="enabled",
                                    min_interval_s=0)
            await scenario(site, clock, camp, controller)
        finally:
            await connections.close_all()
            await endpoint.stop()
            await servers.stop()
    asyncio.run(main())


def _points(readings):
    return {(r.tags["device"], r.tags["point"]): dict(r.fields) for r in readings}


@pytest.mark.integration
@pytest.mark.parametrize("sf, words", [(0x7FFF, "scale factor 32767"), (-0x8000, "not implemented"),
                                       (2, "the device would hold 0")])
def test_a_device_serving_a_bad_scale_factor_is_flagged_the_others_are_written(sf, words):
    async def scenario(site, clock, camp, controller):
        setpoints = Setpoints.default(site).with_(
            pv_limit_pct={"pv-north": 40.0, "pv-south": 40.0}, genset_mode={"dg-1": "run"},
            genset_kw={"dg-1": 250.0})
        for tick in range(2):  # the fault does not stick to the image or spread on the next tick
            points = _points(await controller.apply(setpoints))
            north = points[("pv-north", "power_limit_pct")]
            assert north["accepted"] == 0 and "value" not in north, tick
            if tick == 0:  # (on the next tick they are already written: nothing to do)
                assert points[("pv-south", "power_limit_pct")]["accepted"] == 1
                # the faulty device's other points are still written and confirmed
                revert = points[("pv-north", "power_limit_revert_s")]
                assert revert["accepted"] == 1 and revert["fault"] == 0
            status = controller.status()
            assert status["devices"]["pv-north"]["setpoint_fault"] is True
            fault = status["devices"]["pv-north"]["points"]["power_limit_pct"]
            assert fault["state"] == "faulty" and words in fault["fault"]
            assert "'pv-north'" in fault["fault"] and f"register {SF_REGISTER}" in fault["fault"]
            assert set(status["faults"]) == {"pv-north"} and "could not be read" not in status["faults"]["pv-north"]
            clock.advance(60)
        # nothing reached pv-north's limit; pv-south and dg-1 obey
        assert camp.setpoints.pv_limit_pct["pv-north"] == 100.0
        assert camp.setpoints.pv_limit_pct["pv-south"] == 40.0
        assert camp.setpoints.genset_mode["dg-1"] == "run"
    run_camp(scenario, bad="pv-north", sf=sf)


@pytest.mark.integration
def test_a_value_the_device_can_hold_is_written_despite_a_coarse_scale_factor():
    async def scenario(site, clock, camp, controller):
        readings = await controller.apply(Setpoints.default(site).with_(pv_limit_pct={"pv-north": 0.0}))
        north = _points(readings)[("pv-north", "power_limit_pct")]
        assert north["accepted"] == 1 and north["fault"] == 0
        assert camp.setpoints.pv_limit_pct["pv-north"] == 0.0
        assert controller.status()["faults"] == {}
    run_camp(scenario, bad="pv-north", sf=2)


class _BrokenLinkConnections(Connections):
    """The camp's real connections, but writing to dg-2 raises an error no layer expects."""

    def for_device(self, device):
        link = super().for_device(device)
        if device.name != "dg-2":
            return link

        class Broken:
            async def read(self, *args, **kw):
                return await link.read(*args, **kw)

            async def write(self, *args, **kw):
                raise RuntimeError("the link broke in an unexpected way")
        return Broken()


@pytest.mark.integration
def test_an_exception_with_one_device_stays_with_that_device():
    async def scenario(site, clock, camp, controller):
        setpoints = Setpoints.default(site).with_(
            genset_mode={"dg-1": "run", "dg-2": "run", "dg-3": "run"}, pv_limit_pct={"pv-south": 50.0})
        await controller.apply(setpoints)
        status = controller.status()
        assert "RuntimeError" in status["faults"]["dg-2"] and status["devices"]["dg-2"]["setpoint_fault"]
        # the devices after dg-2 (dg-3) and before it were written
        assert camp.setpoints.genset_mode["dg-1"] == "run" and camp.setpoints.genset_mode["dg-3"] == "run"
        assert camp.setpoints.genset_mode["dg-2"] == "auto"
        assert camp.setpoints.pv_limit_pct["pv-south"] == 50.0
    run_camp(scenario, bad="pv-north", sf=-1, connections_class=_BrokenLinkConnections)
