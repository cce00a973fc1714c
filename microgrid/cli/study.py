"""`microgrid study --site SITE --pv-kwp LIST --battery-kwh LIST [...] --out DIR`: a sizing study.

Every PV × battery × strategy combination is a rolling-horizon backtest of the camp's physics and
the service's MPC, cut into chunks run as tasks on dask.distributed (docs/architecture.md §13).
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import timedelta
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from microgrid.cli.backtest import parse_start
from microgrid.cli.outputs import out_file
from microgrid.errors import InputError
from microgrid.simulator.settings import SimulatorSettings, load_camp
from microgrid.site import Site
from microgrid.study.conditions import CampConditions
from microgrid.study.engine import check_scheduler
from microgrid.study.spec import StudyOptions, parse_sizes
from optimizer.backtest import FORECASTS, WARMUP_DAYS
from optimizer.planner import STRATEGIES

EPILOG = """\
Output in DIR: results.csv (one row per combination x strategy: renewable fraction, litres,
litres per year, fuel cost, litres and convoys avoided per year, tCO2, capex, payback, ...),
study.html (fuel against capex, the Pareto front, the least-cost combination reaching the target),
study.json (what was run and how fast), failures.csv (tasks that failed, with their combination)
and cache/ (every finished task by the hash of its inputs: the same command resumes).
The camp as built is always run too: litres avoided and payback are measured against it.
exit status: 0 done; 1 some tasks failed (the others finished; see failures.csv); 2 bad input."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("study", help="sizing study: PV x battery x strategy backtests on dask.distributed",
                       description="Size PV and batteries with the dispatch the camp will run: every "
                       "combination is a backtest of the camp's physics and rolling MPC (realistic "
                       "forecasts), costed with the site's [costs] and [logistics].",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--site", required=True, metavar="SITE", help="site file (TOML) with [costs]")
    p.add_argument("--pv-kwp", required=True, metavar="LIST", help="PV sizes of the camp, e.g. 600,1200,1800 [kWp]")
    p.add_argument("--battery-kwh", required=True, metavar="LIST",
                   help="battery sizes of the camp, e.g. 1000,2000,4000 [kWh]")
    p.add_argument("--strategy", default="milp", metavar="LIST",
                   help=f"strategies, comma-separated ({', '.join(STRATEGIES)}; default milp)")
    p.add_argument("--days", type=float, default=365.0, metavar="N", help="counted days (default 365)")
    p.add_argument("--start", default=None, metavar="DATE", help="first day, UTC (default: 1 January of this year)")
    p.add_argument("--forecast", choices=FORECASTS, default="realistic", help="forecasts the MPC gets")
    p.add_argument("--replan-every-min", type=float, default=60.0, metavar="MIN", help="re-plan interval (default 60)")
    p.add_argument("--horizon-h", type=float, default=24.0, metavar="H", help="planning horizon (default 24)")
    p.add_argument("--chunk-days", type=float, default=30.0, metavar="D",
                   help="longest chunk one task simulates (default 30); later chunks get 2 days of spin-up")
    p.add_argument("--seed", type=int, default=None, metavar="K", help="seed of the synthetic weather and load")
    target = p.add_mutually_exclusive_group()
    target.add_argument("--target-pct", type=float, default=None, metavar="P",
                        help="renewable fraction the answer must reach (default 80)")
    target.add_argument("--mission", metavar="MISSION", help="mission file: its target is the answer's")
    p.add_argument("--load-from", metavar="STORE",
                   help="the camp's measured load from this store (sqlite:///PATH, influx1://...); gaps "
                   "are filled by the load model and reported")
    p.add_argument("--weather", metavar="FILE",
                   help="weather file (TMY3 / PVGIS / EPW / NSRDB PSM4, read with pvlib.iotools) instead of "
                   "the synthetic sky")
    p.add_argument("--scheduler", default="local", metavar="ADDR",
                   help="'local' (default): a LocalCluster on this machine; tcp://HOST:PORT: an existing Dask "
                   "cluster")
    p.add_argument("--workers", type=int, default=2, metavar="N", help="worker processes of the local cluster")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created; reused to resume)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _strategies(text: str) -> tuple[str, ...]:
    out = tuple(s.strip() for s in text.split(",") if s.strip())
    bad = [s for s in out if s not in STRATEGIES]
    if bad or not out:
        raise InputError(f"unknown strategy {bad[0] if bad else text!r}; choose from {', '.join(STRATEGIES)}",
                         path="--strategy")
    return tuple(dict.fromkeys(out))


