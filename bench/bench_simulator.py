"""Speed of the virtual camp's physics: conditions for a year, dispatch for a year, live camp.

Prints seconds and ratios against a baseline measured in the same run: pvlib's clear-sky
model alone (solar position + Ineichen) on the same index. Asserts nothing.

    PYTHONPATH=. .venv/bin/python bench/bench_simulator.py
"""

from __future__ import annotations

import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pvlib

from microgrid.clock import ManualClock
from microgrid.plant import CampState, Setpoints, dispatch_step
from microgrid.plant.conditions import pv_column
from microgrid.simulator.camp import VirtualCamp
from microgrid.simulator.conditions import generate_conditions
from microgrid.simulator.settings import load_camp

SITE, SIM = load_camp(Path(__file__).resolve().parents[1] / "sites" / "example-camp.toml")
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
YEAR_15MIN = 35_040


def _timed(fn) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def baseline_clearsky() -> None:
    loc = SITE.location
    times = pd.date_range(T0, periods=YEAR_15MIN, freq="15min")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pvlib.location.Location(loc.latitude, loc.longitude, tz="UTC",
                                altitude=loc.altitude_m).get_clearsky(times, model="ineichen")


def dispatch_year(df: pd.DataFrame) -> CampState:
    state, sp = CampState.initial(SITE), Setpoints.default(SITE)
    load = df["load_kw"].to_numpy()
    pv = {a.name: df[pv_column(a.name)].to_numpy() for a in SITE.pv_arrays}
    for i in range(len(load)):
        state, _ = dispatch_step(SITE, state, float(load[i]),
                                 {k: float(v[i]) for k, v in pv.items()}, sp, 0.25)
    return state


def live_week() -> dict:
    clock = ManualClock(T0)
    camp = VirtualCamp(SITE, SIM, clock)
    for _ in range(7 * 24 * 60 // 5):  # a poll every 5 min of simulated time
        clock.advance(300)
        camp.device_values("bess-1")
    return camp.totals


def main() -> None:
    base, _ = _timed(baseline_clearsky)
    cond, df = _timed(lambda: generate_conditions(SITE, SIM, T0, YEAR_15MIN, 15))
    disp, state = _timed(lambda: dispatch_year(df))
    live, totals = _timed(live_week)
    print(f"baseline pvlib clear-sky, a year @ 15 min        {base:7.3f} s")
    print(f"generate_conditions, a year @ 15 min, {len(SITE.pv_arrays)} arrays  {cond:7.3f} s"
          f"  ({cond / base:.1f}x baseline)")
    print(f"dispatch_step x {YEAR_15MIN} (auto mode)               {disp:7.3f} s"
          f"  ({disp / base:.1f}x baseline); fuel {state.fuel_total_l:,.0f} L,"
          f" unserved {state.unserved_total_kwh:.1f} kWh")
    print(f"VirtualCamp, a week @ 60 s sub-steps            {live:7.3f} s"
          f"  ({live / base:.1f}x baseline); fuel {totals['fuel_l']:,.0f} L")


if __name__ == "__main__":
    main()
