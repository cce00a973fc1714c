"""Shared pieces of the service fault tests: the virtual camp and the service on one event clock,
a store that remembers what the service wrote, and subprocess/influxd helpers.

Real peers throughout: the camp is served over Modbus TCP on loopback (free ports), InfluxDB is
Debian's influxd (``tests/conftest.py`` fixtures). Nothing here mocks I/O.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable

import requests
from testkit import EXAMPLE_SITE, ROOT
from testkit import write_site_file as write_site_file  # the subprocess tests' site files

from microgrid.clock import EventClock
from microgrid.config import load_site
from microgrid.demo import demo_site
from microgrid.readings import Reading
from microgrid.service.runner import ServiceOptions
from microgrid.service.wiring import wire_service
from microgrid.simulator.camp import VirtualCamp
from microgrid.simulator.server import CampServers, serve_camp
from microgrid.simulator.settings import load_simulator_settings
from microgrid.site import Site
from telemetry.historian import SpooledHistorian

SIM = load_simulator_settings(EXAMPLE_SITE)
#: 08:00 at Malakal (UTC+2): PV ramping up, load rising — every device kind has work to do.
START = datetime(2026, 11, 1, 6, 0, tzinfo=timezone.utc)
POLL_S = 60.0  #: simulated poll interval (and poll tick) of the event-clock runs. [s]


# ----------------------------------------------------------------------------- in-process runs
def camp_site(poll_interval_s: float = POLL_S) -> Site:
    """The example camp on free loopback ports, polled every ``poll_interval_s``, control enabled."""
    return demo_site(load_site(EXAMPLE_SITE), poll_interval_s)


class RecordingStore:
    """The service's store with a memory of every reading handed to ``write`` (then forwarded).

    Everything else (``query``, ``close``) is the wrapped store's own; a spool in front of the
    wrapped store is handed to the service as its backlog, as ``wire_service`` does unwrapped.
    """

    def __init__(self, inner: Any):
        self.inner = inner
        self.written: list[Reading] = []

    def write(self, readings: list[Reading]) -> None:
        self.written.extend(readings)
        self.inner.write(readings)

    def of(self, measurement: str, **tags: str) -> list[Reading]:
        """Readings of ``measurement`` (whose tags include ``tags``), in write order."""
        return [r for r in self.written if r.measurement == measurement
                and all(r.tags.get(k) == v for k, v in tags.items())]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


Event = Callable[["CampRun"], Awaitable[None]]


@dataclass
class CampRun:
    """A finished (or running) event-clock run: the service, the camp and what was seen."""

    site: Site
    clock: EventClock
    camp: VirtualCamp
    servers: CampServers
    store: RecordingStore
    wired: Any = None
    #: ``(simulated time, Service.status())`` sampled by the driver.
    samples: list[tuple[datetime, dict[str, Any]]] = field(default_factory=list)

    @property
    def service(self):
        return self.wired.service


async def run_camp_service(site: Site, store: Any, hours: float, *,
                           strategy: str = "load-following", planner: Any = None,
                           events: dict[timedelta, Event] | None = None,
                           sample_every: timedelta = timedelta(minutes=5),
                           start: datetime = START, poll_interval_s: float = POLL_S,
                           sim: Any = None, physics_site: Site | None = None,
                           control_mode: str = "enabled", options: ServiceOptions | None = None,
                           genset_revert_s: float | None = 300.0) -> CampRun:
    """Serve the virtual camp and run the whole service against it on an :class:`EventClock`.

    Parameters
    ----------
    store : historian
        Wrapped in a :class:`RecordingStore` (``run.store``).
    hours : float
        Simulated run length. [h]
    planner : Planner, optional
        Replaces the planner ``wire_service`` built for ``strategy``.
    events : dict, optional
        ``{offset from start: async fn(run)}``, run by the driver (a clock participant, so
        simulated time stands still while an event works).
    sample_every : timedelta
        ``Service.status()`` is sampled at this cadence (and right after every event).
    sim : SimulatorSettings, optional
        The virtual camp's knobs (default the example's).
    physics_site : Site, optional
        The site the virtual camp's physics runs (default ``site``; e.g. a genset without a
        minimum load, to run it where the service's site says it must not).
    control_mode, options, genset_revert_s :
        The service's control mode and options; the camp's genset heartbeat.
    """
    clock = EventClock(start)
    camp = VirtualCamp(physics_site or site, sim or SIM, clock, genset_revert_s=genset_revert_s)
    servers = await serve_camp(site, camp)
    run = CampRun(site, clock, camp, servers, RecordingStore(store))
    try:
        backlog = store if isinstance(store, SpooledHistorian) else None
        run.wired = await wire_service(site, clock=clock, store=run.store, strategy=strategy,
                                       backlog=backlog, control_mode=control_mode, status_port=None,
                                       options=options or ServiceOptions(poll_tick_s=poll_interval_s))
        if planner is not None:
            run.wired.service.planner = planner
        stop = asyncio.Event()
        clock.join()  # the driver is a participant too
        try:
            await asyncio.gather(run.wired.service.run(stop),
                                 _drive(run, start + timedelta(hours=hours), dict(events or {}),
                                        sample_every, stop))
        finally:
            await run.wired.close()
    finally:
        await servers.stop()
    return run


async def _drive(run: CampRun, end: datetime, events: dict[timedelta, Event],
                 sample_every: timedelta, stop: asyncio.Event) -> None:
    clock, start = run.clock, run.clock.now()
    due = sorted((start + offset, fn) for offset, fn in events.items())
    try:
        next_sample = start + sample_every
        while clock.now() < end:
            wake = min([next_sample, end] + [t for t, _ in due[:1]])
            await clock.sleep((wake - clock.now()).total_seconds())
            while due and due[0][0] <= clock.now():
                await due.pop(0)[1](run)
            if clock.now() >= next_sample:
                run.samples.append((clock.now(), run.service.status()))
                next_sample += sample_every
    finally:
        stop.set()
        clock.leave()


def times(readings: list[Reading]) -> list[datetime]:
    return [r.time for r in readings]


def grid(start: datetime, step: timedelta, n: int) -> list[datetime]:
    """``n`` instants ``step`` apart from ``start``."""
    return [start + i * step for i in range(int(round(n)))]


# ----------------------------------------------------------------------------- InfluxDB
def influx_count(url: str, db: str, measurement: str, where: str = "",
                 auth: tuple[str, str] | None = None) -> int:
    """Number of points (rows) of ``measurement`` in ``db`` (``SELECT *``; 0 when none)."""
    q = f'SELECT * FROM "{measurement}"' + (f" WHERE {where}" if where else "")
    return len(influx_rows(url, db, q, auth=auth))


def influx_rows(url: str, db: str, q: str, auth: tuple[str, str] | None = None) -> list[dict]:
    """Rows of an InfluxQL query as ``{column: value}`` dicts (epoch ns times)."""
    r = requests.get(f"{url}/query", params={"db": db, "q": q, "epoch": "ns"}, auth=auth,
                     timeout=30)
    r.raise_for_status()
    out = []
    for res in r.json().get("results", []):
        assert "error" not in res, res
        for s in res.get("series", []):
            out.extend(dict(zip(s["columns"], v)) for v in s["values"])
    return out


def ns(t: datetime) -> int:
    return int(round(t.timestamp() * 1e9))


def create_admin(url: str, user: str, password: str) -> None:
    """The first user of an auth-enabled influxd 1.x (allowed while no user exists)."""
    q = f"CREATE USER \"{user}\" WITH PASSWORD '{password}' WITH ALL PRIVILEGES"
    r = requests.post(f"{url}/query", params={"q": q}, timeout=10)
    r.raise_for_status()
    assert "error" not in json.dumps(r.json()), r.text


# ----------------------------------------------------------------------------- subprocesses
def cli_env(**extra: str) -> dict[str, str]:
    """Environment for a ``python -m microgrid.cli`` subprocess (project on the path, no
    inherited InfluxDB secrets)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MICROGRID_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def microgrid_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "microgrid.cli", *args]