def _target(args: argparse.Namespace) -> tuple[float, str]:
    if args.mission:
        from microgrid.mission import load_mission
        m = load_mission(args.mission)
        return m.target_renewable_fraction_pct, f"mission {m.name}'s target"
    if args.target_pct is not None and not 0 < args.target_pct <= 100:
        raise InputError(f"must be in (0, 100], got {args.target_pct:g}", path="--target-pct")
    return (80.0 if args.target_pct is None else args.target_pct), "target"


def run(args: argparse.Namespace) -> int:
    from microgrid.study.run import StudyRequest, run_study

    site, sim = load_camp(args.site)
    pv, bat, strategies = parse_sizes(args.pv_kwp, "--pv-kwp"), parse_sizes(args.battery_kwh, "--battery-kwh"), \
        _strategies(args.strategy)
    if not (0 < args.days <= 366 * 5):
        raise InputError(f"must be in (0, 1830], got {args.days:g}", path="--days")
    if args.chunk_days < 1:
        raise InputError(f"must be >= 1, got {args.chunk_days:g}", path="--chunk-days")
    if args.workers < 1:
        raise InputError(f"must be >= 1, got {args.workers}", path="--workers")
    check_scheduler(args.scheduler)
    target_pct, target_name = _target(args)
    options = StudyOptions(start=parse_start(args.start), days=args.days, chunk_days=args.chunk_days,
                           forecast=args.forecast, replan_every_min=args.replan_every_min,
                           horizon_h=args.horizon_h, seed=args.seed)
    conditions, context = _conditions(args, site, sim, options)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        out_file(out)  # names the option
        raise InputError("is a file; give a folder", path=f"--out {out}")
    req = StudyRequest(site, conditions, pv, bat, strategies, options, out, target_pct, args.scheduler,
                       args.workers, tuple(context))
    if args.verbose < 1:  # Dask's scheduler and nannies log every start and stop at INFO
        import distributed  # noqa: F401  (its import sets its loggers' levels: set ours after it)
        logging.getLogger("distributed").setLevel(logging.ERROR)
    for line in context:
        print(line, file=sys.stderr)
    with tqdm(total=0, desc="study", unit="task", file=sys.stderr, disable=args.no_progress) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)
        report = run_study(req, progress)
    print(f"wrote {report.paths['results']}, {report.paths['html']} ({len(report.outcomes)} combinations; "
          f"{report.run.ran} tasks run, {report.run.cached} from the cache, {len(report.run.failures)} failed; "
          f"{report.wall_s:,.0f} s)")
    for f in report.run.failures:
        print(f"task failed: {f.label}: {f.error}", file=sys.stderr)
    print(f"{target_name} {target_pct:g} %: {report.answer}")
    return 1 if report.run.failures else 0


def _conditions(args: argparse.Namespace, site: Site, sim: SimulatorSettings,
                options: StudyOptions) -> tuple[CampConditions, list[str]]:
    """The study's load and weather, and lines saying where they come from."""
    load: pd.Series | None = None
    weather: pd.DataFrame | None = None
    context: list[str] = []
    if args.load_from:
        from microgrid.cli.stores import open_reader
        from microgrid.study.measured import measured_load_kw
        first = options.start - timedelta(days=WARMUP_DAYS + options.spinup_days + 1)
        last = options.start + timedelta(days=options.days + 3)
        store = open_reader(args.load_from)
        try:
            load = measured_load_kw(store, site, first, last, args.load_from)
        finally:
            store.close()
    if args.weather:
        from microgrid.study.weather_file import read_weather_file
        weather = read_weather_file(args.weather, site)
        context.append(f"weather: {args.weather} (clouds and air temperature of its typical year at the site)")
    conditions = CampConditions(site, sim, args.seed, load, weather, args.weather or "")
    if weather is None:
        context.append(f"weather: the synthetic sky of the site's climate (seed {conditions.seed})")
    if load is not None:
        share = conditions.measured_share(options.start, options.days)
        context.append(f"load: {100 * share:.1f} % of the study's 15-min intervals measured ({args.load_from}), "
                       f"{100 * (1 - share):.1f} % from the load model")
    else:
        context.append("load: the site's load model ([simulator] load_base_kw, load_peak_kw)")
    return conditions, context
