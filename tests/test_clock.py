"""Clocks: simulated time arithmetic, scaled sleeps, manual stepping (no wall-clock asserts)."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

import pytest

import microgrid.clock as clock_module
from microgrid.clock import Clock, ManualClock, RealClock, SimClock

T0 = datetime(2026, 3, 18, 6, 0, tzinfo=timezone.utc)


class FakeWall:
    def __init__(self):
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_all_clocks_satisfy_the_protocol():
    for c in (RealClock(), SimClock(T0), ManualClock(T0)):
        assert isinstance(c, Clock)


def test_real_clock_is_aware_utc():
    now = RealClock().now()
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)


def test_sim_clock_runs_speed_times_wall_time():
    wall = FakeWall()
    c = SimClock(T0, speed=60.0, wall=wall)
    assert c.now() == T0
    wall.t += 2.5
    assert c.now() == T0 + timedelta(seconds=150)


def test_sim_clock_converts_other_offsets_to_utc():
    start = datetime(2026, 3, 18, 8, 0, tzinfo=timezone(timedelta(hours=2)))
    c = SimClock(start, speed=1.0, wall=FakeWall())
    assert c.now() == T0 and c.now().tzinfo == timezone.utc


def test_sim_clock_sleep_is_scaled(monkeypatch):
    slept = []

    async def fake_sleep(seconds):
        slept.append(seconds)

    monkeypatch.setattr(clock_module.asyncio, "sleep", fake_sleep)
    asyncio.run(SimClock(T0, speed=120.0).sleep(60.0))
    assert slept == [0.5]


def test_sim_clock_rejects_naive_start_and_bad_speed():
    with pytest.raises(ValueError, match="timezone-aware"):
        SimClock(datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="speed"):
        SimClock(T0, speed=0)


def test_manual_clock_advance_set_and_sleep():
    c = ManualClock(T0)
    assert c.advance(90) == T0 + timedelta(seconds=90)
    c.set(T0 + timedelta(hours=1))
    asyncio.run(c.sleep(30))
    assert c.now() == T0 + timedelta(hours=1, seconds=30)
    with pytest.raises(ValueError):
        c.advance(-1)
    with pytest.raises(ValueError):
        c.set(T0)


def test_manual_clock_drives_a_loop_without_waiting():
    c = ManualClock(T0)
    seen = []

    async def loop():
        for _ in range(3):
            await c.sleep(900)
            seen.append(c.now())

    asyncio.run(loop())
    assert seen == [T0 + timedelta(minutes=15 * k) for k in (1, 2, 3)]


def test_event_clock_jumps_when_every_participant_sleeps():
    from microgrid.clock import EventClock
    start = datetime(2026, 10, 1, tzinfo=timezone.utc)
    clock = EventClock(start)
    log = []

    async def loop(name, period, n, work=None):
        clock.join()
        try:
            for _ in range(n):
                if work:
                    await asyncio.sleep(work)  # real work (I/O): simulated time stands still
                log.append((name, (clock.now() - start).total_seconds()))
                await clock.sleep(period)
        finally:
            clock.leave()

    async def main():
        await asyncio.gather(loop("poll", 5, 4, work=0.01), loop("plan", 15, 2))

    t0 = time.monotonic()
    asyncio.run(main())
    assert time.monotonic() - t0 < 5
    assert sorted(log, key=lambda x: (x[1], x[0])) == [
        ("plan", 0.0), ("poll", 0.0), ("poll", 5.0), ("poll", 10.0), ("plan", 15.0), ("poll", 15.0)]
    assert clock.now() == start + timedelta(seconds=30)
