"""`microgrid forecast`: evaluate the PV and load forecasters, or forecast from a history file.

    microgrid forecast --site SITE --evaluate {pv-tmy,pv-sim,load-sim} [--days N] [--json]
    microgrid forecast --site SITE --history HISTORY.csv --out FORECAST.csv [--horizon-h H]
"""

from __future__ import annotations

import argparse
import json
import math

import pandas as pd

from forecasts.evaluate import Evaluation, evaluate_pv_tmy, evaluate_sim
from forecasts.load import load_forecast
from forecasts.pv import pv_forecast, pv_forecast_from_weather
from forecasts.skill import format_table
from forecasts.tmy import SHIPPED
from microgrid.cli.outputs import out_file, writing
from microgrid.config import load_site
from microgrid.errors import InputError
from microgrid.series_csv import read_series_csv
from microgrid.simulator.conditions import SyntheticConditions
from microgrid.simulator.settings import load_simulator_settings
from microgrid.site import Site

MODES = ("pv-tmy", "pv-sim", "load-sim")
HISTORY_COLUMNS = ("time", "load_kw", "pv_kw")
WEATHER_COLUMNS = ("time", "ghi", "dni", "dhi")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("forecast", help="evaluate forecast skill, or forecast PV and load",
                       description="Evaluate the PV / load forecasters against smart persistence "
                       "by lead time (--evaluate), or write a p10/p50/p90 forecast of PV and load "
                       "from a history CSV (--history/--out).")
    p.add_argument("--site", required=True, metavar="SITE", help="site file (TOML)")
    p.add_argument("--evaluate", choices=MODES, help="pv-tmy: PV on a TMY3 file shipped with "
                   "pvlib; pv-sim / load-sim: on the virtual camp's simulated conditions")
    p.add_argument("--days", type=int, help="days of issues to score (default: the whole TMY "
                   "year; 28 days simulated)")
    p.add_argument("--start-day", type=int, default=0, help="pv-tmy: first day of the year to score")
    p.add_argument("--tmy", default="greensboro", help=f"pv-tmy: {', '.join(SHIPPED)} or a "
                   "TMY3 file path (default greensboro)")
    p.add_argument("--seed", type=int, help="simulated modes: weather/load seed (default the site's)")
    p.add_argument("--warmup-days", type=int, default=14, help="simulated modes: history "
                   "before the first issue (default 14)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--history", metavar="CSV", help="history: time (ISO 8601 UTC), load_kw, pv_kw")
    p.add_argument("--out", metavar="CSV", help="forecast output file (with --history)")
    p.add_argument("--horizon-h", type=float, default=48.0, help="forecast horizon [h] (default 48)")
    p.add_argument("--weather", metavar="CSV", help="with --history: irradiance forecast "
                   "(time, ghi, dni, dhi [W/m2], optional temp_air [C]) for PV instead of "
                   "smart persistence; must cover the horizon")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    site = load_site(args.site)
    if args.evaluate:
        ev = evaluate(site, args)
        print(json.dumps(_json_safe(ev.to_dict()), indent=2) if args.json else render(ev))
        return 0
    if args.history and args.out:
        out = out_file(args.out)
        weather = read_csv_checked(args.weather, WEATHER_COLUMNS) if args.weather else None
        fc = forecast_from_history(site, read_history(args.history), args.horizon_h, weather)
        with writing(out):
            fc.to_csv(out, index_label="time", date_format="%Y-%m-%dT%H:%M:%SZ", float_format="%.3f")
        print(f"wrote {len(fc)} steps from {fc.index[0]} to {args.out}")
        return 0
    raise InputError("give --evaluate MODE, or --history CSV with --out CSV")


def evaluate(site: Site, args: argparse.Namespace) -> Evaluation:
    if args.evaluate == "pv-tmy":
        return evaluate_pv_tmy(site, args.tmy, days=args.days, start_day=args.start_day)
    conditions = SyntheticConditions(site, load_simulator_settings(args.site), args.seed)
    return evaluate_sim(site, conditions, args.evaluate.split("-")[0], days=args.days or 28,
                        warmup_days=args.warmup_days)


def render(ev: Evaluation) -> str:
    ref = "smart persistence" if ev.quantity == "pv" else "24 h persistence"
    lines = [f"forecast skill: {ev.mode} — {ev.issues} issues, {ev.horizon_h:g} h ahead "
             f"({ev.seconds:.1f} s)", *(f"  {n}" for n in ev.notes),
             f"  reference: {ev.reference}", "", format_table(ev.rows, ref), "",
             "skill = 1 − MAE model / MAE reference; p10-p90 cover should be near 80 %."]
    return "\n".join(lines)


def _json_safe(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_json_safe(v) for v in obj]
    return obj


def read_history(path: str) -> pd.DataFrame:
    """History CSV → DataFrame indexed by UTC time with ``load_kw`` and ``pv_kw``."""
    return read_csv_checked(path, HISTORY_COLUMNS)


def read_csv_checked(path: str, columns: tuple[str, ...]) -> pd.DataFrame:
    """CSV with a ``time`` column (ISO 8601, UTC) and non-negative numeric ``columns[1:]``
    (other numeric columns kept, empty cells missing) → DataFrame indexed by UTC time
    (:func:`microgrid.series_csv.read_series_csv`).

    Raises
    ------
    InputError
        Naming the file, row and column.
    """
    table = read_series_csv(path, [c for c in columns if c != "time"], extra="keep", missing_ok=True)
    index = pd.DatetimeIndex([pd.Timestamp(t) for t in table.times], name="time").tz_convert("UTC")
    return pd.DataFrame(table.columns, index=index).sort_index()


def forecast_from_history(site: Site, history: pd.DataFrame, horizon_h: float,
                          weather: pd.DataFrame | None = None) -> pd.DataFrame:
    """p10/p50/p90 of load and PV for ``horizon_h`` after the last history row; PV from the
    irradiance forecast ``weather`` (interpolated to the middle of each step) when given. [kW]
    """
    step = pd.Series(history.index).diff().mode().iloc[0]
    issue = history.index[-1] + step
    times = pd.date_range(issue, periods=int(round(pd.Timedelta(hours=horizon_h) / step)), freq=step)
    load = load_forecast(history["load_kw"], issue, times).to_frame().add_prefix("load_")
    mid = times + step / 2
    if weather is None:
        pv = pv_forecast(site, issue, mid, history["pv_kw"].set_axis(history.index + step / 2))
    else:
        if weather.index[0] > mid[0] or weather.index[-1] < mid[-1]:
            raise InputError(f"weather forecast covers {weather.index[0]}..{weather.index[-1]}, "
                             f"the horizon needs {mid[0]}..{mid[-1]}")
        w = weather.reindex(weather.index.union(mid)).interpolate("time").loc[mid]
        pv = pv_forecast_from_weather(site, issue, w)
    pv = pv.to_frame().set_axis(times).add_prefix("pv_")
    return pd.concat([load, pv], axis=1)
