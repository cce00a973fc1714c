"""`microgrid demo [--days N] [--speed X] [--out DIR]`: the main job, on the embedded store.

Starts the virtual camp on loopback and the service against it on a fast clock (SQLite
historian, control enabled on the virtual camp), shows a progress bar, prints a summary
against load following on the same simulated days, and writes a report and the dashboards
export into the output folder. With ``--serve``, the camp page stays up over the demo's store
until Ctrl-C (``--addr`` to show it on the LAN).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import sys
import time
from datetime import datetime
from pathlib import Path

from tqdm import tqdm

from microgrid.cli.simulate_camp import with_leak
from microgrid.cli.stores import open_reader
from microgrid.cli.view import announce, parse_addr, serve_page
from microgrid.demo import DemoOptions, DemoResult, run_demo
from microgrid.errors import ConfigError
from microgrid.simulator.settings import load_camp
from microgrid.site import Site
from microgrid.web import CampPage

EXAMPLE_SITE = Path(__file__).resolve().parents[2] / "sites" / "example-camp.toml"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the virtual camp and the service against it (the main job)",
                       description=__doc__.split("\n\n", 1)[1])
    p.add_argument("--site", default=str(EXAMPLE_SITE), help="site file (default: the example camp)")
    p.add_argument("--days", type=float, default=1.0, help="simulated days (default 1)")
    p.add_argument("--speed", default="max",
                   help="'max' (default): simulated time moves as fast as the service computes; "
                   "a number X: X simulated seconds per wall second")
    p.add_argument("--out", default="demo-out", help="output folder (default demo-out)")
    p.add_argument("--start", help="simulated start, ISO 8601 UTC (default 2026-11-01 local midnight)")
    p.add_argument("--seed", type=int, help="weather/load seed (default: the site's)")
    p.add_argument("--strategy", default="milp", choices=("milp", "load-following", "cycle-charging"))
    p.add_argument("--poll-interval", type=float, default=30.0, metavar="S",
                   help="simulated seconds between polls (default 30)")
    p.add_argument("--influx-url", metavar="SPEC",
                   help="stream into InfluxDB instead of SQLite, e.g. influx1://127.0.0.1:8086/microgrid "
                   "or influx2://127.0.0.1:8086?org=un&bucket=microgrid (token: MICROGRID_INFLUX_TOKEN)")
    p.add_argument("--leak-l-per-h", type=float, default=None, metavar="L",
                   help="switch a leak on in the virtual camp's first bulk tank from the start [L/h]: "
                   "the unexplained-loss alarm shows it (default: none)")
    p.add_argument("--serve", action="store_true",
                   help="after the demo, serve the camp page over its store until Ctrl-C")
    p.add_argument("--addr", default="127.0.0.1:8788", metavar="HOST:PORT",
                   help="where --serve listens (default 127.0.0.1:8788: this machine only)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.days <= 0 or args.days > 366:
        raise ConfigError(f"--days must be in (0, 366], got {args.days}")
    speed = None
    if args.speed != "max":
        try:
            speed = float(args.speed)
        except ValueError:
            speed = -1.0
        if not speed > 0:
            raise ConfigError(f"--speed must be 'max' or a number > 0, got {args.speed!r}")
    start = None
    if args.start:
        start = datetime.fromisoformat(args.start.replace("Z", "+00:00"))
        if start.tzinfo is None or start.utcoffset().total_seconds() != 0:
            raise ConfigError(f"--start {args.start!r} must be UTC (end it with Z)")
    site, sim = load_camp(args.site)
    sim = with_leak(sim, args.leak_l_per_h)
    if args.serve:
        host, port = parse_addr(args.addr)  # a bad address fails before the demo runs
    out = Path(args.out)
    options = DemoOptions(days=args.days, start=start, out=out, seed=args.seed,
                          poll_interval_s=args.poll_interval, strategy=args.strategy,
                          store=args.influx_url, speed=speed)
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    t0 = time.monotonic()
    total_h = args.days * 24
    with tqdm(total=round(total_h, 2), unit="h", desc="simulated", file=sys.stderr,
              bar_format="{l_bar}{bar}| {n:.1f}/{total:.0f} h [{elapsed}<{remaining}]") as bar:
        def progress(done_h: float, _total: float) -> None:
            bar.n = round(min(done_h, total_h), 2)
            bar.refresh()
        result = asyncio.run(run_demo(site, sim, options, progress))
    wall = time.monotonic() - t0
    print(summary_text(result, wall))
    write_outputs(site, result)
    if args.serve:
        serve(site, result.store, host, port)
    return 0


def serve(site: Site, store_spec: str, host: str, port: int) -> None:
    """The camp page over the demo's store until Ctrl-C."""
    store = open_reader(store_spec)
    page = CampPage([site], store, mode="view of the demo's store")
    status = {"healthy": True, "reasons": [], "mode": "demo", "sites": [site.name]}
    try:
        asyncio.run(serve_page(page, host, port, lambda: status, lambda url: announce(url, host, [site])))
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    finally:
        store.close()


