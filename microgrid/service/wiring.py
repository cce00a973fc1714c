"""Assemble the service from a site, a clock and a store spec (shared by `run` and `demo`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from microgrid.clock import LoopClock
from microgrid.errors import ConfigError, DeviceError, HistorianError
from microgrid.plant.bucket import BUCKET_H
from microgrid.service.collaborators import Backlog, Store
from microgrid.service.forecasting import History
from microgrid.service.runner import Service, ServiceOptions
from microgrid.service.status import StatusServer
from microgrid.site import Site
from microgrid.web import CampPage
from optimizer.planner import make_planner
from telemetry.connection import Connections
from telemetry.control import Controller
from telemetry.historian import SpooledHistorian, open_historian
from telemetry.historian.base import Historian, HistorianUnavailable
from telemetry.historian.factory import check_resolvable
from telemetry.pipeline import PollPipeline
from telemetry.poller import Poller

log = logging.getLogger(__name__)

#: The embedded default store (relative to the current folder), read by `microgrid report` too.
DEFAULT_STORE = "sqlite:///microgrid.sqlite"
#: Where an InfluxDB store spools by default (store-and-forward).
DEFAULT_SPOOL = "microgrid-spool.db"


def open_store(spec: str, spool: str | Path | None = None, *, spool_only_start: bool = False) -> Historian:
    """The historian for ``spec``; InfluxDB always gets a durable spool in front.

    The server's host name must resolve (a typo or a missing DNS entry is no outage: the spool
    would wait for ever), unless ``spool_only_start`` says the camp must start anyway. The
    server is then probed with one query: refused credentials (or another answer that no retry
    can fix) fail now, clearly; a server that cannot be reached is only a warning, since the
    spool keeps every reading until it is back (store-and-forward).

    Raises
    ------
    HistorianError
        Bad spec, a host that does not resolve, or credentials refused (:class:`HistorianAuthError`).
    """
    influx = spec.startswith(("influx1:", "influx2:"))
    if influx and "spool=" not in spec and spool is None:
        spool = DEFAULT_SPOOL
    # the embedded store keeps raw readings 30 days and roll-ups for good (docs/architecture.md §5)
    tiered = not influx and "retention_days=" not in spec
    store = open_historian(spec, spool=spool if influx else None, tiered=tiered)
    try:
        check_resolvable(spec)
    except HistorianError as exc:
        if not spool_only_start:
            store.close()
            raise HistorianError(f"{exc}; check --store, or pass --spool-only-start to start anyway "
                                 f"and spool until it resolves") from None
        log.warning("%s; starting anyway (--spool-only-start): spooling until it resolves", exc)
    try:
        store.probe()
    except HistorianUnavailable as exc:  # the spool is in front: keep going
        log.warning("store not reachable at start-up, spooling until it is: %s", exc)
    except BaseException:
        store.close()
        raise
    return store


@dataclass
class Wired:
    """Everything a running service holds, to close it in order."""

    service: Service
    store: Store
    connections: Connections
    poller: Poller
    status: StatusServer | None

    async def close(self) -> None:
        if self.status is not None:
            await self.status.stop()
        await self.poller.close()
        await self.connections.close_all()
        self.store.close()


async def wire_service(site: Site, *, clock: LoopClock, store: Store, strategy: str = "milp",
                       backlog: Backlog | None = None,
                       control_mode: str | None = None, status_port: int | None = 0,
                       status_host: str = "127.0.0.1", options: ServiceOptions = ServiceOptions(),
                       require_device: bool = True) -> Wired:
    """Build (and probe) the service for ``site``.

    Parameters
    ----------
    control_mode : {"dry_run", "enabled"}, optional
        Default: the site file's ``control_mode``.
    status_port : int or None
        Port of the status endpoint (0: any free port; None: none).
    status_host : str
        Address the status endpoint listens on (default loopback).
    require_device : bool
        Fail when no device answers the start-up poll (the service cannot run blind).
    backlog : Backlog, optional
        The durable spool in front of the store; default the store itself when it is a
        :class:`~telemetry.historian.spool.SpooledHistorian`.

    Raises
    ------
    DeviceError
        No device answered at start-up (each device's reason is in the message).
    ConfigError
        The status endpoint cannot listen there (address in use, unknown host).
    """
    connections = Connections(site)
    poller = Poller(site, clock=clock, connections=connections)
    if require_device:
        first = await poller.poll_all()
        status = poller.status()
        if not any(s.online for s in status.values()):
            reasons = "; ".join(f"{n}: {s.reason}" for n, s in status.items())
            await poller.close()
            await connections.close_all()
            raise DeviceError(f"no device of site {site.name!r} answered at start-up ({reasons})")
        for name, s in status.items():
            if not s.online:
                log.warning("device %s does not answer at start-up: %s", name, s.reason)
    pipeline = PollPipeline(site, poller)
    if require_device:  # the start-up poll is the first reading: stored, and the first plan's state
        store.write(pipeline.ingest(first))
    controller = Controller(site, clock=clock, connections=connections,
                            mode=control_mode or site.control_mode)
    history = History(options.history_days)
    seed_history(history, store, site, clock.now(), options.history_days)
    service = Service(site, clock=clock, pipeline=pipeline, planner=make_planner(site, strategy),
                      controller=controller, store=store, options=options, history=history,
                      backlog=backlog or (store if isinstance(store, SpooledHistorian) else None))
    server = None
    if status_port is not None:  # /status, /health and the camp page (docs/architecture.md §9)
        page = CampPage.for_service(site, store, clock.now)
        server = StatusServer(service.status, host=status_host, port=status_port, page=page)
        try:
            await server.start()
        except OSError as exc:
            await poller.close()
            await connections.close_all()
            raise ConfigError(f"the status endpoint cannot listen on {status_host}:{status_port}: "
                              f"{exc.strerror or exc} (another microgrid run?); choose another address",
                              key="--status-addr") from None
    return Wired(service, store, connections, poller, server)


def seed_history(history: History, store: Store, site: Site, now: datetime, days: float) -> None:
    """Load the last ``days`` of 15-min energy roll-ups from the store (a restarted service
    forecasts from what it measured before)."""
    try:
        df = store.query("energy", ["load_kwh", "pv_kwh"], now - timedelta(days=days), now,
                         tags={"site": site.name})
    except HistorianError as exc:
        log.info("no history to seed the forecasts from: %s", exc)
        return
    if df is None or not len(df):
        return
    frame = pd.DataFrame({"load_kw": df["load_kwh"] / BUCKET_H, "pv_kw": df["pv_kwh"] / BUCKET_H},
                         index=pd.DatetimeIndex(df.index))
    history.add_frame(frame)