def run_cli(*args: str, timeout_s: float = 120.0, **env: str) -> subprocess.CompletedProcess:
    """Run ``microgrid ARGS`` to completion (stdout and stderr captured as text)."""
    return subprocess.run(microgrid_cmd(*args), cwd=ROOT, env=cli_env(**env), text=True,
                          capture_output=True, timeout=timeout_s)


def start_cli(*args: str, log: Path, **env: str) -> subprocess.Popen:
    """Start ``microgrid ARGS`` in the background, stdout+stderr to the file ``log``."""
    with open(log, "ab") as out:
        return subprocess.Popen(microgrid_cmd(*args), cwd=ROOT, env=cli_env(**env), stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def wait_for(predicate: Callable[[], Any], timeout_s: float, what: str,
             proc: subprocess.Popen | None = None, log: Path | None = None,
             every_s: float = 0.2) -> Any:
    """Poll ``predicate`` until truthy (returned) or fail after ``timeout_s`` of wall time,
    early if ``proc`` exits, with ``log``'s tail in the message."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            value = predicate()
        except Exception:  # not ready yet (connection refused, no file, ...)
            value = None
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: process exited with {proc.returncode}\n{_tail(log)}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s} s\n{_tail(log)}")
        time.sleep(every_s)


def _tail(log: Path | None, n: int = 3000) -> str:
    if log is None or not Path(log).exists():
        return ""
    return Path(log).read_text(errors="replace")[-n:]


def status_url_from(log: Path) -> str | None:
    """The status URL `microgrid run` printed on its start line, once printed."""
    m = re.search(r"status (http://127\.0\.0\.1:\d+/status)", Path(log).read_text(errors="replace"))
    return m.group(1) if m else None


def get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())

