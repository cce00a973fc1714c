"""One task of a study: one chunk of one combination's backtest, identified by its inputs' hash.

A task is what a Dask worker runs (:func:`run_task`): the re-sized camp operated by its strategy
over one chunk (:func:`optimizer.backtest.backtest`, every chunk after the first with its
uncounted spin-up, as :func:`optimizer.backtest_chunks.backtest_chunks` does). It returns a
JSON-ready record of the :class:`~optimizer.backtest_report.BacktestResult`, which the client
caches and turns back into a result to merge the chunks (:func:`result_from_record`,
:func:`optimizer.backtest_chunks.merge_results`).

The hash (:func:`task_key`) covers everything the result depends on: the re-sized site (every
field but the file it came from and its costs and logistics), the conditions' fingerprint, the strategy, the chunk, the
operation options, and :data:`CACHE_VERSION` (bumped when the physics or a strategy changes what
a backtest returns).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from microgrid.site import Site
from microgrid.study.spec import Sizing, StudyOptions, resize_site
from optimizer.backtest import backtest
from optimizer.backtest_chunks import chunk_periods
from optimizer.backtest_report import BacktestResult
from optimizer.model import MilpOptions

__all__ = ["CACHE_VERSION", "StudyConditions", "StudyTask", "plan_tasks", "result_from_record", "run_task",
           "task_key"]

#: Part of every task's hash: a new value invalidates every cached result.
CACHE_VERSION = 1


class StudyConditions(Protocol):
    """Conditions a study can re-bind to each re-sized camp (a picklable ConditionsSource maker)."""

    def for_site(self, site: Site) -> Any:
        """The :class:`~microgrid.plant.conditions.ConditionsSource` of ``site`` (its PV arrays)."""
        ...

    def fingerprint(self) -> dict[str, Any]:
        """JSON-ready identity of the load and weather (seed and knobs, or a hash of the data)."""
        ...


@dataclass(frozen=True)
class StudyTask:
    """One chunk of one combination."""

    sizing: Sizing
    chunk: int  #: 0-based chunk number
    chunks: int  #: chunks of the combination
    start: datetime  #: first counted instant of the chunk (UTC)
    days: float  #: counted days of the chunk. [d]
    spinup_days: float  #: uncounted days before ``start``. [d]

    @property
    def label(self) -> str:
        """The combination and the chunk, as a failure names it."""
        return (f"{self.sizing.label}, chunk {self.chunk + 1}/{self.chunks} "
                f"({self.start:%Y-%m-%d}, {self.days:g} d)")


def plan_tasks(sizings: list[Sizing], options: StudyOptions) -> list[StudyTask]:
    """Every combination cut into the study's chunks, combination by combination."""
    parts = chunk_periods(options.start, options.days, options.chunks)
    return [StudyTask(s, i, len(parts), start, days, 0.0 if i == 0 else options.spinup_days)
            for s in sizings for i, (start, days) in enumerate(parts)]


def _site_identity(site: Site) -> dict[str, Any]:
    """What of a site a backtest depends on: all but its file, its costs and its logistics (the
    costs are applied to the merged results, so changing a price re-uses every cached task)."""
    d = dataclasses.asdict(site)
    for name in ("source", "costs", "logistics"):
        d.pop(name, None)
    return d


def task_key(site: Site, conditions: StudyConditions, task: StudyTask, options: StudyOptions) -> str:
    """Hex SHA-256 of every input of the task (module docstring)."""
    operated = options.operated_site(resize_site(site, task.sizing.pv_kwp, task.sizing.battery_kwh))
    payload = {
        "version": CACHE_VERSION, "site": _site_identity(operated), "conditions": conditions.fingerprint(),
        "strategy": task.sizing.strategy, "start": task.start.isoformat(), "days": task.days,
        "spinup_days": task.spinup_days, "forecast": options.forecast,
        "replan_every_min": options.replan_every_min, "mip_rel_gap": options.mip_rel_gap,
        "time_limit_s": options.time_limit_s,
    }
    text = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def run_task(site: Site, conditions: StudyConditions, task: StudyTask, options: StudyOptions) -> dict[str, Any]:
    """Run one task (on a worker): the re-sized camp's backtest over the chunk, as a record.

    HiGHS runs one thread per task (a worker process is one core's worth of work), with the study's
    solve time limit (:class:`~microgrid.study.spec.StudyOptions`).
    """
    operated = options.operated_site(resize_site(site, task.sizing.pv_kwp, task.sizing.battery_kwh))
    result = backtest(operated, conditions.for_site(operated), start=task.start, days=task.days,
                      strategy=task.sizing.strategy, forecast=options.forecast,
                      replan_every_min=options.replan_every_min, spinup_days=task.spinup_days,
                      milp_options=MilpOptions(mip_rel_gap=options.mip_rel_gap, threads=1,
                                               time_limit_s=options.time_limit_s))
    return result_record(result)


_TIMES = ("start", "end")
_DROPPED = ("steps", "step_times")


def result_record(result: BacktestResult) -> dict[str, Any]:
    """A backtest result as JSON-ready values (no per-step data)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(result):
        if f.name in _DROPPED:
            continue
        value = getattr(result, f.name)
        out[f.name] = value.isoformat() if f.name in _TIMES else value
    return out


def result_from_record(record: dict[str, Any]) -> BacktestResult:
    """The :class:`BacktestResult` a record was made from (without per-step data)."""
    values = dict(record)
    for name in _TIMES:
        values[name] = datetime.fromisoformat(values[name])
    return BacktestResult(**values)
