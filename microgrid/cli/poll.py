"""`microgrid poll --site SITE --once [--json]`: read every device once (commissioning).

Prints one line per device (name, kind, endpoint, status, key fields) or, with ``--json``, a
list of readings ``{"time", "measurement", "device", "fields": {...}}`` (offline devices carry
``"online": 0`` and a ``"reason"``). The JSON is strict whatever the registers hold: a value a
device serves as NaN or ±infinity, or with a scale factor outside SunSpec's -10..10, decodes as
missing (the field is absent, the table shows ``missing``), like every missing reading; any
non-finite number left would print as ``null``. Exit 0 when at least one device answered (the count of
offline ones is printed), 1 when none did, 2 on a bad site file.

Without ``--once`` it keeps polling each device at its interval (with backoff for failing
ones) and prints every cycle (``--json``: one JSON reading per line) until interrupted or
``--cycles`` cycles that read something have been printed.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import math
import sys
from typing import Any

from microgrid.clock import RealClock
from microgrid.config import load_site
from microgrid.site import Site

#: Fields shown in the table, per measurement (units are in the names).
KEY_FIELDS = {
    "pv_inverter": ("ac_power_kw", "energy_total_kwh", "power_limit_pct", "status"),
    "battery": ("power_kw", "soc_pct", "soh_pct", "voltage_v", "temp_c"),
    "genset": ("running", "power_kw", "load_pct", "fuel_level_pct", "run_hours_h", "starts"),
    "load_meter": ("power_kw", "energy_total_kwh"),
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("poll", help="read the devices over Modbus and print the values",
                       description="Read the site's devices over Modbus (SunSpec discovery "
                       "included) and print a table or JSON readings: every device once with "
                       "--once, else each at its interval until interrupted. Exit 0 if any "
                       "device answered, 1 if none did, 2 on a bad site file.")
    p.add_argument("--site", required=True, metavar="SITE", help="site file (TOML)")
    p.add_argument("--once", action="store_true", help="poll every device once and exit")
    p.add_argument("--json", action="store_true", help="print JSON readings instead of a table")
    p.add_argument("--cycles", type=int, default=None, metavar="N",
                   help="without --once: stop after N cycles that read something")
    p.add_argument("--timeout", type=float, default=None, metavar="S",
                   help="request timeout [s] (default: each device's modbus.timeout_s)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    site = load_site(args.site)
    if args.timeout is not None:
        site = _with_timeout(site, args.timeout)
    if args.verbose < 2:
        logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    if not args.once:
        return asyncio.run(poll_forever(site, args.json, args.cycles))
    cycle = asyncio.run(poll_once(site))
    answered = [n for n, s in cycle.status.items() if s.online]
    offline = [n for n, s in cycle.status.items() if not s.online]
    if args.json:
        print(json.dumps(readings_json(cycle), indent=2, allow_nan=False))
    else:
        print(table(site, cycle))
        print(f"{len(answered)} of {len(cycle.status)} devices answered"
              + (f"; {len(offline)} offline: {', '.join(offline)}" if offline else ""))
    return 0 if answered else 1


async def poll_once(site: Site):
    """One :meth:`Poller.poll_all` with a fresh poller (closed afterwards)."""
    from telemetry.poller import Poller
    poller = Poller(site, clock=RealClock(), cycle_wait_s=None)
    try:
        return await poller.poll_all()
    finally:
        await poller.close()


async def poll_forever(site: Site, as_json: bool, cycles: int | None) -> int:
    """Poll at each device's interval, printing each cycle; returns 0 (1 if none answered)."""
    from telemetry.poller import Poller
    clock = RealClock()
    poller = Poller(site, clock=clock)
    printed, ever = 0, False
    try:
        while cycles is None or printed < cycles:
            cycle = await poller.poll_due()
            if cycle.readings:
                printed += 1
                ever = ever or any(r.fields.get("online") for r in cycle.readings)
                if as_json:
                    for item in readings_json(cycle):
                        print(json.dumps(item, allow_nan=False), flush=True)
                else:
                    stamp = cycle.time.strftime("%H:%M:%S")
                    rows = table(site, cycle, only=cycle.polled).splitlines()[1:]
                    print("\n".join(f"{stamp} {row}" for row in rows), flush=True)
            await clock.sleep(0.25)
    finally:
        await poller.close()
    return 0 if ever else 1


def readings_json(cycle: Any) -> list[dict[str, Any]]:
    """The cycle's device readings as JSON objects (strict JSON: no NaN or infinity, those are
    null); offline ones carry their reason."""
    out = []
    for r in cycle.readings:
        item = r.to_json()
        item["fields"] = {k: v if math.isfinite(v) else None for k, v in item["fields"].items()}
        status = cycle.status.get(r.device)
        if status is not None and not status.online:
            item["reason"] = status.reason
        out.append(item)
    return out


def table(site: Site, cycle, only: list[str] | None = None) -> str:
    """A header, then one line per device (or per device in ``only``): name, kind, endpoint,
    status, key fields."""
    lines = [f"{'device':<14} {'kind':<12} {'endpoint':<22} {'status':<8} values"]
    for d in site.devices:
        if only is not None and d.name not in only:
            continue
        s = cycle.status[d.name]
        ep = f"{s.endpoint}/{s.unit_id}"
        if not s.online:
            lines.append(f"{d.name:<14} {s.kind:<12} {ep:<22} {'OFFLINE':<8} {s.reason}")
            continue
        values = cycle.values.get(d.name, {})
        shown = [f"{k}={_fmt(values.get(k))}" for k in KEY_FIELDS.get(s.kind, ())]
        lines.append(f"{d.name:<14} {s.kind:<12} {ep:<22} {'online':<8} {' '.join(shown)}")
    return "\n".join(lines)


def _fmt(value) -> str:
    if value is None:
        return "missing"
    if isinstance(value, float):
        return f"{value:.0f}" if abs(value) >= 1e5 else f"{value:.6g}"
    return str(value)


def _with_timeout(site: Site, timeout_s: float) -> Site:
    def fix(d):
        return dataclasses.replace(d, modbus=dataclasses.replace(d.modbus, timeout_s=timeout_s))
    return site.with_devices(fix)


if __name__ == "__main__":  # pragma: no cover
    from microgrid.cli import main
    sys.exit(main(["poll", *sys.argv[1:]]))
