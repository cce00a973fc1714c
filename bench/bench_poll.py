"""Poll speed: 20 devices of the example profiles served by the virtual camp on loopback.

The camp (10 inverters, 2 batteries, 6 gensets, 2 meters, one endpoint each) runs in a child
process (its own core); this process polls it. Printed, in the same run:

- the poller (merged read plans, discovery done once, decode, readings): cycle time p50/p99,
  requests and registers per cycle, registers/s;
- baseline "unmerged": the same points read one request per point (and per scale factor)
  through the same connections: the merge ratio;
- baseline "raw pymodbus": the poller's merged reads in a bare AsyncModbusTcpClient loop
  (no lock, no decode, no readings): the poller's own overhead;
- ceiling "raw 125": bare 125-register reads from the "SunS" base of the 12 SunSpec
  devices, one per endpoint per cycle: registers/s when every request is full-size;
- the CPU share of the server process and of this (client) process during each phase
  (≈ 100 % marks the bottleneck).

Asserts nothing. Run: ``PYTHONPATH=. .venv/bin/python bench/bench_poll.py [--seconds 10]``
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing as mp
import os
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pymodbus.client import AsyncModbusTcpClient  # noqa: E402

from bench.sites import EXAMPLE, bench_site  # noqa: E402
from microgrid.clock import RealClock, SimClock  # noqa: E402
from telemetry.poller import Poller  # noqa: E402
from telemetry.testing import free_ports  # noqa: E402

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)


# ----------------------------------------------------------------------------- the camp
def serve(ports: list[int], ready, stop) -> None:
    """Child process: the virtual camp on ``ports`` until ``stop`` is set."""
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    from microgrid.simulator.camp import VirtualCamp
    from microgrid.simulator.server import serve_camp
    from microgrid.simulator.settings import load_simulator_settings
    site = bench_site(ports)
    camp = VirtualCamp(site, load_simulator_settings(EXAMPLE), SimClock(T0, speed=1.0))

    async def main():
        servers = await serve_camp(site, camp)
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.05)
        await servers.stop()
    asyncio.run(main())


def cpu_s(pid: int) -> float:
    """User + system CPU time of a process. [s]"""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ----------------------------------------------------------------------------- phases
async def timed_cycles(seconds: float, cycle, server_pid: int) -> dict:
    """Run ``await cycle() -> (requests, registers)`` for ``seconds``; collect figures."""
    times, requests, registers = [], 0, 0
    cpu0, own0, start = cpu_s(server_pid), cpu_s(os.getpid()), time.perf_counter()
    while time.perf_counter() - start < seconds:
        t = time.perf_counter()
        n_req, n_reg = await cycle()
        times.append(time.perf_counter() - t)
        requests += n_req
        registers += n_reg
    wall = time.perf_counter() - start
    times.sort()
    return {"cycles": len(times), "p50_ms": 1e3 * statistics.median(times),
            "p99_ms": 1e3 * times[min(len(times) - 1, int(0.99 * len(times)))],
            "req_per_cycle": requests / len(times), "reg_per_cycle": registers / len(times),
            "reg_per_s": registers / wall, "req_per_s": requests / wall,
            "server_cpu_pct": 100 * (cpu_s(server_pid) - cpu0) / wall,
            "client_cpu_pct": 100 * (cpu_s(os.getpid()) - own0) / wall}


async def phase_poller(site, seconds, pid) -> tuple[dict, Poller]:
    poller = Poller(site, clock=RealClock(), cycle_wait_s=None)
    first = await poller.poll_all()                       # discovery happens here, once
    offline = [n for n, s in first.status.items() if not s.online]
    if offline:
        raise SystemExit(f"devices did not answer: {offline}")

    async def cycle():
        c = await poller.poll_all()
        return c.requests, c.registers
    return await timed_cycles(seconds, cycle, pid), poller


async def phase_unmerged(site, poller: Poller, seconds, pid) -> dict:
    """Every point (and its scale-factor register) in its own request, same connections."""
    plan = {}
    for d in site.devices:
        profile = poller.profile_of(d.name)
        regs = set()
        for p in profile.points:
            if p.access != "W":
                regs.add((p.address, p.size))
                if p.sf_address is not None:
                    regs.add((p.sf_address, 1))
        plan[d.name] = (poller.connections.for_device(d), d.modbus.unit_id, profile.function,
                        sorted(regs))

    async def device(conn, unit, function, reads):
        for address, count in reads:
            await conn.read(unit, address, count, function=function)
        return len(reads), sum(c for _, c in reads)

    async def cycle():
        out = await asyncio.gather(*(device(*p) for p in plan.values()))
        return sum(o[0] for o in out), sum(o[1] for o in out)
    return await timed_cycles(seconds, cycle, pid)


async def phase_raw(site, poller: Poller, seconds, pid, full_125: bool = False) -> dict:
    """Bare pymodbus clients, one per endpoint: the merged reads (or one 125-register read)."""
    from telemetry.readplan import Read, profile_reads
    clients, jobs = [], []
    for d in site.devices:
        profile = poller.profile_of(d.name)
        if full_125 and profile.kind != "sunspec":
            continue                      # sparse vendor maps have no 125-register run
        c = AsyncModbusTcpClient(d.modbus.host, port=d.modbus.port, timeout=2, retries=0)
        await c.connect()
        clients.append(c)
        reads = ([Read(profile.base_address, 125)] if full_125 else profile_reads(profile))
        fn = c.read_input_registers if profile.function == "input" else c.read_holding_registers
        jobs.append((fn, d.modbus.unit_id, reads))

    async def device(fn, unit, reads):
        n = 0
        for r in reads:
            rr = await fn(r.address, count=r.count, device_id=unit)
            n += 0 if rr.isError() else len(rr.registers)
        return len(reads), n

    async def cycle():
        out = await asyncio.gather(*(device(*j) for j in jobs))
        return sum(o[0] for o in out), sum(o[1] for o in out)
    try:
        return await timed_cycles(seconds, cycle, pid)
    finally:
        for c in clients:
            c.close()


# ----------------------------------------------------------------------------- main
def report(name: str, r: dict) -> None:
    print(f"{name:<28} {r['cycles']:>6} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} "
          f"{r['req_per_cycle']:>8.1f} {r['reg_per_cycle']:>8.1f} {r['req_per_s']:>9.0f} "
          f"{r['reg_per_s']:>10.0f} {r['server_cpu_pct']:>6.0f}% {r['client_cpu_pct']:>6.0f}%")


async def run(site, seconds: float, pid: int) -> dict:
    res: dict = {}
    res["poller"], poller = await phase_poller(site, seconds, pid)
    try:
        res["unmerged"] = await phase_unmerged(site, poller, seconds / 3, pid)
        res["raw"] = await phase_raw(site, poller, seconds / 3, pid)
        res["raw125"] = await phase_raw(site, poller, seconds / 3, pid, full_125=True)
    finally:
        await poller.close()
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="poller phase length [s]")
    args = ap.parse_args()
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    ports = free_ports(20)
    site = bench_site(ports)
    ctx = mp.get_context("fork")
    ready, stop = ctx.Event(), ctx.Event()
    child = ctx.Process(target=serve, args=(ports, ready, stop), daemon=True)
    child.start()
    try:
        if not ready.wait(30):
            raise SystemExit("the virtual camp did not start")
        res = asyncio.run(run(site, args.seconds, child.pid))
    finally:
        stop.set()
        child.join(10)
    print(f"bench_poll: {len(site.devices)} devices on {len(site.devices)} endpoints "
          f"(10 PV, 2 BESS, 6 gensets, 2 meters), virtual camp in a child process, "
          f"{os.cpu_count()} CPUs")
    print(f"{'phase':<28} {'cycles':>6} {'p50 ms':>8} {'p99 ms':>8} {'req/cyc':>8} "
          f"{'reg/cyc':>8} {'req/s':>9} {'reg/s':>10} {'server':>7} {'client':>7}")
    report("poller (merged)", res["poller"])
    report("baseline: one req per point", res["unmerged"])
    report("baseline: raw pymodbus loop", res["raw"])
    report("ceiling: raw 125-reg, SunSpec", res["raw125"])
    p, u, r = res["poller"], res["unmerged"], res["raw"]
    print(f"merge ratio: {u['req_per_cycle'] / p['req_per_cycle']:.1f}x fewer requests, "
          f"{u['p50_ms'] / p['p50_ms']:.1f}x shorter cycles (p50) than one request per point")
    print(f"poller overhead vs raw pymodbus (same reads): {p['p50_ms'] / r['p50_ms']:.2f}x p50")
    print(f"targets: cycle p99 < 100 ms -> {p['p99_ms']:.1f} ms; >= 100k registers/s -> "
          f"{p['reg_per_s'] / 1e3:.1f}k/s (ceiling with 125-register reads "
          f"{res['raw125']['reg_per_s'] / 1e3:.1f}k/s)")
    print(f"per request: {1e6 / p['req_per_s']:.0f} us wall in the poller, "
          f"{1e6 / r['req_per_s']:.0f} us in the raw loop; registers/s is bound by requests/s "
          f"x registers per request ({p['reg_per_cycle'] / p['req_per_cycle']:.1f} here)")


if __name__ == "__main__":
    main()
