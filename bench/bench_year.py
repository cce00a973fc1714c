"""Fuel over a simulated year on the bench camps: the MILP against HOMER's rules, measured in one run.

Run: ``python bench/bench_year.py [--camps all] [--days N] [--jobs 2] [--check-chunks DAYS]``.
Prints figures and ratios, asserts nothing.

Per bench camp (``bench/sites.py``: the example camp and the camps in ``bench/camps/``), four
rolling-horizon backtests on the virtual camp's physics (``optimizer.backtest``), same seed and
days, one after another: load following and cycle charging (rules decide each step on its
measured load and PV), the MILP with realistic forecasts (the real PV and load forecasters on the
simulated history) and with perfect forecasts. Each is cut into ``--jobs`` consecutive chunks run
in parallel processes (``optimizer.backtest_chunks``: every chunk after the first starts with
``--spinup-days`` of uncounted operation). ``--check-chunks DAYS`` first runs the MILP over DAYS
both in one sequence and chunked on the first camp, and prints how far the chunked figures are off.

The MILP is the one ``microgrid plan``, the service and ``microgrid backtest`` use: each camp's
``[optimizer]`` settings (gap, time limit, stored-energy value, whole-unit horizon), with the
year's operation on top: re-plan every 60 min over a 24 h horizon, 15-min steps for the first
2 h, hourly to 8 h, 2-h blocks after (``--horizon-h``, ``--fine-horizon-h``, ``--hourly-horizon-h``).

Printed per camp: fuel, and fuel counting the stored energy each run used up (SOC-adjusted: the
diesel worth of the SOC lost, added), the ratio to the better rule, curtailed PV, reserve shortfall,
unserved load, starts, solve p50/p95, wall time; and the fuel floor (every genset kWh the PV and the
battery's usable start energy cannot give, at the best full-load rate). Targets (issue 13): MILP
realistic SOC-adjusted ≤ the better rule's; realistic within 1 % of perfect; curtailment ≤ load
following's; no reserve shortfall; a MILP year ≤ 10 min on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from microgrid.config import load_site  # noqa: E402
from microgrid.simulator.conditions import SyntheticConditions  # noqa: E402
from microgrid.simulator.settings import load_simulator_settings  # noqa: E402
from microgrid.site import Site  # noqa: E402
from optimizer.backtest import backtest  # noqa: E402
from optimizer.backtest_chunks import backtest_chunks  # noqa: E402
from optimizer.backtest_report import BacktestResult  # noqa: E402
from optimizer.model import MilpOptions  # noqa: E402
from sites import CAMPS, camp_names  # noqa: E402

RUNS = (("load-following", "perfect"), ("cycle-charging", "perfect"),
        ("milp", "realistic"), ("milp", "perfect"))


def _site(args: argparse.Namespace, path: Path) -> Site:
    site = load_site(path)
    return replace(site, optimizer=replace(site.optimizer, horizon_h=args.horizon_h,
                                           fine_horizon_h=args.fine_horizon_h,
                                           hourly_horizon_h=args.hourly_horizon_h))


def _run(args: argparse.Namespace, site: Site, strategy: str, forecast: str, days: float | None = None,
         chunked: bool = True) -> BacktestResult:
    start = datetime.fromisoformat(args.start).replace(tzinfo=timezone.utc)
    opts = MilpOptions(mip_rel_gap=args.gap, time_limit_s=args.time_limit_s)
    kw = dict(start=start, days=args.days if days is None else days, strategy=strategy, forecast=forecast,
              replan_every_min=args.replan_every_min, milp_options=opts)
    truth = SyntheticConditions(site, load_simulator_settings(site.source), args.seed)
    t0 = time.strftime("%H:%M:%S")
    if chunked:
        r = backtest_chunks(site, truth, jobs=args.jobs, spinup_days=args.spinup_days, **kw)
    else:
        r = backtest(site, truth, **kw)
    print(f"  [{t0}] {site.name} {strategy}/{forecast} {kw['days']:g} d "
          f"{'chunked' if chunked else 'in one sequence'}: {r.wall_s:,.1f} s wall, {r.cpu_s:,.1f} s CPU",
          file=sys.stderr, flush=True)
    return r


def check_chunks(args: argparse.Namespace, site: Site) -> None:
    """The MILP (realistic) over ``args.check_chunks`` days in one sequence and chunked."""
    seq = _run(args, site, "milp", "realistic", days=args.check_chunks, chunked=False)
    chk = _run(args, site, "milp", "realistic", days=args.check_chunks)
    print(f"== chunking check, {site.name}, milp/realistic over {args.check_chunks:g} d, {args.jobs} chunks, "
          f"spin-up {args.spinup_days:g} d ==")
    for name in ("fuel_l", "fuel_soc_adjusted_l", "genset_kwh", "renewable_fraction_pct", "unserved_kwh",
                 "reserve_shortfall_h", "genset_starts_total", "wall_s"):
        a, b = getattr(seq, name), getattr(chk, name)
        ratio = f"{b / a:.4f}" if a else "-"
        print(f"  {name:<24} sequence {a:>12,.2f}  chunked {b:>12,.2f}  chunked/sequence {ratio}")
    print()


def fuel_floor_l(site: Site, r: BacktestResult) -> float:
    """Least fuel any strategy could burn: every kWh the PV and the battery's usable start energy
    cannot give, made at the best full-load rate of any genset (F0 + F1, L/kWh). [L]"""
    rate = min(g.fuel_f0_l_per_kwh_rated + g.fuel_f1_l_per_kwh for g in site.gensets)
    usable = sum(max(r.soc_start_pct - b.soc_min_pct, 0.0) / 100 * b.capacity_kwh * b.discharge_efficiency
                 for b in site.batteries)
    return rate * max(r.load_kwh - r.pv_available_kwh - usable, 0.0)


def report(site: Site, results: list[BacktestResult], days: float, jobs: int) -> dict:
    """Print one camp's table and checks; return its figures."""
    by = {(r.strategy, r.forecast): r for r in results}
    lf, cc = by["load-following", "measured"], by["cycle-charging", "measured"]
    real, perf = by["milp", "realistic"], by["milp", "perfect"]
    best = min((lf, cc), key=lambda r: r.fuel_soc_adjusted_l)
    floor = fuel_floor_l(site, real)
    print(f"  {'run':<24} {'fuel L':>11} {'SOC-adj L':>11} {'/best rule':>10} {'curtailed kWh':>13} "
          f"{'reserve short kWh/h':>19} {'unserved kWh':>12} {'starts':>6} {'solve p50/p95 s':>15} {'wall s':>7}")
    for r in results:
        name = f"{r.strategy}/{r.forecast}"
        solve = "-" if r.strategy != "milp" else f"{r.solve_p50_s:.3f}/{r.solve_p95_s:.3f}"
        print(f"  {name:<24} {r.fuel_l:>11,.0f} {r.fuel_soc_adjusted_l:>11,.0f} "
              f"{r.fuel_soc_adjusted_l / best.fuel_soc_adjusted_l:>10.4f} {r.curtailed_kwh:>13,.0f} "
              f"{r.reserve_shortfall_kwh:>10,.1f}/{r.reserve_shortfall_h:<8.2f} {r.unserved_kwh:>12.2f} "
              f"{r.genset_starts_total:>6d} {solve:>15} {r.wall_s:>7,.0f}")
    print(f"  {'fuel floor':<24} {floor:>11,.0f}")
    checks = {
        "milp_vs_best_rule": real.fuel_soc_adjusted_l / best.fuel_soc_adjusted_l,
        "realistic_vs_perfect": real.fuel_soc_adjusted_l / perf.fuel_soc_adjusted_l,
        "curtailed_vs_lf": real.curtailed_kwh / lf.curtailed_kwh if lf.curtailed_kwh else float("nan"),
        "milp_year_min": real.wall_s * 365.0 / days / 60.0,
        "milp_year_cpu_min": real.cpu_s * 365.0 / days / 60.0,
    }
    print(f"  MILP realistic / better rule ({best.strategy}), SOC-adjusted: {checks['milp_vs_best_rule']:.4f} "
          f"(target <= 1); / MILP perfect: {checks['realistic_vs_perfect']:.4f} (target <= 1.01); "
          f"curtailed {real.curtailed_kwh:,.0f} kWh vs load following {lf.curtailed_kwh:,.0f} (target <=); "
          f"reserve shortfall {real.reserve_shortfall_h:.2f} h (target 0); "
          f"MILP year ~{checks['milp_year_min']:.1f} min at this rate (target <= 10 on 2 cores; its CPU time "
          f"{checks['milp_year_cpu_min']:.1f} min, i.e. ~{checks['milp_year_cpu_min'] / jobs:.1f} min on {jobs} idle "
          f"cores); "
          f"best rule / floor {best.fuel_l / floor:.4f}, MILP / floor {real.fuel_l / floor:.4f}")
    print(flush=True)
    return {"site": site.name, "runs": [r.to_dict() for r in results], "fuel_floor_l": floor, "checks": checks}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--camps", default="all", help="comma-separated bench camps, or all (default): "
                    + ", ".join(CAMPS))
    ap.add_argument("--days", type=float, default=365.0)
    ap.add_argument("--start", default="2026-01-01", help="first day (UTC)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--replan-every-min", type=float, default=60.0)
    ap.add_argument("--horizon-h", type=float, default=24.0, help="planning horizon [h]")
    ap.add_argument("--fine-horizon-h", type=float, default=2.0, help="15-min part of the horizon [h]")
    ap.add_argument("--hourly-horizon-h", type=float, default=8.0,
                    help="hourly part of the horizon; 2-h blocks after it [h]")
    ap.add_argument("--gap", type=float, default=None, help="MIP relative gap (default: the camp's)")
    ap.add_argument("--time-limit-s", type=float, default=None, help="solve time limit (default: the camp's)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                    help="processes, each running one consecutive chunk of a backtest (default: CPUs)")
    ap.add_argument("--spinup-days", type=float, default=2.0, help="uncounted days before each later chunk")
    ap.add_argument("--check-chunks", type=float, metavar="DAYS",
                    help="first compare the MILP over DAYS in one sequence with the chunked run")
    ap.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = ap.parse_args()
    names = camp_names(args.camps)
    sites = {name: _site(args, CAMPS[name]) for name in names}
    if args.check_chunks:
        check_chunks(args, sites[names[0]])
    out = []
    for name in names:
        site = sites[name]
        t0 = time.perf_counter()
        results = [_run(args, site, s, f) for s, f in RUNS]
        print(f"== {name} ({CAMPS[name].name}): {args.days:g} days from {args.start}, seed {args.seed}, re-plan every "
              f"{args.replan_every_min:g} min, horizon {args.horizon_h:g} h (15 min to {args.fine_horizon_h:g} h, "
              f"hourly to {args.hourly_horizon_h:g} h, then 2 h), gap {args.gap or site.optimizer.mip_rel_gap:g}, "
              f"whole units to {site.optimizer.integer_horizon_h or args.horizon_h:g} h, {args.jobs} job(s), "
              f"spin-up {args.spinup_days:g} d, wall {time.perf_counter() - t0:,.0f} s ==")
        out.append(report(site, results, args.days, args.jobs))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
