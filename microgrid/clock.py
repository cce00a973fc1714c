"""Injectable clocks: the service and the virtual camp run on one of these.

The same service runs in real time against real devices (:class:`RealClock`) and many times
faster than real time against the virtual camp (:class:`SimClock`); tests step time by hand
(:class:`ManualClock`). Every clock returns timezone-aware UTC datetimes.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone
from typing import Callable, Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """What the loops need from time: the current instant and a way to wait."""

    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time. [s]"""
        ...


def _require_utc(when: datetime, what: str) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (UTC), got naive {when.isoformat()}")
    return when.astimezone(timezone.utc)


class RealClock:
    """Wall-clock time; ``sleep`` is :func:`asyncio.sleep`."""

    def now(self) -> datetime:
        """Current wall time, UTC."""
        return datetime.now(timezone.utc)

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of wall time. [s]"""
        await asyncio.sleep(max(0.0, seconds))


class SimClock:
    """Simulated time running ``speed`` times faster than wall time.

    Simulated time = ``start`` + ``speed`` × wall time elapsed since construction.

    Parameters
    ----------
    start : datetime
        Simulated time at construction, timezone-aware.
    speed : float
        Simulated seconds per wall second (e.g. 60 = one simulated minute per second). [-]
    wall : callable, optional
        Monotonic wall-time source in seconds (default :func:`time.monotonic`). [s]
    """

    def __init__(self, start: datetime, speed: float = 1.0,
                 wall: Callable[[], float] = time.monotonic):
        if not speed > 0:
            raise ValueError(f"SimClock speed must be > 0, got {speed!r}")
        self.start = _require_utc(start, "SimClock start")
        self.speed = float(speed)
        self._wall = wall
        self._wall0 = wall()

    def now(self) -> datetime:
        """Current simulated time, UTC."""
        return self.start + timedelta(seconds=self.speed * (self._wall() - self._wall0))

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of simulated time (``seconds / speed`` of wall time). [s]"""
        await asyncio.sleep(max(0.0, seconds) / self.speed)


class ManualClock:
    """A clock that moves only when told: for tests.

    ``advance(s)`` moves time by hand. ``sleep(s)`` advances the clock by ``s`` and yields once
    to the event loop, so a loop driven by this clock runs as fast as the CPU allows. It is no
    event scheduler: two tasks sleeping concurrently each add their own time.

    Parameters
    ----------
    start : datetime
        Initial time, timezone-aware.
    """

    def __init__(self, start: datetime):
        self._now = _require_utc(start, "ManualClock start")

    def now(self) -> datetime:
        """Current time, UTC."""
        return self._now

    def advance(self, seconds: float) -> datetime:
        """Move time forward by ``seconds`` [s] and return the new time."""
        if seconds < 0:
            raise ValueError(f"ManualClock cannot go back in time ({seconds} s)")
        self._now += timedelta(seconds=seconds)
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to ``when`` (not earlier than now)."""
        when = _require_utc(when, "ManualClock.set")
        if when < self._now:
            raise ValueError(f"ManualClock cannot go back in time to {when.isoformat()}")
        self._now = when

    async def sleep(self, seconds: float) -> None:
        """Advance by ``seconds`` [s] and yield to the event loop once."""
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)
