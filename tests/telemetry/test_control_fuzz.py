"""Setpoint fuzz: whatever the setpoints or plans (negative, huge, NaN, unknown names, wrong
types), no write leaves the allow-list (points the profile declares writable) or the limits
(the profile's declared limits and the site's ratings).

The bulk of the examples runs the pure policy layer (every write it plans is checked at the
register level, decoded as the device would decode it); a smaller number runs the real
:class:`telemetry.control.Controller` against the virtual camp's Modbus servers, recording
every write at the client boundary and every command the camp receives.
"""

from __future__ import annotations

import asyncio
import math
from datetime import datetime, timezone

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from testkit import EXAMPLE_SITE, example_site

from microgrid.clock import ManualClock
from microgrid.config import load_site
from microgrid.errors import PlanError
from microgrid.plant import GENSET_MODES, Setpoints
from microgrid.simulator.camp import VirtualCamp
from microgrid.simulator.server import serve_camp
from microgrid.simulator.settings import load_simulator_settings
from optimizer.plan import Plan
from optimizer.setpoints import setpoints_for_step
from telemetry.connection import Connections
from telemetry.control import Controller
from telemetry.control_policy import decide, desired_points, rating_image, site_limits
from telemetry.registers import decode_write, load_profile

SITE = load_site(EXAMPLE_SITE)
PROFILES = {d.name: load_profile(d.modbus.profile) for d in SITE.devices}
IMAGES = {d.name: rating_image(PROFILES[d.name], d) for d in SITE.devices}
NAMES = [d.name for d in SITE.devices] + ["ghost", ""]
T0 = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)

# ------------------------------------------------------------------------------ strategies

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e4, max_value=1e4),
    st.integers(min_value=-10**12, max_value=10**12),
    st.sampled_from([0.0, -0.0, 100.0, 100.0001, 1e-300, -1e-300, 65534, 65535, 6553.5, 6553.6]),
    st.none(), st.booleans(), st.text(max_size=3))
modes = st.one_of(st.sampled_from(GENSET_MODES), st.just("run"),
                  st.sampled_from(["manual", "RUN", ""]), numbers)
names = st.sampled_from(NAMES)


def per_device(devices, values):
    """A value for most devices of one kind, plus a few entries under any name (garbage)."""
    own = st.fixed_dictionaries({}, optional={d.name: values for d in devices})
    return st.builds(lambda a, b: {**b, **a}, own, st.dictionaries(names, values, max_size=2))


setpoints = st.builds(
    Setpoints,
    genset_mode=per_device(SITE.gensets, modes),
    genset_kw=per_device(SITE.gensets, numbers),
    pv_limit_pct=per_device(SITE.pv_arrays, numbers),
    battery_charge_limit_kw=per_device(SITE.batteries, numbers),
    battery_discharge_limit_kw=per_device(SITE.batteries, numbers))
plan_values = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                        st.floats(min_value=-1e5, max_value=1e5))


@st.composite
def plans(draw):
    """One-step plans with absurd values (NaN, negative, huge)."""
    v = lambda: np.array([draw(plan_values)])  # noqa: E731
    return Plan(time=(T0,), dt_h=np.array([0.25]), load_kw=v(), pv_used_kw=v(),
                pv_curtailed_kw=v(), battery_kw={b.name: v() for b in SITE.batteries},
                soc_pct={b.name: v() for b in SITE.batteries},
                genset_on={g.name: np.array([float(draw(st.sampled_from([0, 1, 0.4, 0.6])))])
                           for g in SITE.gensets},
                genset_kw={g.name: v() for g in SITE.gensets}, fuel_l=v(), unserved_kw=v(),
                reserve_shortfall_kw=v(), status=draw(st.sampled_from(["optimal", "fallback"])),
                strategy="fuzz")


# --------------------------------------------------------------------------------- checks

def writable_registers(profile) -> set[int]:
    """Every register address a writable point (its value, control key or enable) covers."""
    out: set[int] = set()
    for p in profile.points:
        if p.keys:
            out |= {p.key_address, p.key_address + 1}
        elif p.writable:
            out |= set(range(p.address, p.address + p.size))
        for a, regs in p.enable:
            out |= set(range(a, a + len(regs)))
    return out


WRITABLE = {name: writable_registers(p) for name, p in PROFILES.items()}


def check_value(device: str, field: str, value) -> None:
    """A setpoint value a device receives is writable there and within every limit."""
    profile = PROFILES[device]
    p = profile.point(field)
    assert p.writable, (device, field)
    if p.enum or p.keys:
        assert value in GENSET_MODES, (device, field, value)
        return
    v = float(value)
    assert math.isfinite(v), (device, field, value)
    assert p.minimum <= v <= p.maximum, (device, field, v)
    limits = site_limits(SITE, device, field)
    if limits is not None and not (field == "base_load_kw" and v == 0.0):   # 0 = share load
        lo, hi = limits
        assert lo - 1e-9 <= v <= hi + 1e-9, (device, field, v, limits)


