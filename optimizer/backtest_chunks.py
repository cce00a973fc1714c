"""A long backtest as consecutive chunks run in parallel processes, merged into one result.

A year of hourly MILP re-plans is ~8,760 solves in one sequence; on a machine with several
cores the period is cut into ``chunks`` consecutive parts, each a normal
:func:`~optimizer.backtest.backtest` run in its own process. Chunk ``i > 0`` is operated from
the site's initial state for ``spinup_days`` before its first counted instant and enters it in
the state its strategy led the camp to, so it does not start from the initial SOC; the
spin-up is not counted. The simulated weather and load depend only on (seed, instant), and the
realistic forecasters only on past values, so every chunk sees exactly the conditions and
forecasts the sequential run sees. What differs is the camp's state at the chunk boundary
(the spin-up's, not the previous chunk's), measured in ``bench/bench_year.py --check-chunks``.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from microgrid.errors import InputError
from microgrid.plant.conditions import ConditionsSource
from microgrid.site import Site
from optimizer.backtest import backtest
from optimizer.backtest_report import BacktestResult
from optimizer.model import MilpOptions

__all__ = ["SPINUP_DAYS", "backtest_chunks", "chunk_periods", "merge_results"]

#: Default spin-up before each chunk but the first. [d]
SPINUP_DAYS = 2.0

#: Fields every chunk of one run shares.
_SAME = ("site", "strategy", "forecast", "seed", "step_min", "replan_every_min", "horizon_h")


def chunk_periods(start: datetime, days: float, chunks: int) -> list[tuple[datetime, float]]:
    """Cut ``[start, start + days)`` into ``chunks`` consecutive parts of whole days (the last
    takes the rest): ``[(chunk_start, chunk_days), ...]``."""
    if chunks < 1:
        raise InputError(f"chunks must be >= 1, got {chunks!r}", column="chunks")
    whole = int(days // chunks)
    if chunks > 1 and whole < 1:
        raise InputError(f"{days:g} days cannot be cut into {chunks} chunks of whole days", column="chunks")
    out = []
    for i in range(chunks):
        length = float(whole) if i < chunks - 1 else days - whole * (chunks - 1)
        out.append((start + timedelta(days=whole * i), length))
    return out


def merge_results(results: list[BacktestResult], wall_s: float = math.nan) -> BacktestResult:
    """One result for consecutive chunks: energies, fuel, hours, starts, plans and reserve figures
    add up; solve times and kept steps are concatenated; the SOC adjustment is each chunk's own
    (its fuel belongs to its own trajectory); ``soc_start_pct`` is the first chunk's,
    ``soc_end_pct`` the last's.

    Raises
    ------
    InputError
        No results, results of different runs, or chunks that do not follow each other.
    """
    if not results:
        raise InputError("no chunk results to merge", column="chunks")
    first = results[0]
    for prev, r in zip(results, results[1:]):
        for name in _SAME:
            if getattr(r, name) != getattr(first, name):
                raise InputError(f"chunk {r.start.isoformat()} differs in {name}: "
                                 f"{getattr(r, name)!r} vs {getattr(first, name)!r}", column=name)
        if r.start != prev.end:
            raise InputError(f"chunk starting {r.start.isoformat()} does not follow the one ending "
                             f"{prev.end.isoformat()}", column="start")
    out = replace(first, end=results[-1].end, soc_end_pct=results[-1].soc_end_pct, wall_s=wall_s,
                  solve_s=[], steps=[], step_times=[])
    for name in ("load_kwh", "served_kwh", "unserved_kwh", "pv_kwh", "pv_available_kwh", "curtailed_kwh",
                 "genset_kwh", "fuel_l", "battery_charge_kwh", "battery_discharge_kwh", "soc_change_l",
                 "reserve_shortfall_kwh", "reserve_shortfall_h", "plans", "fallbacks", "cpu_s"):
        setattr(out, name, sum(getattr(r, name) for r in results))
    for name in ("genset_run_h", "genset_starts", "genset_below_min_h", "fallback_reasons", "statuses"):
        total: Counter = Counter()
        for r in results:
            total.update(getattr(r, name))
        setattr(out, name, dict(total))
    for r in results:
        out.solve_s.extend(r.solve_s)
        out.steps.extend(r.steps)
        out.step_times.extend(r.step_times)
    return out


def backtest_chunks(site: Site, conditions: ConditionsSource, *, start: datetime, days: float,
                    chunks: int | None = None,
                    jobs: int | None = None, spinup_days: float = SPINUP_DAYS,
                    milp_options: MilpOptions | None = None, **kw: Any) -> BacktestResult:
    """:func:`~optimizer.backtest.backtest` over ``days`` as ``chunks`` parts in ``jobs`` processes.

    Parameters
    ----------
    site : Site
    conditions : ConditionsSource
        The actual load and PV (picklable: each process rebuilds the values it needs).
    start : datetime
        First counted instant (UTC).
    days : float
        Counted period. [d]
    chunks : int, optional
        Parts (default ``jobs``).
    jobs : int, optional
        Worker processes (default: the CPUs of this machine). With more than one, each HiGHS
        solver is limited to one thread unless ``milp_options.threads`` says otherwise.
    spinup_days : float
        Uncounted days before each chunk but the first. [d]
    milp_options : MilpOptions, optional
    **kw
        Passed to :func:`~optimizer.backtest.backtest` (strategy, forecast, replan_every_min,
        horizon_h, ...); not ``progress``.

    Returns
    -------
    BacktestResult
        The merged figures; ``wall_s`` is the wall time of the whole parallel run.
    """
    t0 = time.perf_counter()
    jobs = max(1, int(jobs or os.cpu_count() or 1))
    parts = chunk_periods(start, days, int(chunks or jobs))
    opts = milp_options or MilpOptions()
    if jobs > 1 and opts.threads is None:
        opts = replace(opts, threads=1)
    calls = [dict(kw, start=s, days=d, spinup_days=0.0 if i == 0 else spinup_days, milp_options=opts)
             for i, (s, d) in enumerate(parts)]
    if jobs == 1 or len(calls) == 1:
        results = [backtest(site, conditions, **c) for c in calls]
    else:
        # spawned, not forked: HiGHS fixes its thread count at its first solve in a process, and a
        # forked child inherits the parent's (then ``threads=1`` makes every solve fail)
        with ProcessPoolExecutor(max_workers=min(jobs, len(calls)),
                                 mp_context=multiprocessing.get_context("spawn")) as pool:
            results = list(pool.map(_run, [site] * len(calls), [conditions] * len(calls), calls))
    return merge_results(results, wall_s=time.perf_counter() - t0)


def _run(site: Site, conditions: ConditionsSource, call: dict[str, Any]) -> BacktestResult:
    return backtest(site, conditions, **call)
