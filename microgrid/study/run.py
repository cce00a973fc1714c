"""A whole study: the grid's tasks on Dask, merged per combination, costed, written, answered.

``DIR`` receives ``results.csv`` (one row per combination × strategy,
:mod:`microgrid.study.results`), ``study.html`` (fuel against capex, the Pareto front, the
answer), ``study.json`` (what was run and how fast), ``failures.csv`` when a task failed, and
``cache/`` (one record per finished task: run the same study again and it resumes).
The camp as built (its file's PV and battery) is always run too, per strategy: it is what litres
avoided, convoys avoided and payback are measured against.
"""

from __future__ import annotations

import csv
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from microgrid.config import require_costs
from microgrid.site import Site
from microgrid.study.cache import TaskCache
from microgrid.study.conditions import CampConditions
from microgrid.study.economics import study_row
from microgrid.study.engine import Failure, RunOutcome, run_tasks
from microgrid.study.html import write_study_html
from microgrid.study.results import Outcome, answer_line, write_results_csv
from microgrid.study.spec import Sizing, StudyOptions, combinations, site_sizing
from microgrid.study.tasks import StudyTask, plan_tasks, result_from_record, run_task, task_key
from optimizer.backtest_chunks import merge_results
from optimizer.backtest_report import BacktestResult

__all__ = ["StudyReport", "StudyRequest", "run_study"]


@dataclass(frozen=True)
class StudyRequest:
    """Everything a study needs."""

    site: Site
    conditions: CampConditions
    pv_kwp: tuple[float, ...]
    battery_kwh: tuple[float, ...]
    strategies: tuple[str, ...]
    options: StudyOptions
    out: Path
    target_pct: float = 80.0  #: renewable fraction the answer must reach. [%]
    scheduler: str = "local"  #: ``local`` or ``tcp://HOST:PORT``
    workers: int = 2  #: worker processes of a local cluster
    context: tuple[str, ...] = ()  #: lines describing the inputs (load, weather), for study.html


@dataclass
class StudyReport:
    """What a study gave."""

    outcomes: list[Outcome]
    answer: str
    run: RunOutcome
    wall_s: float  #: the whole study, cluster start included. [s]
    compute_s: float  #: from the first submission to the last result (0 when all came from the cache). [s]
    backtest_days: float  #: simulated days (counted + spin-up) of the tasks run now. [d]
    paths: dict[str, Path] = field(default_factory=dict)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.row is None]

    @property
    def days_per_s(self) -> float:
        """Backtest-days per second of compute time. [d/s]"""
        return self.backtest_days / self.compute_s if self.compute_s > 0 else math.nan


def study_sizings(req: StudyRequest) -> list[Sizing]:
    """The grid, then the camp as built for every strategy that the grid lacks."""
    grid = combinations(req.pv_kwp, req.battery_kwh, req.strategies)
    pv0, bat0 = site_sizing(req.site)
    extra = [Sizing(pv0, bat0, s) for s in req.strategies if Sizing(pv0, bat0, s) not in grid]
    return grid + extra


def run_study(req: StudyRequest, progress: Callable[[int, int], None] | None = None) -> StudyReport:
    """Run the study (module docstring) and write its files into ``req.out``.

    Raises
    ------
    ConfigError
        The site has no ``[costs]``.
    InputError
        A bad option (scheduler address, sizes the camp cannot take, an output folder that
        cannot be written).
    """
    t0 = time.perf_counter()
    costs = require_costs(req.site, "microgrid study")
    sizings = study_sizings(req)
    tasks = plan_tasks(sizings, req.options)
    keys = [task_key(req.site, req.conditions, t, req.options) for t in tasks]
    calls = {k: (t.label, (req.site, req.conditions, t, req.options)) for k, t in zip(keys, tasks)}
    cache = TaskCache(req.out)
    run = run_tasks(run_task, calls, cache, scheduler=req.scheduler, workers=req.workers, progress=progress)
    backtest_days = sum(t.days + t.spinup_days for k, t in zip(keys, tasks) if k in run.ran_keys)
    merged, errors = _merge(sizings, tasks, keys, run)
    pv0, bat0 = site_sizing(req.site)
    outcomes = []
    for s in sizings:
        result = merged.get(s)
        if result is None:
            outcomes.append(Outcome(s, None, errors.get(s, "not run")))
            continue
        base = Sizing(pv0, bat0, s.strategy)
        outcomes.append(Outcome(s, study_row(req.site, costs, req.site.logistics, s, result, base, merged.get(base))))
    rows = [o.row for o in outcomes if o.row is not None]
    failed = sum(1 for o in outcomes if o.row is None)
    answer = answer_line(rows, req.target_pct, failed)
    report = StudyReport(outcomes, answer, run, time.perf_counter() - t0, run.compute_s, backtest_days)
    report.paths = _write(req, report)
    return report


