"""Study throughput on dask.distributed: backtest-days per second with 1 and 2 workers.

Run: ``python bench/bench_study.py [--days 4] [--chunk-days 2] [--strategy milp]``. Prints
figures and ratios, asserts nothing.

The same study (the example camp, PV 600/1200 kWp x battery 1000/2000 kWh, one strategy,
``--days`` from 1 January in ``--chunk-days`` chunks: a study's own operation, re-plan every 60 min
over 24 h, 1 % gap) runs twice in this process, each time from an empty cache on a fresh
LocalCluster: first with 1 worker process (the baseline), then with 2. Throughput is simulated
backtest-days (counted and spin-up) per second of compute (first submission to last result; the
cluster's start is reported apart). Scaling efficiency = (rate with 2 / rate with 1) / 2. The
results of the two runs must be the same file (they are compared byte for byte).

With ``--year-estimate`` it also prints what a 3 x 3 PV x battery x 2-strategy (milp and cycle
charging) year study would take here at the measured rates (``--strategy`` runs both then).
The machine is shared: the load average before and after each run is printed.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from microgrid.simulator.settings import load_camp  # noqa: E402
from microgrid.study.conditions import CampConditions  # noqa: E402
from microgrid.study.run import StudyReport, StudyRequest, run_study  # noqa: E402
from microgrid.study.spec import StudyOptions  # noqa: E402

SITE = ROOT / "sites" / "example-camp.toml"


def one_run(strategy: str, workers: int, args: argparse.Namespace) -> tuple[StudyReport, bytes]:
    site, sim = load_camp(SITE)
    options = StudyOptions(start=datetime(2026, 1, 1, tzinfo=timezone.utc), days=args.days,
                           chunk_days=args.chunk_days)
    with tempfile.TemporaryDirectory(prefix="bench-study-") as out:
        req = StudyRequest(site, CampConditions(site, sim), (600.0, 1200.0), (1000.0, 2000.0), (strategy,), options,
                           Path(out), 80.0, "local", workers)
        load0 = os.getloadavg()[0]
        report = run_study(req)
        print(f"  {strategy:<15} {workers} worker(s): {report.run.ran} tasks, {report.backtest_days:g} backtest-days "
              f"in "
              f"{report.compute_s:,.1f} s of compute ({report.wall_s - report.compute_s:,.1f} s cluster start and "
              f"writing) = {report.days_per_s:.3f} backtest-days/s; load average {load0:.1f} -> "
              f"{os.getloadavg()[0]:.1f}", flush=True)
        return report, (Path(out) / "results.csv").read_bytes()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=4.0, help="counted days of each combination")
    ap.add_argument("--chunk-days", type=float, default=2.0, help="days per task (later chunks add 2 d spin-up)")
    ap.add_argument("--strategy", default="milp", help="milp, cycle-charging or load-following")
    ap.add_argument("--year-estimate", action="store_true",
                    help="measure milp and cycle-charging and estimate a 3 x 3 x 2 year study")
    args = ap.parse_args()
    strategies = ("milp", "cycle-charging") if args.year_estimate else (args.strategy,)
    print(f"== study throughput: {SITE.name}, 2 x 2 sizes, {args.days:g} d in {args.chunk_days:g}-d chunks, "
          f"{os.cpu_count()} CPUs (shared) ==")
    rates: dict[str, float] = {}
    for strategy in strategies:
        one, csv1 = one_run(strategy, 1, args)
        two, csv2 = one_run(strategy, 2, args)
        r1, r2 = one.days_per_s, two.days_per_s
        rates[strategy] = r2
        print(f"{strategy}: 1 worker {r1:.3f} backtest-days/s, 2 workers {r2:.3f} backtest-days/s; "
              f"speed-up {r2 / r1:.2f}x, scaling efficiency {100 * r2 / r1 / 2:.0f} %; "
              f"same results.csv: {csv1 == csv2}")
    if args.year_estimate:
        chunks = math.ceil(365 / 30)
        days = 365 + (chunks - 1) * 2.0  # counted + spin-up per combination, 30-day chunks
        combos = 3 * 3 + 1  # the grid and the camp as built
        total_s = sum(combos * days / rates[s] for s in strategies)
        print(f"3 x 3 x 2 year study (+ the camp as built, 30-d chunks: {days:g} backtest-days per combination "
              f"and strategy) at these 2-worker rates: {total_s / 3600:.1f} h "
              f"(milp {combos * days / rates['milp'] / 3600:.1f} h, cycle-charging "
              f"{combos * days / rates['cycle-charging'] / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    t0 = time.perf_counter()
    code = main()
    print(f"bench wall {time.perf_counter() - t0:,.0f} s")
    sys.exit(code)
