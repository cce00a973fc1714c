"""Ingest benchmark: readings -> line protocol -> spool -> InfluxDB 1.x ``/write``.

Starts a private influxd (same code as the test fixtures), builds realistic camp readings
(3 PV inverters, 1 battery, 3 gensets, 1 load meter, camp totals, docs/architecture.md §4 fields, 1 s apart)
and prints points/s for:

  (a) server baseline: pre-encoded 5,000-point payloads POSTed straight to /write;
  (b) through the spool: SpooledHistorian.write (encode + fsynced append) in one thread while
      drain_forever sends in order and deletes acknowledged batches, until the spool is empty;
  (b') the same, serial: write everything, then flush;
  (c) line-protocol encoding alone;

and the ratio b/a. No assertion on time (CONVENTIONS 8). Usage::

    PYTHONPATH=. .venv/bin/python bench/bench_ingest.py [--points 500000] [--batch 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from microgrid.readings import Reading  # noqa: E402
from telemetry.historian import InfluxV1Historian, Spool, SpooledHistorian  # noqa: E402
from telemetry.historian.lineprotocol import LineEncoder  # noqa: E402
from telemetry.testing.influxd import InfluxdProcess  # noqa: E402

DEVICES = [("pv_inverter", f"pv-{i}", ("ac_power_kw", "energy_total_kwh", "power_limit_pct",
                                       "status")) for i in (1, 2, 3)] + \
          [("battery", "bess-1", ("power_kw", "soc_pct", "soh_pct", "voltage_v", "temp_c",
                                  "charge_limit_kw", "discharge_limit_kw"))] + \
          [("genset", f"dg-{i}", ("power_kw", "running", "load_pct", "fuel_rate_lph",
                                  "fuel_level_pct", "run_hours_h", "starts", "energy_total_kwh"))
           for i in (1, 2, 3)] + \
          [("load_meter", "lm-1", ("power_kw", "energy_total_kwh")),
           ("camp", None, ("load_kw", "pv_kw", "genset_kw", "battery_kw", "soc_pct",
                           "gensets_online", "renewable_share_pct"))]


def make_readings(n: int, seed: int = 1) -> list[Reading]:
    """``n`` readings, one poll cycle (9 devices) per second from 2026-01-05 UTC."""
    rnd = random.Random(seed)
    t0 = datetime(2026, 1, 5, tzinfo=timezone.utc)
    out: list[Reading] = []
    cycle = 0
    while len(out) < n:
        t = t0 + timedelta(seconds=cycle)
        for measurement, device, fields in DEVICES:
            tags = {"site": "malakal"} if device is None else {"site": "malakal", "device": device}
            out.append(Reading(t, measurement, tags,
                               {f: round(rnd.uniform(0, 500), 3) for f in fields}))
            if len(out) == n:
                break
        cycle += 1
    return out


def rate(points: int, seconds: float) -> float:
    return points / seconds if seconds > 0 else float("inf")


def bench_encode(readings: list[Reading], batch: int) -> tuple[list[bytes], float]:
    t = time.perf_counter()
    payloads = [p for p, _ in LineEncoder().batches(readings, batch)]
    return payloads, time.perf_counter() - t


def bench_server(url: str, db: str, payloads: list[bytes]) -> float:
    requests.post(f"{url}/query", params={"q": f'CREATE DATABASE "{db}"'}, timeout=10)
    s = requests.Session()
    t = time.perf_counter()
    for p in payloads:
        r = s.post(f"{url}/write", params={"db": db, "precision": "ns"}, data=p, timeout=60)
        r.raise_for_status()
    return time.perf_counter() - t


def bench_spool_pipelined(url: str, db: str, readings: list[Reading], batch: int,
                          spool_path: Path) -> float:
    requests.post(f"{url}/query", params={"q": f'CREATE DATABASE "{db}"'}, timeout=10)
    h = SpooledHistorian(InfluxV1Historian(url, db, timeout_s=60), Spool(spool_path),
                         batch_points=batch)
    stop = asyncio.Event()
    loop = asyncio.new_event_loop()
    drainer = threading.Thread(target=loop.run_until_complete,
                               args=(h.drain_forever(stop, interval_s=0.001),))
    t = time.perf_counter()
    drainer.start()
    for i in range(0, len(readings), batch):  # the poll loop hands over one chunk at a time
        h.write(readings[i:i + batch])
    while h.spool.depth().batches:
        time.sleep(0.001)
    elapsed = time.perf_counter() - t
    loop.call_soon_threadsafe(stop.set)
    drainer.join()
    loop.close()
    h.close()
    return elapsed


def bench_spool_serial(url: str, db: str, readings: list[Reading], batch: int,
                       spool_path: Path) -> float:
    requests.post(f"{url}/query", params={"q": f'CREATE DATABASE "{db}"'}, timeout=10)
    h = SpooledHistorian(InfluxV1Historian(url, db, timeout_s=60), Spool(spool_path),
                         batch_points=batch)
    t = time.perf_counter()
    h.write(readings)
    assert h.flush(timeout_s=600)
    elapsed = time.perf_counter() - t
    h.close()
    return elapsed


def count(url: str, db: str) -> int:
    q = 'SELECT count("power_kw") FROM "battery"'
    r = requests.get(f"{url}/query", params={"db": db, "q": q}, timeout=60).json()
    return r["results"][0]["series"][0]["values"][0][1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--points", type=int, default=500_000)
    ap.add_argument("--batch", type=int, default=5000)
    args = ap.parse_args(argv)
    readings = make_readings(args.points)
    n = len(readings)
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        with InfluxdProcess(Path(tmp) / "influxd") as server:
            payloads, t_enc = bench_encode(readings, args.batch)
            t_a = bench_server(server.url, "bench_a", payloads)
            t_b = bench_spool_pipelined(server.url, "bench_b", readings, args.batch,
                                        Path(tmp) / "spool_b.db")
            t_s = bench_spool_serial(server.url, "bench_s", readings, args.batch,
                                     Path(tmp) / "spool_s.db")
            check = {db: count(server.url, db) for db in ("bench_a", "bench_b", "bench_s")}
    size = sum(map(len, payloads))
    print(f"ingest benchmark: {n:,} points ({size / n:.0f} B/point of line protocol), "
          f"batches of {args.batch:,}, influxd 1.x on loopback")
    print(f"  (c) line-protocol encoding alone   {rate(n, t_enc):>12,.0f} points/s")
    print(f"  (a) server baseline (pre-encoded)  {rate(n, t_a):>12,.0f} points/s")
    print(f"  (b) through the spool, pipelined   {rate(n, t_b):>12,.0f} points/s")
    print(f"  (b') through the spool, serial     {rate(n, t_s):>12,.0f} points/s")
    print(f"  ratio b/a = {t_a / t_b:.2f}   b'/a = {t_a / t_s:.2f}")
    print(f"  check: battery points stored per database {check} "
          f"(expected {sum(1 for r in readings if r.measurement == 'battery'):,} each)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
