"""The fuel ledger on a simulated day of the virtual camp, at the example site's own settings
(80 m3 bulk tank ± 400 L, day tanks read in whole percent, a 12-h loss window): a tanker's
delivery is found with its litres within the gauges' tolerance, a day without a leak raises no
unexplained loss, and a 60 L/h leak (1,440 L a day) switched on at 04:00 is raised within the day.

Each minute the camp's devices are read through their register profiles (encoded as the Modbus
servers serve them, decoded as the poller does: the gauges' real resolution), and the service's
own :class:`~microgrid.service.alarming.AlarmMonitor` evaluates them; gensets in their own
automatic mode, the planned burn the camp's measured one (no plan: the autonomy's other basis).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest
from testkit import example_camp

from microgrid.clock import ManualClock
from microgrid.service.alarming import AlarmMonitor
from microgrid.simulator.camp import VirtualCamp
from telemetry.alarms.device import encode_alarms
from telemetry.registers import decode, encode, load_profile

SITE, SIM = example_camp()
START = datetime(2026, 11, 2, 0, 0, tzinfo=timezone.utc)
LEAK_AT = timedelta(hours=4)


def run_day(leak_l_per_h: float = 0.0, hours: float = 24.0, stop_at: str | None = None):
    """(camp, monitor, {code: first raise time}) after ``hours`` of the example camp (or once
    the alarm ``stop_at`` is raised)."""
    sim = dataclasses.replace(SIM, fuel_delivery_first_h=2.0)
    clock = ManualClock(START)
    camp = VirtualCamp(SITE, sim, clock)
    monitor = AlarmMonitor(SITE, START)
    profiles = {d.name: load_profile(d.modbus.profile) for d in SITE.devices}
    raised: dict[str, datetime] = {}
    online = {d.name: {"online": True} for d in SITE.devices}
    for minute in range(int(hours * 60) + 1):
        t = START + timedelta(minutes=minute)
        if minute == LEAK_AT / timedelta(minutes=1) and leak_l_per_h:
            camp.fuel.set_leak(leak_l_per_h)
        clock.set(t)
        latest = {}
        for d in SITE.devices:
            values = camp.device_values(d.name)
            p = profiles[d.name]
            values.update(encode_alarms(p, values.pop("alarms")))
            latest[d.name] = decode(p, encode(p, values))   # what the poller reads
        readings = monitor.poll_cycle(t, latest, online, profiles.get, planned_l_per_day=None,
                                      fallback_streak=0, spool_points=None)
        for r in readings:
            if r.measurement == "alarm" and r.fields["active"] == 1:
                raised.setdefault(r.tags["code"], t)
        if stop_at in raised:
            break
    return camp, monitor, raised


@pytest.fixture(scope="module")
def quiet_day():
    """16 h: the delivery at 02:00, then a full 12-h loss window after it."""
    return run_day(hours=16.0)


def test_the_delivery_is_found_with_its_litres(quiet_day):
    camp, monitor, _ = quiet_day
    [truth] = camp.fuel.deliveries
    series = monitor.fuel.series()
    from microgrid.plant.fuel_balance import deliveries
    [found], under_way = deliveries(series)
    assert under_way is None and truth.litres == 30000.0
    assert abs(found.litres - truth.litres) <= series.tolerance_l            # ± 452 L
    assert abs(found.litres - truth.litres) < 60                             # in fact much closer
    assert abs(found.start_s - truth.start.timestamp()) <= 120


def test_no_unexplained_loss_without_a_leak(quiet_day):
    camp, monitor, raised = quiet_day
    assert "fuel_unexplained_loss" not in raised
    loss = monitor.fuel_status.loss
    assert loss is not None and abs(loss.litres) < loss.threshold_l / 2
    status = monitor.fuel_status
    assert status.stock.stock_l == pytest.approx(camp.fuel.stock_l, abs=status.stock.tolerance_l)
    assert 1500 < status.burn_l_per_day < 4000 and status.autonomy_days == pytest.approx(
        status.stock.stock_l / status.burn_l_per_day)


def test_a_leak_is_raised_within_a_day():
    camp, _, raised = run_day(leak_l_per_h=60.0, stop_at="fuel_unexplained_loss")
    assert "fuel_unexplained_loss" in raised, raised
    delay = raised["fuel_unexplained_loss"] - (START + LEAK_AT)
    assert delay < timedelta(hours=20)                  # within the day it was switched on
    # 452 L of tolerance at 60 L/h: at least 7.5 h of leak, measured between the middles of the
    # window's first and last 15 min
    assert delay >= timedelta(hours=7.5)
    print(f"\n60 L/h leak raised after {delay} ({camp.fuel.leaked_l:.0f} L leaked)")
