"""`microgrid run --site SITE`: the service — poll, forecast, plan, control, roll-ups.

Real time against the site's devices. SIGTERM / SIGINT: stop polling, flush or persist the
spool, exit 0. A bad site file, no device answering at start-up, or a store that refuses the
credentials: a message naming the cause and a non-zero exit.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from microgrid.clock import RealClock
from microgrid.config import load_site
from microgrid.service.runner import ServiceOptions
from microgrid.service.wiring import DEFAULT_STORE, open_store, wire_service
from microgrid.site import CONTROL_MODES
from optimizer.planner import STRATEGIES

log = logging.getLogger("microgrid.run")


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
    p.add_argument("--status-port", type=int, default=8787,
                   help="loopback port of the HTTP status endpoint (0: any free port)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    site = load_site(args.site)
    store = open_store(args.store, args.spool)
    return asyncio.run(_serve(site, store, args))


async def _serve(site, store, args) -> int:
    clock = RealClock()
    try:
        wired = await wire_service(site, clock=clock, store=store, strategy=args.strategy,
                                   control_mode=args.control, status_port=args.status_port,
                                   options=ServiceOptions())
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
          + (f", status http://127.0.0.1:{wired.status.port}/status" if wired.status else ""),
          flush=True)
    try:
        await wired.service.run(stop)
    finally:
        await wired.close()
    log.info("stopped cleanly")
    print("stopped", flush=True)
    return 0
