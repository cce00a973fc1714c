"""`microgrid plan --site SITE --inputs IN.csv --out PLAN.csv [--strategy S] [--soc-pct X] [--json]`.

Exit codes: 0 the plan serves all the load; 3 the plan was made but leaves load unserved (the
summary says how many kWh); 2 bad input (site file, IN.csv, an option), one line naming the
file, row, column or option.
"""

from __future__ import annotations

import argparse
import json
import math
import textwrap
from typing import Any

import numpy as np

from microgrid.cli.outputs import out_file, writing
from microgrid.config import load_site
from optimizer.inputs_csv import MAGNITUDE_FACTOR, MAX_HORIZON_H, read_plan_inputs
from optimizer.plan import Plan, PlanState
from optimizer.planner import STRATEGIES, make_planner

#: Exit code of a plan that leaves load unserved.
EXIT_UNSERVED = 3
#: Unserved energy below this is solver noise, not unserved load. [kWh]
UNSERVED_TOL_KWH = 1e-3


def register(sub: argparse._SubParsersAction) -> None:
    paragraphs = [
        "Plan genset, battery and PV dispatch for the forecast in IN.csv (columns time [ISO 8601 UTC], "
        "load_kw, pv_available_kw) and write PLAN.csv. The MILP falls back to a rule-based plan (status "
        "'fallback') if it fails.",
        f"IN.csv: at most {MAX_HORIZON_H // 24} days, a regular step that divides an hour into whole "
        f"minutes, no load or PV above {MAGNITUDE_FACTOR:g}x what the site has installed.",
        "exit codes: 0 the plan serves all the load; 3 the plan leaves load unserved (the summary gives "
        "the kWh); 2 bad input (one line naming the file, row, column or option)."]
    p = sub.add_parser("plan", help="plan diesel dispatch for a load/PV forecast",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="\n\n".join(textwrap.fill(t, 78) for t in paragraphs))
    p.add_argument("--site", required=True, metavar="SITE", help="site file (TOML)")
    p.add_argument("--inputs", required=True, metavar="IN.csv", help="forecast: time, load_kw, pv_available_kw")
    p.add_argument("--out", required=True, metavar="PLAN.csv", help="plan to write")
    p.add_argument("--strategy", choices=STRATEGIES, default="milp", help="dispatch strategy (default milp)")
    p.add_argument("--soc-pct", type=_pct, default=None, metavar="X",
                   help="battery SOC at the start [%%] (default: the site's initial_soc_pct)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def _pct(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 100.0:
        raise argparse.ArgumentTypeError(f"{text} is not a percentage in 0..100")
    return value


def run(args: argparse.Namespace) -> int:
    out = out_file(args.out)
    site = load_site(args.site)
    inputs = read_plan_inputs(args.inputs, site)  # every input check before any model is built
    state = PlanState.initial(site, soc_pct=args.soc_pct)
    plan = make_planner(site, args.strategy).plan(inputs, state)
    with writing(out):
        plan.to_dataframe(site).to_csv(out, index=False, float_format="%.4f")
    summary = plan_summary(plan, str(out))
    print(json.dumps(summary, indent=1) if args.json else summary_text(summary))
    return EXIT_UNSERVED if summary["unserved_kwh"] > UNSERVED_TOL_KWH else 0


def plan_summary(plan: Plan, out: str) -> dict[str, Any]:
    """The figures the command prints (NaN as None, so ``--json`` is valid JSON)."""
    unserved_kwh = float(np.dot(plan.unserved_kw, plan.dt_h))
    values: dict[str, Any] = {
        "strategy": plan.strategy, "status": plan.status, "reason": plan.reason or None,
        "objective_l": plan.objective_l, "fuel_l": plan.total_fuel_l, "gap_pct": plan.gap_pct,
        "solve_s": plan.solve_s, "steps": len(plan.time), "unserved_kwh": unserved_kwh,
        "served": unserved_kwh <= UNSERVED_TOL_KWH, "out": out}
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in values.items()}


def summary_text(s: dict[str, Any]) -> str:
    """The summary as the lines the command prints."""
    def num(v: float | None, fmt: str) -> str:
        return "n/a" if v is None else format(v, fmt)
    lines = [f"strategy   {s['strategy']}",
             f"status     {s['status']}" + (f" ({s['reason']})" if s["reason"] else ""),
             f"objective  {num(s['objective_l'], '.3f')} L (diesel equivalent)",
             f"fuel       {num(s['fuel_l'], '.3f')} L",
             f"gap        {num(s['gap_pct'], '.3f')} %",
             f"solve time {num(s['solve_s'], '.3f')} s",
             f"steps      {s['steps']} -> {s['out']}"]
    if not s["served"]:
        lines.append(f"UNSERVED   {s['unserved_kwh']:.1f} kWh of load the camp cannot supply "
                     f"(exit {EXIT_UNSERVED})")
    return "\n".join(lines)
