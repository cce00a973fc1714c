"""`microgrid plan --site SITE --inputs IN.csv --out PLAN.csv [--strategy S] [--soc-pct X]`."""

from __future__ import annotations

import argparse
from pathlib import Path

from microgrid.config import load_site
from optimizer.inputs_csv import read_inputs_csv
from optimizer.plan import PlanState
from optimizer.planner import STRATEGIES, make_planner


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plan", help="plan diesel dispatch for a load/PV forecast",
                       description="Plan genset, battery and PV dispatch for the forecast in IN.csv "
                       "(columns time [ISO 8601 UTC], load_kw, pv_available_kw) and write PLAN.csv. "
                       "The MILP falls back to a rule-based plan (status 'fallback') if it fails.")
    p.add_argument("--site", required=True, metavar="SITE", help="site file (TOML)")
    p.add_argument("--inputs", required=True, metavar="IN.csv", help="forecast: time, load_kw, pv_available_kw")
    p.add_argument("--out", required=True, metavar="PLAN.csv", help="plan to write")
    p.add_argument("--strategy", choices=STRATEGIES, default="milp", help="dispatch strategy (default milp)")
    p.add_argument("--soc-pct", type=_pct, default=None, metavar="X",
                   help="battery SOC at the start [%%] (default: the site's initial_soc_pct)")
    p.set_defaults(func=run)


def _pct(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 100.0:
        raise argparse.ArgumentTypeError(f"{text} is not a percentage in 0..100")
    return value


def run(args: argparse.Namespace) -> int:
    site = load_site(args.site)
    inputs = read_inputs_csv(args.inputs, default_step_min=site.optimizer.step_min)
    state = PlanState.initial(site, soc_pct=args.soc_pct)
    plan = make_planner(site, args.strategy).plan(inputs, state)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    plan.to_dataframe(site).to_csv(args.out, index=False, float_format="%.4f")
    print(f"strategy   {plan.strategy}\nstatus     {plan.status}"
          + (f" ({plan.reason})" if plan.reason else "")
          + f"\nobjective  {plan.objective_l:.3f} L (diesel equivalent)\nfuel       {plan.total_fuel_l:.3f} L"
          f"\ngap        {plan.gap_pct:.3f} %\nsolve time {plan.solve_s:.3f} s\nsteps      {len(plan.time)}"
          f" -> {args.out}")
    return 0
