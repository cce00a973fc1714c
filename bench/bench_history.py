"""Speed of simulate_history: a month of the example camp at 60 s and 300 s samples.

Prints seconds and the ratio against a baseline measured in the same run: the bare physics loop
(generate_conditions + dispatch_step, no readings, no accounting).

    PYTHONPATH=. .venv/bin/python bench/bench_history.py [--days 31]
"""

from __future__ import annotations

import argparse
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

from microgrid.plant import CampState, Setpoints, dispatch_step
from microgrid.plant.conditions import pv_column
from microgrid.simulator.conditions import generate_conditions
from microgrid.simulator.history import simulate_history
from microgrid.simulator.settings import load_camp

SITE, SIM = load_camp(Path(__file__).resolve().parents[1] / "sites" / "example-camp.toml")
T0 = datetime(2026, 10, 1, tzinfo=timezone.utc)


def physics_only(days: float, sample_s: int) -> None:
    n = int(days * 86400 / sample_s) + 1
    cond = generate_conditions(SITE, SIM, T0, n, sample_s // 60, 1)
    sp, state = Setpoints.default(SITE), CampState.initial(SITE)
    pv = {a.name: cond[pv_column(a.name)].to_numpy() for a in SITE.pv_arrays}
    load = cond["load_kw"].to_numpy()
    for i in range(n):
        state, _ = dispatch_step(SITE, state, float(load[i]),
                                 {k: float(v[i]) for k, v in pv.items()}, sp, sample_s / 3600)


def timed(fn, *args, **kw) -> float:
    t = time.perf_counter()
    fn(*args, **kw)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=float, default=31)
    days = ap.parse_args().days
    warnings.simplefilter("ignore")
    for sample_s in (300, 60):
        base = timed(physics_only, days, sample_s)
        full = timed(simulate_history, SITE, SIM, T0, days, seed=1, sample_s=sample_s)
        roll = timed(simulate_history, SITE, SIM, T0, days, seed=1, sample_s=sample_s,
                     measurements={"energy", "genset_energy"})
        print(f"{days:g} d @ {sample_s:>3} s: physics only {base:6.2f} s | simulate_history "
              f"all readings {full:6.2f} s ({full / base:4.1f}x) | roll-ups only {roll:6.2f} s "
              f"({roll / base:4.1f}x)")


if __name__ == "__main__":
    main()
