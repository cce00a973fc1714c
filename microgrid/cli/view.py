"""`microgrid view --site SITE --store SPEC [--addr HOST:PORT]`: the camp page over any store.

Serves the same page as the service (docs/architecture.md §9), read-only, over a store that is
not necessarily written by this machine: the demo's SQLite file, a camp's store copied to a
laptop, or the mission's central InfluxDB. Loopback by default; ``--addr 0.0.0.0:8788`` shows
it on the camp LAN. Until Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import signal
from pathlib import Path
from typing import Callable, Sequence

from microgrid.config import load_site
from microgrid.errors import ConfigError, MicrogridError
from microgrid.service.status import StatusServer
from microgrid.site import Site
from microgrid.web import CampPage
from telemetry.historian.base import Historian

DEFAULT_ADDR = "127.0.0.1:8788"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("view", help="serve the camp page over a store (read-only)",
                       description=__doc__.split("\n\n", 1)[1])
    p.add_argument("--site", required=True, action="append", metavar="SITE",
                   help="site file (TOML); repeat for a store holding several camps")
    p.add_argument("--store", required=True, metavar="SPEC",
                   help="sqlite:///PATH (e.g. demo-out/microgrid.sqlite), influx1://HOST:PORT/DB "
                   "(add ?raw_days=N when the service wrote it with roll-ups); secrets from "
                   "MICROGRID_INFLUX_USER/_PASSWORD, never in the page")
    p.add_argument("--addr", default=DEFAULT_ADDR, metavar="HOST:PORT",
                   help=f"where to listen (default {DEFAULT_ADDR}: this machine only)")
    p.add_argument("--refresh", type=float, default=10.0, metavar="S",
                   help="seconds between refreshes of the page (default 10)")
    p.set_defaults(func=run)


def parse_addr(text: str) -> tuple[str, int]:
    """``HOST:PORT`` -> (host, port).

    Raises
    ------
    ConfigError
        Not HOST:PORT with a port in 0-65535.
    """
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"--addr {text!r}: expected HOST:PORT, e.g. 127.0.0.1:8788 or 0.0.0.0:8788")
    return host, int(port)


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def open_reader(spec: str) -> Historian:
    """The store named by ``spec``, opened to read only (a SQLite file must exist; it is never
    changed). SQLite is read with its roll-ups; InfluxDB with them when the spec says
    ``raw_days=``/``tiers=``."""
    from telemetry.historian import open_historian
    if spec.startswith("sqlite:"):
        path = Path(spec.split("?")[0].removeprefix("sqlite:").removeprefix("///"))
        if not path.is_file():
            raise ConfigError(f"store {spec!r}: no file {str(path)!r} (run the demo or the service "
                              f"first)")
    try:
        return open_historian(spec, tiered=spec.startswith("sqlite:"), readonly=True)
    except MicrogridError as exc:
        raise ConfigError(f"cannot open store {spec.split('?')[0]!r}: {exc}") from exc


async def serve_page(page: CampPage, host: str, port: int, status: Callable[[], dict],
                     ready: Callable[[str], None] | None = None) -> None:
    """Serve ``page`` (and /status, /health) on host:port until SIGINT or SIGTERM."""
    server = StatusServer(status, host=host, port=port, page=page)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    url = f"http://{host if ':' not in host else f'[{host}]'}:{server.port}/"
    if ready is not None:
        ready(url)
    try:
        await stop.wait()
    finally:
        await server.stop()


def announce(url: str, host: str, sites: Sequence[Site]) -> None:
    names = ", ".join(s.name for s in sites)
    print(f"camp page for {names}: {url} (read-only; Ctrl-C stops)", flush=True)
    if not is_loopback(host):
        print(f"  listening on {host}: anyone on this network can read the page", flush=True)


def run(args: argparse.Namespace) -> int:
    host, port = parse_addr(args.addr)
    if args.refresh < 1:
        raise ConfigError(f"--refresh must be at least 1 s, got {args.refresh:g}")
    sites = [load_site(p) for p in args.site]
    names = [s.name for s in sites]
    if len(set(names)) != len(names):
        raise ConfigError(f"--site: two site files name the same camp ({', '.join(names)})")
    store = open_reader(args.store)
    kind = args.store.split(":", 1)[0]
    page = CampPage(sites, store, refresh_s=args.refresh, mode="view")

    def status() -> dict:
        return {"healthy": True, "reasons": [], "mode": "view", "store": kind, "sites": names}

    try:
        asyncio.run(serve_page(page, host, port, status, lambda url: announce(url, host, sites)))
    except OSError as exc:
        raise ConfigError(f"cannot listen on {args.addr}: {exc.strerror or exc}") from exc
    finally:
        store.close()
    return 0
