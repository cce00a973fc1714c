"""Fuel over a simulated year of the example site: the MILP against HOMER's rules, measured in one run.

Run: ``python bench/bench_year.py [--days N] [--jobs 2] [--check-chunks DAYS]``. Prints figures
and ratios, asserts nothing.

Four rolling-horizon backtests on the virtual camp's physics (``optimizer.backtest``), same seed
and days, one after another: MILP with realistic forecasts (the real PV and load forecasters on
the simulated history), MILP with perfect forecasts, load following, cycle charging (rules
decide each step on its measured load and PV). Each is cut into ``--jobs`` consecutive chunks
run in parallel processes (``optimizer.backtest_chunks``: every chunk after the first starts
with ``--spinup-days`` of uncounted operation). ``--check-chunks DAYS`` first runs the MILP over
DAYS both in one sequence and chunked, and prints how far the chunked figures are off.

The defaults are the operation the year is measured in: re-plan every 60 min over a 24 h
horizon, 15-min steps for the first 2 h, hourly to 8 h, 2-h blocks after; 1 % MIP gap.
Targets (issue 4): milp_realistic ≤ 0.90 × the better baseline; milp_realistic within 3 % of
milp_perfect; zero unserved load; reserve met; MILP year ≤ 10 min. Ratios are on fuel and on
SOC-adjusted fuel (the diesel worth of the SOC a run used up added).
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

from microgrid.config import load_site  # noqa: E402
from microgrid.simulator.conditions import SyntheticConditions  # noqa: E402
from microgrid.simulator.settings import load_simulator_settings  # noqa: E402
from optimizer.backtest import backtest  # noqa: E402
from optimizer.backtest_chunks import backtest_chunks  # noqa: E402
from optimizer.backtest_report import BacktestResult, format_comparison  # noqa: E402
from optimizer.model import MilpOptions  # noqa: E402

SITE = ROOT / "sites" / "example-camp.toml"
RUNS = (("load-following", "perfect"), ("cycle-charging", "perfect"),
        ("milp", "realistic"), ("milp", "perfect"))


def _site(args: argparse.Namespace):
    site = load_site(args.site)
    return replace(site, optimizer=replace(site.optimizer, horizon_h=args.horizon_h,
                                           fine_horizon_h=args.fine_horizon_h,
                                           hourly_horizon_h=args.hourly_horizon_h))


def _run(args: argparse.Namespace, strategy: str, forecast: str, days: float | None = None,
         chunked: bool = True) -> BacktestResult:
    start = datetime.fromisoformat(args.start).replace(tzinfo=timezone.utc)
    opts = MilpOptions(mip_rel_gap=args.gap, time_limit_s=args.time_limit_s)
    kw = dict(start=start, days=args.days if days is None else days, strategy=strategy, forecast=forecast,
              replan_every_min=args.replan_every_min, milp_options=opts)
    site = _site(args)
    truth = SyntheticConditions(site, load_simulator_settings(args.site), args.seed)
    t0 = time.strftime("%H:%M:%S")
    if chunked:
        r = backtest_chunks(site, truth, jobs=args.jobs, spinup_days=args.spinup_days, **kw)
    else:
        r = backtest(site, truth, **kw)
    print(f"  [{t0}] {strategy}/{forecast} {kw['days']:g} d {'chunked' if chunked else 'in one sequence'}: "
          f"{r.wall_s:,.1f} s", file=sys.stderr, flush=True)
    return r


def check_chunks(args: argparse.Namespace) -> None:
    """The MILP (realistic) over ``args.check_chunks`` days in one sequence and chunked."""
    seq = _run(args, "milp", "realistic", days=args.check_chunks, chunked=False)
    chk = _run(args, "milp", "realistic", days=args.check_chunks)
    print(f"== chunking check, milp/realistic over {args.check_chunks:g} d, {args.jobs} chunks, spin-up "
          f"{args.spinup_days:g} d ==")
    for name in ("fuel_l", "fuel_soc_adjusted_l", "genset_kwh", "renewable_fraction_pct", "unserved_kwh",
                 "reserve_shortfall_h", "genset_starts_total", "wall_s"):
        a, b = getattr(seq, name), getattr(chk, name)
        ratio = f"{b / a:.4f}" if a else "-"
        print(f"  {name:<24} sequence {a:>12,.2f}  chunked {b:>12,.2f}  chunked/sequence {ratio}")
    print()


def fuel_floor_l(site, r: BacktestResult) -> float:
    """Least fuel any strategy could burn: every kWh the PV and the battery's usable start energy
    cannot give, made at the best full-load rate of any genset (F0 + F1, L/kWh). [L]"""
    rate = min(g.fuel_f0_l_per_kwh_rated + g.fuel_f1_l_per_kwh for g in site.gensets)
    usable = sum(max(r.soc_start_pct - b.soc_min_pct, 0.0) / 100 * b.capacity_kwh * b.discharge_efficiency
                 for b in site.batteries)
    return rate * max(r.load_kwh - r.pv_available_kwh - usable, 0.0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--site", default=str(SITE))
    ap.add_argument("--days", type=float, default=365.0)
    ap.add_argument("--start", default="2026-01-01", help="first day (UTC)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--replan-every-min", type=float, default=60.0)
    ap.add_argument("--horizon-h", type=float, default=24.0, help="planning horizon [h]")
    ap.add_argument("--fine-horizon-h", type=float, default=2.0, help="15-min part of the horizon [h]")
    ap.add_argument("--hourly-horizon-h", type=float, default=8.0,
                    help="hourly part of the horizon; 2-h blocks after it [h]")
    ap.add_argument("--gap", type=float, default=0.01, help="MIP relative gap")
    ap.add_argument("--time-limit-s", type=float, default=None, help="solve time limit (default: the site's)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                    help="processes, each running one consecutive chunk of a backtest (default: CPUs)")
    ap.add_argument("--spinup-days", type=float, default=2.0, help="uncounted days before each later chunk")
    ap.add_argument("--check-chunks", type=float, metavar="DAYS",
                    help="first compare the MILP over DAYS in one sequence with the chunked run")
    ap.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = ap.parse_args()
    if args.check_chunks:
        check_chunks(args)
    t0 = time.perf_counter()
    results = [_run(args, s, f) for s, f in RUNS]
    print(f"== {args.days:g} days of {Path(args.site).name} from {args.start}, seed {args.seed}, "
          f"re-plan every {args.replan_every_min:g} min, horizon {args.horizon_h:g} h (15 min to "
          f"{args.fine_horizon_h:g} h, hourly to {args.hourly_horizon_h:g} h, then 2 h), gap {args.gap}, "
          f"time limit {'site' if args.time_limit_s is None else args.time_limit_s}, {args.jobs} job(s), "
          f"spin-up {args.spinup_days:g} d, total wall {time.perf_counter() - t0:.0f} s ==")
    print(format_comparison(results))
    print()
    by = {(r.strategy, r.forecast): r for r in results}
    for r in results:
        print(f"{r.strategy:>15}/{r.forecast:<9} fuel {r.fuel_l:>11,.1f} L  SOC-adj {r.fuel_soc_adjusted_l:>11,.1f} L"
              f"  SOC {r.soc_start_pct:.1f}->{r.soc_end_pct:.1f} %  RF {r.renewable_fraction_pct:.1f} %"
              f"  unserved {r.unserved_kwh:.2f} kWh  reserve short {r.reserve_shortfall_kwh:.1f} kWh"
              f" / {r.reserve_shortfall_h:.2f} h  below-min {r.below_min_h_total:.2f} h"
              f"  starts {r.genset_starts_total}  run {r.genset_run_h_total:,.0f} h"
              f"  plans {r.plans}  fallbacks {r.fallbacks}"
              f"  solve p50/p95 {r.solve_p50_s:.3f}/{r.solve_p95_s:.3f} s  wall {r.wall_s:,.0f} s")
    real, perf = by["milp", "realistic"], by["milp", "perfect"]
    best = min((by["load-following", "measured"], by["cycle-charging", "measured"]), key=lambda r: r.fuel_l)
    best_adj = min((by["load-following", "measured"], by["cycle-charging", "measured"]),
                   key=lambda r: r.fuel_soc_adjusted_l)
    print()
    print(f"milp_realistic / best baseline ({best.strategy}): {real.fuel_l / best.fuel_l:.4f} "
          f"(target <= 0.90); SOC-adjusted ({best_adj.strategy}): "
          f"{real.fuel_soc_adjusted_l / best_adj.fuel_soc_adjusted_l:.4f}")
    print(f"milp_realistic / milp_perfect: {real.fuel_l / perf.fuel_l:.4f} (target <= 1.03); "
          f"SOC-adjusted {real.fuel_soc_adjusted_l / perf.fuel_soc_adjusted_l:.4f}")
    floor = fuel_floor_l(load_site(args.site), real)
    print(f"fuel floor (all genset energy at the best full-load L/kWh, no PV wasted): {floor:,.1f} L; "
          f"best baseline / floor {best.fuel_l / floor:.4f}, milp_realistic / floor {real.fuel_l / floor:.4f}")
    scale = 365.0 / args.days
    print(f"MILP wall: realistic {real.wall_s:,.0f} s, perfect {perf.wall_s:,.0f} s for {args.days:g} d "
          f"(~{real.wall_s * scale / 60:,.0f} min per year at this rate; target <= 10 min)")
    if args.json:
        Path(args.json).write_text(json.dumps([r.to_dict() for r in results], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