def summary_text(r: DemoResult, wall_s: float) -> str:
    """The demo's summary. It leads with the litres saved against load following on the same
    simulated days, counting the stored energy each run used up (the two runs end with the
    battery at different charges; docs/architecture.md §4), and says why the raw renewable
    fractions differ from the SOC-adjusted ones."""
    s = r.summary
    fuel_l = s.fuel_l or 0.0
    ours_l, theirs_l = fuel_l + r.soc_change_l, r.baseline_fuel_l + r.baseline_soc_change_l
    saved_l = theirs_l - ours_l
    pct = 100 * saved_l / theirs_l if theirs_l else math.nan
    lines = [
        f"camp-microgrid demo: {s.site} ({s.mission}), {s.period.title}, {wall_s:.0f} s wall time",
        f"  diesel saved           {saved_l:8.0f} L  ({pct:.1f} %) against load following on the same days, "
        f"counting the stored energy each run used up",
        f"  diesel                 {fuel_l:8.0f} L  ({s.fuel_basis}) {r.soc_change_l:+.0f} L for the battery's "
        f"change = {ours_l:.0f} L; load following {r.baseline_fuel_l:.0f} L {r.baseline_soc_change_l:+.0f} L "
        f"= {theirs_l:.0f} L",
        f"  renewable fraction     {r.renewable_fraction_adjusted_pct:6.1f} %   counting the stored energy used up "
        f"(load following {r.baseline_renewable_fraction_adjusted_pct:.1f} %)",
        f"                         raw {s.renewable_fraction_pct:.1f} % (load following "
        f"{r.baseline_renewable_fraction_pct:.1f} %): the battery ended at {r.soc_end_pct:.0f} % here, "
        f"{r.baseline_soc_end_pct:.0f} % under load following (from {r.soc_start_pct:.0f} %);",
        "                         energy a run takes out of the battery is not renewable energy it made, "
        "so only the figures counting the stored energy compare like with like",
        f"  CO2                    {s.co2_t:8.2f} t",
        f"  load / PV / gensets    {s.load_kwh:8.0f} / {s.pv_kwh:.0f} / {s.genset_kwh:.0f} kWh",
        f"  unserved load          {r.unserved_kwh:8.1f} kWh",
        f"  plans {r.plans} ({r.fallbacks} fallback), setpoints written and confirmed: "
        f"{r.setpoints_written}",
        "  gensets:"]
    for g in s.gensets:
        lines.append(f"    {g.name:<8} {g.run_h:5.1f} h run, {g.starts:.0f} starts, "
                     f"{g.below_min_h:.1f} h below minimum load, {g.fuel_l:.0f} L")
    lines += fuel_lines(r)
    lines.append(f"  data completeness {s.completeness_pct:.1f} %; store {r.store}")
    return "\n".join(lines)


def fuel_lines(r: DemoResult) -> list[str]:
    """Fuel on site, days of autonomy, deliveries, convoys avoided and the alarms raised."""
    f, s = r.fuel, r.summary
    if f is None or f.stock is None:
        return ["  fuel on site           not known (no tank gauge answered)"]
    tanks = ", ".join(f"{name} {litres:,.0f} L" for name, litres in f.stock.by_tank_l.items())
    basis = (f"the plan's {f.planned_burn_l_per_day:,.0f} L/d" if f.planned_burn_l_per_day is not None
             else "the measured burn" if f.burn_l_per_day is not None else "")
    days = "not known" if f.autonomy_days is None else f"{f.autonomy_days:.1f} days"
    lines = [f"  fuel on site           {f.stock.stock_l:8,.0f} L  (± {f.stock.tolerance_l:,.0f} L: {tanks})",
             f"  days of autonomy       {days} at {basis}" if basis else f"  days of autonomy       {days}"]
    found = "; ".join(f"{t:%Y-%m-%d %H:%M} UTC {litres:,.0f} L" for t, litres in r.deliveries) or "none"
    lines.append(f"  deliveries             {len(r.deliveries)}: {found} (the tankers brought "
                 f"{r.delivered_truth_l:,.0f} L)")
    if s.convoys_avoided is not None and s.tanker_size_l:
        lines.append(f"  convoys avoided        {s.convoys_avoided:8.2f}    ({s.fuel_avoided_l:,.0f} L "
                     f"avoided vs diesel-only / {s.tanker_size_l:,.0f} L per tanker)")
    raised = ", ".join(f"{d} {c}" for d, c in r.alarms_raised) or "none"
    lines.append(f"  alarms raised          {raised}")
    return lines


def write_outputs(site, r: DemoResult) -> None:
    from dashboards.export import export
    from microgrid.reports.export import write_report
    paths = [write_report(r.summary, fmt, r.out / f"report.{fmt}") for fmt in ("html", "pdf", "csv", "xlsx")]
    export(r.out / "grafana", site)
    print(f"  wrote {', '.join(str(p) for p in paths)} and {r.out / 'grafana'}/ "
          f"(dashboards + provisioning)")
