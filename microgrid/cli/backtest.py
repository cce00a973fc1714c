"""`microgrid backtest --site SITE --days N --strategy S [--forecast F] [--seed K] [--start DATE] [--jobs J] [--json]`.

Rolling-horizon operation of the virtual camp's physics (no Modbus) by one strategy, or by all
three with ``--compare``; prints the measured figures as a table or JSON. ``--jobs J`` cuts the
period into J consecutive chunks run in parallel processes (:mod:`optimizer.backtest_chunks`).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone

from tqdm import tqdm

from microgrid.errors import InputError
from microgrid.simulator.conditions import SyntheticConditions
from microgrid.simulator.settings import load_camp
from optimizer.backtest import FORECASTS, backtest
from optimizer.backtest_chunks import SPINUP_DAYS, backtest_chunks
from optimizer.backtest_report import format_comparison, format_table
from optimizer.planner import STRATEGIES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backtest", help="operate the virtual camp with a strategy over simulated days",
                       description="Rolling-horizon backtest on the virtual camp's physics: re-plan "
                       "every --replan-every-min with perfect or realistic forecasts, carry out each "
                       "plan through the same setpoint mapping as the live service, and report fuel, "
                       "renewable fraction, genset hours and starts, unserved load, reserve shortfall, "
                       "fallbacks and solve times.")
    p.add_argument("--site", required=True, metavar="SITE", help="site file (TOML)")
    p.add_argument("--days", type=float, required=True, metavar="N", help="simulated days")
    p.add_argument("--strategy", choices=STRATEGIES, default="milp", help="dispatch strategy (default milp)")
    p.add_argument("--forecast", choices=FORECASTS, default="realistic",
                   help="forecasts the planner gets (default realistic)")
    p.add_argument("--seed", type=int, default=None, metavar="K",
                   help="seed of weather and load (default: the site's simulator seed)")
    p.add_argument("--start", default=None, metavar="DATE",
                   help="first day, ISO date or time in UTC (default: 1 January of this year)")
    p.add_argument("--replan-every-min", type=float, default=15.0, metavar="MIN",
                   help="re-plan interval, a multiple of the planning step [min] (default 15; "
                   "60 makes a MILP backtest about 4x faster)")
    p.add_argument("--step-min", type=float, default=None, metavar="MIN",
                   help="physics step, dividing the planning step [min] (default: the planning step)")
    p.add_argument("--horizon-h", type=float, default=None, metavar="H",
                   help="planning horizon [h] (default: the site's optimizer.horizon_h)")
    p.add_argument("--jobs", type=int, default=1, metavar="J",
                   help="run the period as J consecutive chunks in J processes, each chunk after the "
                   f"first with {SPINUP_DAYS:g} uncounted days of spin-up (default 1: one sequence)")
    p.add_argument("--compare", action="store_true",
                   help="run milp, load-following and cycle-charging on the same days and compare fuel")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def parse_start(text: str | None) -> datetime:
    """``--start`` as an aware UTC datetime (naive input is UTC)."""
    if text is None:
        return datetime(datetime.now(timezone.utc).year, 1, 1, tzinfo=timezone.utc)
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"--start {text!r} is not an ISO 8601 date or time", column="start") from exc
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


def run(args: argparse.Namespace) -> int:
    site, sim = load_camp(args.site)
    conditions = SyntheticConditions(site, sim, args.seed)
    start = parse_start(args.start)
    strategies = STRATEGIES if args.compare else (args.strategy,)
    if args.jobs < 1:
        raise InputError(f"--jobs must be >= 1, got {args.jobs}", column="jobs")
    results = []
    for strategy in strategies:
        if args.jobs > 1:  # chunks in processes: no per-step progress
            if not args.no_progress:
                print(f"{strategy}: {args.jobs} chunks in parallel ...", file=sys.stderr, flush=True)
            results.append(backtest_chunks(site, conditions, start=start, days=args.days, jobs=args.jobs,
                                           strategy=strategy, forecast=args.forecast,
                                           replan_every_min=args.replan_every_min, step_min=args.step_min,
                                           horizon_h=args.horizon_h))
            continue
        bar = tqdm(total=0, desc=strategy, unit="step", file=sys.stderr, disable=args.no_progress,
                   leave=False)

        def progress(done: int, total: int, bar=bar) -> None:
            bar.total = total
            bar.update(done - bar.n)

        try:
            results.append(backtest(site, conditions, start=start, days=args.days, strategy=strategy,
                                    forecast=args.forecast,
                                    replan_every_min=args.replan_every_min, step_min=args.step_min,
                                    horizon_h=args.horizon_h, progress=progress))
        finally:
            bar.close()
    if args.json:
        payload = [r.to_dict() for r in results] if args.compare else results[0].to_dict()
        print(json.dumps(payload, indent=2))
    elif args.compare:
        print(format_comparison(results))
    else:
        print(format_table(results[0]))
    return 0
