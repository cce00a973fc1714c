"""`microgrid run --site SITE`: the service — poll, forecast, plan, control, roll-ups.

Real time against the site's devices. SIGTERM / SIGINT: stop polling, flush or persist the
spool, exit 0. A bad site file or option, no device answering at start-up, a store whose host
does not resolve (unless ``--spool-only-start``) or that refuses the credentials, a status
address already in use: one line naming the cause, exit 2.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from microgrid.clock import RealClock
from microgrid.config import load_site
from microgrid.service.runner import PLAN_MAX_AGE_PERIODS, ServiceOptions
from microgrid.service.wiring import DEFAULT_STORE, open_store, wire_service
from microgrid.site import CONTROL_MODES, Site
from optimizer.planner import STRATEGIES
from telemetry.historian.base import Historian

log = logging.getLogger("microgrid.run")

#: Where the status endpoint listens by default.
DEFAULT_STATUS = ("127.0.0.1", 8787)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the service against the site's devices",
                       description="Poll the devices, forecast and plan every 15 min, apply the "
                       "plan's setpoints (dry_run unless the site enables control), and write "
                       "everything to the historian. Stops cleanly on SIGTERM/SIGINT.")
    p.add_argument("--site", required=True, help="site file (TOML)")
    p.add_argument("--store", default=DEFAULT_STORE, metavar="SPEC",
                   help=f"historian: sqlite:///PATH, influx1://HOST:PORT/DB or "
                   f"influx2://HOST:PORT?org=O&bucket=B (default {DEFAULT_STORE}); secrets from "
                   "MICROGRID_INFLUX_USER/_PASSWORD or MICROGRID_INFLUX_TOKEN(_FILE)")
    p.add_argument("--spool", metavar="PATH", help="store-and-forward spool file for InfluxDB "
                   "(default microgrid-spool.db)")
    p.add_argument("--strategy", choices=STRATEGIES, default="milp")
    p.add_argument("--control", choices=CONTROL_MODES, default=None,
                   help="override the site file's control_mode")
    p.add_argument("--spool-only-start", action="store_true",
                   help="start even when the InfluxDB host name does not resolve, spooling every "
                   "reading until it does (default: that is a start-up error)")
    status = p.add_mutually_exclusive_group()
    status.add_argument("--status-addr", type=_address, default=None, metavar="HOST:PORT",
                        help=f"where the HTTP status endpoint listens (default {DEFAULT_STATUS[0]}:"
                        f"{DEFAULT_STATUS[1]}; port 0: any free port; 0.0.0.0 in a container)")
    status.add_argument("--status-port", type=_port, default=None, metavar="PORT",
                        help="the same on the loopback address")
    p.add_argument("--plan-max-age-min", type=_minutes, default=None, metavar="M",
                   help="a plan drives the plant for at most M minutes without a new one; past that, "
                   "and past its horizon, the devices are handed back to their own automatic mode and "
                   f"the plan_expired alarm is raised (default {PLAN_MAX_AGE_PERIODS} re-plan periods: "
                   f"{PLAN_MAX_AGE_PERIODS * ServiceOptions().plan_every_s / 60:g} min)")
    p.set_defaults(func=run)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number in 0..65535")
    return port


def _address(text: str) -> tuple[str, int]:
    host, sep, port = text.strip().rpartition(":")
    host = host.strip("[]")  # [::1]:8787
    if not sep or not host:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:8787)")
    return host, _port(port)


def _minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of minutes > 0")
    return value


def run(args: argparse.Namespace) -> int:
    site = load_site(args.site)
    store = open_store(args.store, args.spool, spool_only_start=args.spool_only_start)
    return asyncio.run(_serve(site, store, args))


async def _serve(site: Site, store: Historian, args: argparse.Namespace) -> int:
    clock = RealClock()
    host, port = args.status_addr or (DEFAULT_STATUS[0], DEFAULT_STATUS[1] if args.status_port is None
                                      else args.status_port)
    options = ServiceOptions(plan_max_age_s=None if args.plan_max_age_min is None
                             else args.plan_max_age_min * 60.0)
    try:
        wired = await wire_service(site, clock=clock, store=store, strategy=args.strategy,
                                   control_mode=args.control, status_port=port, status_host=host,
                                   options=options)
    except BaseException:
        store.close()
        raise
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    mode = args.control or site.control_mode
    print(f"microgrid service for {site.name!r}: {len(site.devices)} devices, strategy "
          f"{args.strategy}, control {mode}, store {args.store.split('?')[0]}"
          + (f", status http://{host}:{wired.status.port}/status" if wired.status else ""),
          flush=True)
    try:
        await wired.service.run(stop)
    finally:
        await wired.close()
    log.info("stopped cleanly")
    print("stopped", flush=True)
    return 0