def _merge(sizings: list[Sizing], tasks: list[StudyTask], keys: list[str],
           run: RunOutcome) -> tuple[dict[Sizing, BacktestResult], dict[Sizing, str]]:
    failures: dict[str, Failure] = {f.key: f for f in run.failures}
    merged: dict[Sizing, BacktestResult] = {}
    errors: dict[Sizing, str] = {}
    for s in sizings:
        mine = [(t, k) for t, k in zip(tasks, keys) if t.sizing == s]
        bad = [failures[k] for _, k in mine if k in failures]
        if bad:
            errors[s] = "; ".join(f"{f.label}: {f.error}" for f in bad)
            continue
        chunks = sorted(mine, key=lambda tk: tk[0].chunk)
        merged[s] = merge_results([result_from_record(run.records[k]) for _, k in chunks])
    return merged, errors


def _write(req: StudyRequest, report: StudyReport) -> dict[str, Path]:
    out = req.out
    paths = {"results": write_results_csv(out / "results.csv", report.outcomes, req.target_pct)}
    o = req.options
    context = [f"site {req.site.name} ({req.site.source or 'no file'}), {o.days:g} days from {o.start:%Y-%m-%d}, "
               f"{o.forecast} forecasts, re-plan every {o.replan_every_min:g} min over {o.horizon_h:g} h, "
               f"MIP gap {100 * o.mip_rel_gap:g} %, solve time limit {o.time_limit_s:g} s", *req.context,
               f"target: {req.target_pct:g} % renewable; {len(report.outcomes)} combinations, "
               f"{len(report.run.records) + len(report.run.failures)} tasks ({report.run.cached} from the cache)"
               + (f" on {report.run.workers} Dask worker(s) ({req.scheduler})" if report.run.workers else "")]
    paths["html"] = write_study_html(out / "study.html", f"Sizing study - {req.site.name}", context,
                                     report.outcomes, req.target_pct, report.answer)
    failures = out / "failures.csv"
    if report.run.failures:
        with failures.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(("task", "error", "key"))
            w.writerows((f.label, f.error, f.key) for f in report.run.failures)
        paths["failures"] = failures
    else:
        failures.unlink(missing_ok=True)
    meta = {"site": req.site.name, "pv_kwp": list(req.pv_kwp), "battery_kwh": list(req.battery_kwh),
            "strategies": list(req.strategies), "start": o.start.isoformat(), "days": o.days,
            "chunk_days": o.chunk_days, "forecast": o.forecast, "replan_every_min": o.replan_every_min,
            "horizon_h": o.horizon_h, "mip_rel_gap": o.mip_rel_gap, "time_limit_s": o.time_limit_s,
            "target_pct": req.target_pct,
            "scheduler": req.scheduler, "workers": report.run.workers, "tasks_cached": report.run.cached,
            "tasks_run": report.run.ran, "tasks_failed": len(report.run.failures), "wall_s": report.wall_s,
            "compute_s": report.compute_s, "backtest_days": report.backtest_days,
            "backtest_days_per_s": report.days_per_s, "context": context, "answer": report.answer}
    paths["json"] = out / "study.json"
    paths["json"].write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return paths
