"""A camp with a PV surplus: the MILP against load following, and what the PV-limit rule is worth.

Run: ``python bench/bench_pv_surplus.py [--days 3] [--pv 2.5] [--battery 2]``. Prints figures
and ratios, asserts nothing.

The example camp never has more PV than it can take; this bench scales its PV (kWp and
inverters, default 2.5x: 1.5 MWp) and its battery (default 2x: 2 MWh / 1 MW) so that it
curtails at midday, and runs from the demo's start (1 November, local midnight), in one
process, one after another:

* load following (decides each step on the measured load and PV);
* the MILP with realistic forecasts, setpoints as mapped now (``optimizer.setpoints``: a PV
  limit only when no battery could store more);
* the same MILP run with the plan's curtailment always written as a PV limit (the rule before),
  the baseline the rule is measured against.

Re-plan every 15 min (as the service does) over 48 h: 15-min steps for 2 h, hourly to 8 h, 2-h
blocks after; 1 % MIP gap. Fuel is compared SOC-adjusted too (runs end at different SOCs), and
the renewable fraction counts the stored energy used up as if a genset put it back.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import optimizer.setpoints as setpoints  # noqa: E402
from microgrid.accounting import renewable_fraction_soc_adjusted_pct  # noqa: E402
from microgrid.demo import default_start  # noqa: E402
from microgrid.simulator.conditions import SyntheticConditions  # noqa: E402
from microgrid.simulator.settings import load_camp  # noqa: E402
from optimizer.backtest import backtest  # noqa: E402
from optimizer.backtest_report import BacktestResult  # noqa: E402
from optimizer.model import MilpOptions  # noqa: E402
from sites import EXAMPLE, scaled_site  # noqa: E402


def _rf_adjusted(site, r: BacktestResult) -> float:
    soc0 = {b.name: r.soc_start_pct for b in site.batteries}
    soc1 = {b.name: r.soc_end_pct for b in site.batteries}
    return renewable_fraction_soc_adjusted_pct(site, r.genset_kwh, r.served_kwh, soc0, soc1)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--days", type=float, default=3.0)
    p.add_argument("--pv", type=float, default=2.5, help="PV scale factor (default 2.5)")
    p.add_argument("--battery", type=float, default=2.0, help="battery scale factor (default 2)")
    p.add_argument("--gap", type=float, default=0.01)
    args = p.parse_args()
    example, sim = load_camp(EXAMPLE)
    base = scaled_site(example, args.pv, args.battery)
    site = replace(base, optimizer=replace(base.optimizer, horizon_h=48, fine_horizon_h=2,
                                           hourly_horizon_h=8))
    start = default_start(site)
    kw = dict(start=start, days=args.days, milp_options=MilpOptions(mip_rel_gap=args.gap))
    print(f"{site.pv_kwp:,.0f} kWp, {sum(b.capacity_kwh for b in site.batteries):,.0f} kWh battery, "
          f"{args.days:g} d from {start:%Y-%m-%d %H:%M} UTC, re-plan every 15 min", flush=True)
    runs: dict[str, BacktestResult] = {}
    truth = SyntheticConditions(site, sim)
    runs["load following"] = backtest(site, truth, strategy="load-following", forecast="perfect", **kw)
    runs["milp"] = backtest(site, truth, strategy="milp", forecast="realistic", **kw)
    room = setpoints._battery_room
    setpoints._battery_room = lambda *_: False     # the plan's curtailment always a PV limit
    try:
        runs["milp, plan's PV limit"] = backtest(site, truth, strategy="milp", forecast="realistic", **kw)
    finally:
        setpoints._battery_room = room
    lf = runs["load following"]
    print(f"{'run':<24} {'fuel L':>8} {'adj L':>8} {'adj/LF':>7} {'RF adj %':>8} {'curtailed kWh':>13} "
          f"{'unserved':>8} {'p50 s':>6} {'p95 s':>6} {'wall s':>7}")
    for name, r in runs.items():
        print(f"{name:<24} {r.fuel_l:>8,.0f} {r.fuel_soc_adjusted_l:>8,.0f} "
              f"{r.fuel_soc_adjusted_l / lf.fuel_soc_adjusted_l:>7.3f} {_rf_adjusted(site, r):>8.2f} "
              f"{r.curtailed_kwh:>13,.0f} {r.unserved_kwh:>8.2g} {r.solve_p50_s:>6.3f} "
              f"{r.solve_p95_s:>6.3f} {r.wall_s:>7.1f}")
    new, old = runs["milp"], runs["milp, plan's PV limit"]
    print(f"PV-limit rule: curtailed {new.curtailed_kwh / old.curtailed_kwh:.3f}x, "
          f"SOC-adjusted fuel {new.fuel_soc_adjusted_l / old.fuel_soc_adjusted_l:.3f}x the plan's-limit run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
