"""Studies on real Dask: a LocalCluster of 2 worker processes, and a `dask scheduler` with two
`dask worker` processes started by the test on loopback (stopped by PID).

A 2 x 2 study (PV 600/1200 kWp x battery 1000/2000 kWh, MILP and cycle charging, 2 days in
1-day chunks) gives the same results.csv on both; more PV never burns more fuel in it; killing a
worker in the middle of the study still finishes it with the same results; a finished study
resumes from its cache without a cluster; a failed task is reported and the others finish.
"""

from __future__ import annotations

import csv
import os
import signal
from datetime import datetime, timezone
from pathlib import Path

import pytest
from dask_testkit import DaskProcesses
from testkit import example_camp

from microgrid.study.cache import TaskCache
from microgrid.study.conditions import CampConditions
from microgrid.study.engine import run_tasks
from microgrid.study.run import StudyRequest, run_study
from microgrid.study.spec import StudyOptions

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SITE, SIM = example_camp()
START = datetime(2026, 1, 1, tzinfo=timezone.utc)
PV, BATTERY, STRATEGIES = (600.0, 1200.0), (1000.0, 2000.0), ("milp", "cycle-charging")
TASKS = len(PV) * len(BATTERY) * len(STRATEGIES) * 2  # 2 one-day chunks; 600/1000 is the camp as built


def study(out: Path, scheduler: str = "local") -> StudyRequest:
    options = StudyOptions(start=START, days=2.0, chunk_days=1.0)
    return StudyRequest(SITE, CampConditions(SITE, SIM), PV, BATTERY, STRATEGIES, options, out, 80.0, scheduler, 2)


def rows(out: Path) -> list[dict[str, str]]:
    with (out / "results.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    out = tmp_path_factory.mktemp("local-study")
    return out, run_study(study(out))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with DaskProcesses(tmp_path_factory.mktemp("dask")) as processes:
        yield processes


def test_local_cluster_runs_every_combination(local):
    out, report = local
    assert report.run.workers == 2
    assert (report.run.ran, report.run.cached, report.run.failures) == (TASKS, 0, [])
    got = rows(out)
    assert [(r["pv_kwp"], r["battery_kwh"], r["strategy"]) for r in got] == [
        (f"{p:g}", f"{b:g}", s) for p in PV for b in BATTERY for s in STRATEGIES]
    assert all(r["status"] == "ok" and float(r["days"]) == 2.0 for r in got)
    assert all(float(r["unserved_kwh"]) == 0.0 for r in got)
    assert len({r["load_kwh"] for r in got}) == 1  # every size sees the same camp load
    assert (out / "study.html").read_text().count("<tr>") == len(got) + 1
    assert report.backtest_days == pytest.approx(TASKS * 1.0 + TASKS / 2 * 2.0)  # + spin-up of second chunks


def test_more_pv_never_burns_more_fuel(local):
    out, _ = local
    by = {(float(r["pv_kwp"]), float(r["battery_kwh"]), r["strategy"]): r for r in rows(out)}
    for b in BATTERY:
        for s in STRATEGIES:
            small, big = by[(PV[0], b, s)], by[(PV[1], b, s)]
            assert float(big["fuel_l"]) < float(small["fuel_l"]), (b, s)
            assert float(big["fuel_soc_adjusted_l"]) < float(small["fuel_soc_adjusted_l"]), (b, s)
            assert float(big["renewable_fraction_pct"]) > float(small["renewable_fraction_pct"]), (b, s)


def test_an_existing_cluster_gives_the_same_results(local, cluster, tmp_path):
    out, _ = local
    report = run_study(study(tmp_path, cluster.address))
    assert report.run.workers == 2 and report.run.ran == TASKS
    assert (tmp_path / "results.csv").read_bytes() == (out / "results.csv").read_bytes()


def test_a_finished_study_resumes_from_its_cache_without_a_cluster(local):
    out, _ = local
    before = (out / "results.csv").read_bytes()
    report = run_study(study(out, "tcp://127.0.0.1:9"))  # nothing listens there: nothing may be submitted
    assert (report.run.cached, report.run.ran, report.run.workers) == (TASKS, 0, 0)
    assert (out / "results.csv").read_bytes() == before


def test_an_interrupted_study_runs_only_what_is_missing(local, cluster, tmp_path):
    out, _ = local
    (tmp_path / "cache").mkdir()
    cached = sorted((out / "cache").iterdir())[: TASKS // 2]
    for path in cached:
        (tmp_path / "cache" / path.name).write_bytes(path.read_bytes())
    report = run_study(study(tmp_path, cluster.address))
    assert (report.run.cached, report.run.ran) == (TASKS // 2, TASKS - TASKS // 2)
    assert (tmp_path / "results.csv").read_bytes() == (out / "results.csv").read_bytes()


def test_killing_a_worker_mid_study_still_finishes(local, tmp_path):
    out, _ = local
    killed: dict[str, object] = {}
    with DaskProcesses(tmp_path / "dask") as processes:
        pids = processes.worker_pids()

        def kill_a_busy_worker(done: int, total: int) -> None:
            if killed or done == 0:
                return
            with processes.client() as client:
                busy = [w for w, keys in client.processing().items() if keys]
            victim = (busy or sorted(pids))[0]
            os.kill(pids[victim], signal.SIGKILL)
            killed.update(worker=victim, busy=bool(busy), done=done, total=total)

        report = run_study(study(tmp_path / "out", processes.address), kill_a_busy_worker)
        with processes.client() as client:
            left = list(client.scheduler_info()["workers"])
    assert killed and killed["done"] < killed["total"]
    assert left and killed["worker"] not in left
    assert report.run.failures == [] and report.run.ran == TASKS
    assert (tmp_path / "out" / "results.csv").read_bytes() == (out / "results.csv").read_bytes()


def test_a_failed_task_is_reported_and_the_others_finish(cluster, tmp_path):
    def fails_for_big_battery(battery_kwh: float, limit_kwh: float) -> dict[str, float]:
        # a local function: Dask ships it by value (cloudpickle), the workers cannot import the tests
        if battery_kwh > limit_kwh:
            raise ValueError(f"battery {battery_kwh:g} kWh is above {limit_kwh:g} kWh")
        return {"battery_kwh": battery_kwh}

    tasks = {f"k{b:g}": (f"battery {b:g} kWh", (b, 1500.0)) for b in (1000.0, 2000.0, 3000.0)}
    cache = TaskCache(tmp_path)
    outcome = run_tasks(fails_for_big_battery, tasks, cache, scheduler=cluster.address)
    assert sorted(f.label for f in outcome.failures) == ["battery 2000 kWh", "battery 3000 kWh"]
    assert all("ValueError" in f.error and "above 1500 kWh" in f.error for f in outcome.failures)
    assert outcome.records == {"k1000": {"battery_kwh": 1000.0}}
    assert cache.get("k1000") == {"battery_kwh": 1000.0} and cache.get("k2000") is None
