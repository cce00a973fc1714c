"""Run a study's tasks on ``dask.distributed`` (docs/architecture.md §13).

``scheduler="local"`` starts a :class:`distributed.LocalCluster` of worker processes on this
machine (one thread each: a task is one core's worth of work); ``"tcp://HOST:PORT"`` submits to
an existing Dask cluster (``dask scheduler`` and ``dask worker`` processes anywhere). Nothing of
our own schedules work: Dask places the tasks, and re-runs those of a worker that dies on the
workers left.

Each finished task is cached (:class:`~microgrid.study.cache.TaskCache`) as soon as its result
reaches the client; tasks already in the cache are not submitted. A task that raises is
reported with its label and does not stop the others.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from microgrid.errors import InputError
from microgrid.study.cache import TaskCache

__all__ = ["Failure", "RunOutcome", "check_scheduler", "dask_client", "run_tasks"]

#: A task as the engine sees it: a label for messages and the arguments of the task function.
TaskCall = tuple[str, tuple[Any, ...]]
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Failure:
    """A task that raised: its key, its label (the combination and chunk) and the error."""

    key: str
    label: str
    error: str


@dataclass
class RunOutcome:
    """What a run gave: every record by key (cached or new), the failures, and counts."""

    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    cached: int = 0  #: tasks found in the cache
    ran_keys: set[str] = field(default_factory=set)  #: tasks run now (and finished)
    workers: int = 0  #: workers the cluster had when the run started (0: nothing was run)
    compute_s: float = 0.0  #: from the first submission to the last result. [s]

    @property
    def ran(self) -> int:
        """Tasks run now (and finished)."""
        return len(self.ran_keys)


def check_scheduler(scheduler: str) -> str:
    """``scheduler`` if it is ``local`` or ``tcp://HOST:PORT``; else an :class:`InputError`."""
    host, _, port = scheduler.removeprefix("tcp://").rpartition(":")
    if scheduler != "local" and not (scheduler.startswith("tcp://") and host and port.isdigit()
                                     and 0 < int(port) < 65536):
        raise InputError(f"{scheduler!r} is neither 'local' nor a Dask scheduler address tcp://HOST:PORT",
                         path="--scheduler")
    return scheduler


@contextmanager
def dask_client(scheduler: str, workers: int, timeout_s: float = 30.0) -> Iterator[Any]:
    """A ``distributed.Client``: of a new local cluster of ``workers`` processes, or of the
    cluster at ``scheduler`` (``tcp://HOST:PORT``).

    Raises
    ------
    InputError
        A scheduler address that is not ``local`` or ``tcp://HOST:PORT``, or that does not answer
        within ``timeout_s``.
    """
    from distributed import Client, LocalCluster

    if scheduler == "local":
        if workers < 1:
            raise InputError(f"must be >= 1, got {workers}", path="--workers")
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=":0",
                          silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
            yield client
        return
    check_scheduler(scheduler)
    try:
        client = Client(scheduler, timeout=timeout_s)
    except (OSError, TimeoutError) as exc:
        raise InputError(f"no Dask scheduler answers at {scheduler}: {exc}", path="--scheduler") from None
    try:
        yield client
    finally:
        client.close()


def run_tasks(fn: Callable[..., dict[str, Any]], tasks: Mapping[str, TaskCall], cache: TaskCache, *,
              scheduler: str = "local", workers: int = 2, progress: Progress | None = None) -> RunOutcome:
    """Run every task not in ``cache`` as ``fn(*args)`` on a Dask cluster.

    The cluster (:func:`dask_client`) is only started or reached when a task is left to run.

    Parameters
    ----------
    fn : callable
        The task function (importable by the workers); returns a JSON-ready record.
    tasks : mapping
        Key (the input hash) -> (label, args).
    cache : TaskCache
    scheduler : str
        ``local`` or ``tcp://HOST:PORT``.
    workers : int
        Worker processes of a local cluster.
    progress : callable, optional
        ``progress(done, total)`` after every finished task (cached ones count as done first).

    Returns
    -------
    RunOutcome
    """
    out = RunOutcome()
    todo: dict[str, TaskCall] = {}
    for key, call in tasks.items():
        record = cache.get(key)
        if record is None:
            todo[key] = call
        else:
            out.records[key] = record
            out.cached += 1
    total = len(tasks)
    if progress is not None:
        progress(out.cached, total)
    if not todo:
        return out
    with dask_client(scheduler, workers) as client:
        out.workers = len(client.scheduler_info().get("workers", {}))
        t0 = time.perf_counter()
        _gather(client, fn, todo, cache, out, lambda: progress(out.cached + out.ran + len(out.failures), total)
                if progress is not None else None)
        out.compute_s = time.perf_counter() - t0
    return out


def _gather(client: Any, fn: Callable[..., dict[str, Any]], todo: dict[str, TaskCall], cache: TaskCache,
            out: RunOutcome, tick: Callable[[], None]) -> None:
    """Submit ``todo`` and collect the results as they finish (cached at once), or the errors."""
    from distributed import as_completed

    futures = {client.submit(fn, *args, key=f"study-{key}", pure=False): key for key, (_, args) in todo.items()}
    for future in as_completed(list(futures)):
        key = futures[future]
        if future.status == "error":
            exc = future.exception()
            out.failures.append(Failure(key, todo[key][0], f"{type(exc).__name__}: {exc}"))
        else:
            record = future.result()
            cache.put(key, record)
            out.records[key] = record
            out.ran_keys.add(key)
        future.release()
        tick()