def check_write(device: str, address: int, registers, image: dict) -> None:
    """A register write: only writable addresses, 16-bit values, and what it carries in limits."""
    span = set(range(address, address + len(registers)))
    assert span <= WRITABLE[device], (device, address, registers)
    assert all(0 <= r <= 0xFFFF for r in registers)
    for field, value in decode_write(PROFILES[device], address, list(registers), image):
        check_value(device, field, value)
    image.update(zip(range(address, address + len(registers)), registers))


def check_policy(sp: Setpoints) -> int:
    """Plan every write for ``sp`` with the pure policy and check it; returns writes planned."""
    n = 0
    for d in desired_points(SITE, sp, revert_s=300.0):
        profile = PROFILES.get(d.device)
        decision = decide(SITE, profile, d, IMAGES.get(d.device))
        if not decision.accepted:
            assert decision.refused
            continue
        image = dict(IMAGES[d.device])
        for w in decision.plan.writes:
            check_write(d.device, w.address, w.registers, image)
            n += 1
    return n


# ------------------------------------------------------------------------- pure, many

@settings(max_examples=400, deadline=None)
@given(setpoints)
def test_policy_never_plans_a_write_outside_allow_list_or_limits(sp):
    check_policy(sp)


@pytest.mark.parametrize("hold", [False, True])
@settings(max_examples=150, deadline=None)
@given(plan=plans())
def test_plans_map_to_safe_setpoints_or_raise(hold, plan):
    try:
        sp = setpoints_for_step(SITE, plan, 0, hold_battery=hold)
    except PlanError:
        return  # NaN in a value the mapping needs: no setpoints, nothing written
    for g in SITE.gensets:
        kw = sp.genset_kw[g.name]
        assert kw is None or g.min_kw <= kw <= g.rated_kw
    assert all(0.0 <= v <= 100.0 for v in sp.pv_limit_pct.values())
    for b in SITE.batteries:
        dis = sp.battery_discharge_limit_kw[b.name]
        assert dis is None or 0.0 <= dis <= b.discharge_power_kw
    check_policy(sp)


# ------------------------------------------------------------------ over TCP, fewer

class RecordingLink:
    """Delegates to a real connection, recording every write the controller issues."""

    def __init__(self, link, device, log):
        self.link, self.device, self.log = link, device, log

    async def read(self, *args, **kw):
        return await self.link.read(*args, **kw)

    async def write(self, unit_id, address, registers):
        self.log.append((self.device.name, unit_id, address, tuple(registers)))
        await self.link.write(unit_id, address, registers)


class RecordingConnections:
    def __init__(self, connections):
        self.connections, self.writes = connections, []

    def for_device(self, device):
        return RecordingLink(self.connections.for_device(device), device, self.writes)


@pytest.fixture(scope="module")
def camp_rig():
    site = example_site()
    clock = ManualClock(T0)
    camp = VirtualCamp(site, load_simulator_settings(EXAMPLE_SITE), clock)
    commands = []
    real = camp.command

    def command(name, point, value):
        commands.append((name, point, value))
        real(name, point, value)
    camp.command = command
    loop = asyncio.new_event_loop()
    servers = loop.run_until_complete(serve_camp(site, camp))
    connections = Connections(site)
    try:
        yield site, clock, camp, commands, loop, connections
    finally:
        loop.run_until_complete(connections.close_all())
        loop.run_until_complete(servers.stop())
        loop.close()


@pytest.mark.integration
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(setpoints, plans()))
def test_controller_writes_over_modbus_stay_in_allow_list_and_limits(camp_rig, given_input):
    site, clock, camp, commands, loop, connections = camp_rig
    if isinstance(given_input, Plan):
        try:
            sp = setpoints_for_step(site, given_input, 0)
        except PlanError:
            return
    else:
        sp = given_input
    recording = RecordingConnections(connections)
    controller = Controller(site, clock=clock, connections=recording, mode="enabled",
                            min_interval_s=0.0, readback_retries=1)
    del commands[:]
    readings = loop.run_until_complete(controller.apply(sp))
    clock.advance(60)
    assert all(r.measurement == "setpoint" for r in readings)
    images = {name: dict(IMAGES[name]) for name in PROFILES}
    device_of_unit = {(d.name, d.modbus.unit_id) for d in site.devices}
    for name, unit, address, registers in recording.writes:
        assert (name, unit) in device_of_unit
        check_write(name, address, registers, images[name])
    for name, point, value in commands:
        check_value(name, point, value)
    assert recording.writes and len(recording.writes) >= len(commands)  # a fresh controller writes
