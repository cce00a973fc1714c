"""`microgrid simulate-camp --site SITE [--speed X]`: serve the virtual camp over Modbus.

One pymodbus server per link of the site file (Modbus TCP, RTU over TCP, or a serial line with
RTU), serving each device's register profile with the camp's physics behind it, obeying
setpoints written to it. A commissioning partner: point `microgrid poll` (or mbpoll) at it.
With ``--virtual-serial`` each serial line of the site file becomes a virtual cable (two joined
pseudo-terminals): the camp serves one end and the site file's path is linked to the other, so
`microgrid poll` reads the same site file with no hardware.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import signal
from datetime import datetime, timezone

from microgrid.clock import SimClock
from microgrid.errors import ConfigError
from microgrid.simulator.camp import VirtualCamp
from microgrid.simulator.server import serve_camp
from microgrid.simulator.settings import SimulatorSettings, load_camp
from microgrid.site import Site
from telemetry.testing.serial_link import VirtualSerialLink, attach


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate-camp", help="serve the virtual camp over Modbus TCP",
                       description="Serve the site's devices from the virtual camp's physics over "
                       "Modbus TCP until interrupted (Ctrl-C / SIGTERM).")
    p.add_argument("--site", required=True, help="site file (TOML)")
    p.add_argument("--speed", type=float, default=1.0,
                   help="simulated seconds per wall second (default 1: real time)")
    p.add_argument("--start", help="simulated start time, ISO 8601 UTC (default: now)")
    p.add_argument("--seed", type=int, help="weather/load seed (default: the site's)")
    p.add_argument("--leak-l-per-h", type=float, default=None, metavar="L",
                   help="a leak from the first bulk tank from the start [L/h] (default: the site's "
                   "[simulator] fuel_leak_l_per_h)")
    p.add_argument("--print-every", type=float, default=5.0, metavar="S",
                   help="print the camp state every S wall seconds (0: never)")
    p.add_argument("--duration", type=float, default=None, metavar="S",
                   help="stop after S wall seconds (default: run until interrupted)")
    p.add_argument("--virtual-serial", action="store_true",
                   help="serve each serial line on a virtual cable and link the site file's "
                        "path (which must be free, e.g. /tmp/camp-rs485) to its other end")
    p.set_defaults(func=run)


def _start(text: str | None) -> datetime:
    if not text:
        return datetime.now(timezone.utc).replace(microsecond=0)
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"--start {text!r} is not an ISO 8601 time") from None
    if t.tzinfo is None or t.utcoffset().total_seconds() != 0:
        raise ConfigError(f"--start {text!r} must be UTC (end it with Z or +00:00)")
    return t


def run(args: argparse.Namespace) -> int:
    if not args.speed > 0:
        raise ConfigError(f"--speed must be > 0, got {args.speed}")
    site, sim = load_camp(args.site)
    sim = with_leak(sim, args.leak_l_per_h)
    clock = SimClock(_start(args.start), speed=args.speed)
    return asyncio.run(_serve(site, sim, clock, args))


def with_leak(sim: SimulatorSettings, leak_l_per_h: float | None) -> SimulatorSettings:
    """The knobs with a leak switched on (None: as the site file says)."""
    if leak_l_per_h is None:
        return sim
    if not 0 <= leak_l_per_h <= 1e5:
        raise ConfigError(f"--leak-l-per-h must be in [0, 100000], got {leak_l_per_h}")
    return dataclasses.replace(sim, fuel_leak_l_per_h=float(leak_l_per_h))


async def _serve(site: Site, sim: SimulatorSettings, clock: SimClock, args: argparse.Namespace) -> int:
    camp = VirtualCamp(site, sim, clock, seed=args.seed)
    with contextlib.ExitStack() as cables:
        serve_paths = _virtual_cables(site, cables) if args.virtual_serial else {}
        return await _run(site, camp, serve_paths, args)


def _virtual_cables(site: Site, stack: contextlib.ExitStack) -> dict[str, str]:
    """One virtual cable per serial line; ``{site path: path the camp serves}``."""
    out: dict[str, str] = {}
    for d in site.devices:
        line = d.modbus.serial
        if line is None or line.port in out:
            continue
        link = stack.enter_context(VirtualSerialLink())
        stack.callback(attach(line.port, link).unlink, missing_ok=True)
        out[line.port] = link.server_path
        print(f"  virtual serial cable: {line.port} -> {link.client_path} "
              f"(camp on {link.server_path})")
    return out


async def _run(site: Site, camp: VirtualCamp, serve_paths: dict[str, str],
               args: argparse.Namespace) -> int:
    clock = camp.clock
    servers = await serve_camp(site, camp, serve_paths=serve_paths)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"virtual camp {site.name!r} at {args.speed:g}x, simulated start {clock.now():%Y-%m-%d %H:%M} UTC")
    for d in site.devices:
        m = d.modbus
        print(f"  {d.name:<12} {m.profile:<17} {m.link} unit {m.unit_id}")
    print("serving; Ctrl-C to stop", flush=True)
    try:
        deadline = None if args.duration is None else loop.time() + args.duration
        while not stop.is_set():
            wait = args.print_every if args.print_every > 0 else 3600.0
            if deadline is not None:
                wait = min(wait, max(0.0, deadline - loop.time()))
            try:
                await asyncio.wait_for(stop.wait(), timeout=wait)
            except asyncio.TimeoutError:
                pass
            if args.print_every > 0 and not stop.is_set():
                print(_state_line(camp), flush=True)
            if deadline is not None and loop.time() >= deadline:
                break
    finally:
        await servers.stop()
    return 0


def _state_line(camp: VirtualCamp) -> str:
    step = camp.advance()
    gens = " ".join(f"{n}={kw:.0f}" for n, kw in step.genset_kw.items() if step.genset_on.get(n))
    soc = " ".join(f"{v:.1f}%" for v in step.soc_pct.values())
    return (f"{camp.clock.now():%Y-%m-%d %H:%M:%S}Z load {step.load_kw:6.1f} kW  PV {step.pv_kw:6.1f} kW  "
            f"gensets [{gens or 'off'}]  battery {step.battery_total_kw:+6.1f} kW SOC {soc}  "
            f"unserved {step.unserved_kw:.1f} kW")
