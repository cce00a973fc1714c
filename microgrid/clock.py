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


@runtime_checkable
class LoopClock(Clock, Protocol):
    """A clock several loops share (the service's): each loop is a participant.

    On an event-driven clock (:class:`EventClock`) time moves only when every participant sleeps,
    so a stop request cannot cut a sleep short; on the others, participants change nothing.
    """

    @property
    def event_driven(self) -> bool:
        """Whether time moves only when every participant sleeps."""
        ...

    def join(self) -> None:
        """Register one more loop that waits on this clock."""
        ...

    def leave(self) -> None:
        """A participant is done."""
        ...


class _Unpaced:
    """Participants change nothing on a clock that moves by itself."""

    event_driven = False

    def join(self) -> None:
        """Nothing to register."""

    def leave(self) -> None:
        """Nothing to release."""


def _require_utc(when: datetime, what: str) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (UTC), got naive {when.isoformat()}")
    return when.astimezone(timezone.utc)


class RealClock(_Unpaced):
    """Wall-clock time; ``sleep`` is :func:`asyncio.sleep`."""

    def now(self) -> datetime:
        """Current wall time, UTC."""
        return datetime.now(timezone.utc)

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of wall time. [s]"""
        await asyncio.sleep(max(0.0, seconds))


class SimClock(_Unpaced):
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


class ManualClock(_Unpaced):
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


class EventClock:
    """Discrete-event simulated time for running the whole service as fast as it can compute.

    Every loop that waits on this clock is a *participant* (:meth:`join` / :meth:`leave`). Time
    stands still while any participant works (network I/O, a solve); once all of them sleep, the
    clock jumps to the earliest wake-up. So a day of camp operation runs in the time its
    computation takes, and the result does not depend on how fast the machine is.

    Parameters
    ----------
    start : datetime
        Simulated time at construction, timezone-aware.
    """

    event_driven = True

    def __init__(self, start: datetime):
        self._now = _require_utc(start, "EventClock start")
        self._participants = 0
        self._sleepers: list[tuple[datetime, int, asyncio.Future]] = []
        self._seq = 0
        self._pending = False

    def now(self) -> datetime:
        """Current simulated time, UTC."""
        return self._now

    def join(self) -> None:
        """Register one more loop that waits on this clock."""
        self._participants += 1

    def leave(self) -> None:
        """A participant is done; the others may now be the ones time waits for."""
        self._participants -= 1
        self._maybe_advance()

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of simulated time. [s]"""
        import heapq
        fut = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._sleepers, (self._now + timedelta(seconds=max(0.0, seconds)), self._seq, fut))
        self._maybe_advance()
        await fut

    def _maybe_advance(self) -> None:
        live = [s for s in self._sleepers if not s[2].done()]
        if live and len(live) >= self._participants and not self._pending:
            self._pending = True
            asyncio.get_running_loop().call_soon(self._advance)

    def _advance(self) -> None:
        import heapq
        self._pending = False
        while self._sleepers and self._sleepers[0][2].done():  # cancelled sleepers
            heapq.heappop(self._sleepers)
        if not self._sleepers or len(self._sleepers) < self._participants:
            return
        wake = self._sleepers[0][0]
        self._now = max(self._now, wake)
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, fut = heapq.heappop(self._sleepers)
            if not fut.done():
                fut.set_result(None)
