"""How fast `microgrid plan` refuses an input it must not plan (issue 12): a 10-year 15-min CSV.

Baseline measured in the same run: reading a valid 14-day 15-min CSV (the longest plan; 1,344
rows) with :func:`optimizer.inputs_csv.read_plan_inputs`. Then the same function on 10 years of
15-min rows (350,400 rows, ~11 MB): it stops at the first row 14 days after the first and raises.
Then both through the whole command (``python -m microgrid.cli plan`` in a subprocess: start-up,
imports, the site file, the refusal), against ``microgrid --help`` as the start-up baseline.
Prints seconds and ratios. Asserts nothing.

    PYTHONPATH=. .venv/bin/python bench/bench_plan_inputs.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from microgrid.config import load_site
from microgrid.errors import InputError
from optimizer.inputs_csv import read_plan_inputs

ROOT = Path(__file__).resolve().parents[1]
SITE_FILE = ROOT / "sites" / "example-camp.toml"


def _write(path: Path, rows: int) -> Path:
    t = pd.date_range("2026-01-01", periods=rows, freq="15min", tz="UTC")
    pd.DataFrame({"time": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "load_kw": np.full(rows, 400.0),
                  "pv_available_kw": np.zeros(rows)}).to_csv(path, index=False)
    return path


def _best(fn, repeat: int = 5) -> float:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return min(out)


def _refused(path: Path, site) -> None:
    try:
        read_plan_inputs(path, site)
    except InputError:
        return
    raise AssertionError("not refused")


def _cli(*args: str) -> tuple[float, int]:
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "microgrid.cli", *args], cwd=ROOT, capture_output=True)
    return time.perf_counter() - t, done.returncode


def main() -> None:
    site = load_site(SITE_FILE)
    with tempfile.TemporaryDirectory() as tmp:
        two_weeks = _write(Path(tmp) / "two_weeks.csv", 14 * 96)
        ten_years = _write(Path(tmp) / "ten_years.csv", 10 * 365 * 96)
        size_mb = ten_years.stat().st_size / 2**20
        base = _best(lambda: read_plan_inputs(two_weeks, site))
        refuse = _best(lambda: _refused(ten_years, site))
        print(f"read_plan_inputs, 14 days (1,344 rows, baseline)     {base * 1e3:8.1f} ms")
        print(f"read_plan_inputs, 10 years ({10 * 365 * 96:,} rows, {size_mb:.0f} MB) refused "
              f"{refuse * 1e3:8.1f} ms  ({refuse / base:.2f}x the baseline)")
        startup, _ = _cli("--help")
        whole, rc = _cli("plan", "--site", str(SITE_FILE), "--inputs", str(ten_years),
                         "--out", str(Path(tmp) / "plan.csv"))
        print(f"microgrid --help (start-up baseline)                  {startup:8.2f} s")
        print(f"microgrid plan on the 10-year CSV: exit {rc}                {whole:8.2f} s  "
              f"({whole - startup:+.2f} s over start-up)")


if __name__ == "__main__":
    main()
