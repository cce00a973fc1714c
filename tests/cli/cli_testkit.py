"""Shared pieces of the command-line tests: input files, and a camp served over Modbus TCP from a
background thread (the command under test runs its own event loop in the test's thread).

Everything is a real peer: the virtual camp's pymodbus servers on loopback.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def write_inputs(path: Path, periods: int, *, freq: str = "15min", load_kw: float = 400.0,
                 pv_kw: float = 0.0, start: str = "2026-03-01T00:00:00Z") -> Path:
    """A planner input file (``time, load_kw, pv_available_kw``) of ``periods`` rows."""
    t = pd.date_range(start, periods=periods, freq=freq)
    pd.DataFrame({"time": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "load_kw": np.full(periods, load_kw),
                  "pv_available_kw": np.full(periods, pv_kw)}).to_csv(path, index=False)
    return path


@contextmanager
def served_in_thread(start: Callable[[], Awaitable[Any]]) -> Iterator[Any]:
    """Run ``await start()`` (it starts servers and returns an object with ``async stop()``) on an
    event loop in a background thread; stop it on the way out."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    box: dict[str, Any] = {}

    def runner() -> None:
        asyncio.set_event_loop(loop)
        try:
            box["served"] = loop.run_until_complete(start())
        except BaseException as exc:  # surfaced in the test's thread
            box["error"] = exc
        ready.set()
        if "served" in box:
            loop.run_forever()
            loop.run_until_complete(box["served"].stop())
        loop.close()

    thread = threading.Thread(target=runner, daemon=True)
    thread.start()
    ready.wait(30)
    if "error" in box:
        thread.join(5)
        raise box["error"]
    try:
        yield box["served"]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)


class CampWithOverrides:
    """A camp (``device_values``/``command``) whose values for some fields are replaced."""

    def __init__(self, camp: Any, overrides: dict[str, dict[str, Any]]):
        self.camp, self.overrides = camp, overrides

    def device_values(self, name: str) -> dict[str, Any]:
        return {**self.camp.device_values(name), **self.overrides.get(name, {})}

    def command(self, name: str, point: str, value: Any) -> None:
        self.camp.command(name, point, value)
