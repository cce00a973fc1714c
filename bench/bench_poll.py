"""Poll speed: 20 devices of the example profiles served by the virtual camp on loopback.

The camp (10 inverters, 2 batteries, 6 gensets, 2 meters, one endpoint each) runs in a child
process (its own core); this process polls it. Printed, in the same run:

- the poller with today's profiles (plant-health points and issue 15's alarm registers included,
  its read blocks at their cadence: DSE page 8 only while page 3 flags an alarm, 713 every 60 s)
  against the poller with the field set before them (the same profiles cut to their issue-13
  fields, served by the same camp on a second set of ports), and against today's profiles with
  every read block read on every cycle (the worst case: every genset in alarm; what main read
  before the blocks), in alternating slices: cycle time p50/p99 and their ratio (target: the
  health and alarm points cost at most 1.5x);
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
import dataclasses
import json
import logging
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Awaitable, Callable, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pymodbus.client import AsyncModbusTcpClient  # noqa: E402

from bench.sites import EXAMPLE, bench_site  # noqa: E402
from microgrid.clock import RealClock, SimClock  # noqa: E402
from microgrid.site import Battery, Genset, LoadMeter, PvArray, Site  # noqa: E402
from telemetry.poller import Poller  # noqa: E402
from telemetry.register_profile import PROFILE_DIR  # noqa: E402
from telemetry.testing import free_ports  # noqa: E402

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)
Device = TypeVar("Device", PvArray, Battery, Genset, LoadMeter)

#: The fields each profile read before the plant-health points (issue 14): the baseline.
TODAY_FIELDS = {
    "sunspec_inverter": {"ac_power_kw", "energy_total_kwh", "status", "power_limit_pct",
                         "power_limit_revert_s"},
    "sunspec_storage": {"power_kw", "soc_pct", "soh_pct", "voltage_v", "temp_c", "capacity_kwh",
                        "charge_rated_kw", "discharge_rated_kw", "charge_limit_kw",
                        "discharge_limit_kw", "limits_revert_s"},
    "dse_genset": {"mode", "fuel_level_pct", "running", "power_kw", "load_pct", "run_hours_h",
                   "energy_total_kwh", "starts", "base_load_kw", "fuel_rate_lph"},
    "load_meter": {"power_kw", "energy_total_kwh"},
}
#: SunSpec models each profile served before (storage had no 701).
TODAY_MODELS = {"sunspec_storage": [1, 802, 803, 124]}


def today_profiles(folder: Path) -> dict[str, str]:
    """Write the profiles cut to :data:`TODAY_FIELDS` into ``folder``; ``{name: path}``."""
    out = {}
    for name, fields in TODAY_FIELDS.items():
        data = json.loads((PROFILE_DIR / f"{name}.json").read_text())
        data["points"] = [p for p in data["points"] if p["field"] in fields]
        data.get("read", {}).pop("blocks", None)
        if name in TODAY_MODELS:
            data["models"] = TODAY_MODELS[name]
            for key in ("scale_factors", "constants"):
                data[key] = {m: v for m, v in data[key].items() if int(m) in TODAY_MODELS[name]}
        path = folder / f"{name}.json"
        path.write_text(json.dumps(data))
        out[name] = str(path)
    return out


def unblocked_profiles(folder: Path) -> dict[str, str]:
    """Today's profiles without their read blocks (every register read every cycle) in ``folder``."""
    out = {}
    for name in TODAY_FIELDS:
        data = json.loads((PROFILE_DIR / f"{name}.json").read_text())
        data.get("read", {}).pop("blocks", None)
        path = folder / f"{name}.json"
        path.write_text(json.dumps(data))
        out[name] = str(path)
    return out


def with_profiles(site: Site, paths: dict[str, str]) -> Site:
    """``site`` with each device's profile replaced by ``paths[profile]``."""
    def cut(d: Device) -> Device:
        return dataclasses.replace(d, modbus=dataclasses.replace(d.modbus, profile=paths[d.modbus.profile]))
    return dataclasses.replace(
        site, pv_arrays=tuple(map(cut, site.pv_arrays)), batteries=tuple(map(cut, site.batteries)),
        gensets=tuple(map(cut, site.gensets)), load_meters=tuple(map(cut, site.load_meters)))


# ----------------------------------------------------------------------------- the camp
def serve(ports: list[int], today_ports: list[int], paths: dict[str, str], ready: Event,
          stop: Event) -> None:
    """Child process: the virtual camp on ``ports`` (today's profiles) and on
    ``today_ports`` (the profiles cut to the earlier field set) until ``stop`` is set."""
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    from microgrid.simulator.camp import VirtualCamp
    from microgrid.simulator.server import serve_camp
    from microgrid.simulator.settings import load_simulator_settings
    site = bench_site(ports)
    camp = VirtualCamp(site, load_simulator_settings(EXAMPLE), SimClock(T0, speed=1.0))

    async def main() -> None:
        servers = await serve_camp(site, camp)
        before = await serve_camp(with_profiles(bench_site(today_ports), paths), camp)
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.05)
        await servers.stop()
        await before.stop()
    asyncio.run(main())


def cpu_s(pid: int) -> float:
    """User + system CPU time of a process. [s]"""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ----------------------------------------------------------------------------- phases
async def timed_cycles(seconds: float, cycle: Callable[[], Awaitable[tuple[int, int]]],
                       server_pid: int) -> dict:
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
    return _summary(times, requests, registers, wall, cpu_s(server_pid) - cpu0,
                    cpu_s(os.getpid()) - own0)


def _summary(times: list[float], requests: int, registers: int, wall: float, server_cpu: float,
             own_cpu: float) -> dict:
    times = sorted(times)
    return {"cycles": len(times), "p50_ms": 1e3 * statistics.median(times),
            "p99_ms": 1e3 * times[min(len(times) - 1, int(0.99 * len(times)))],
            "req_per_cycle": requests / len(times), "reg_per_cycle": registers / len(times),
            "reg_per_s": registers / wall, "req_per_s": requests / wall,
            "server_cpu_pct": 100 * server_cpu / wall, "client_cpu_pct": 100 * own_cpu / wall,
            "times": times, "requests": requests, "registers": registers, "wall": wall,
            "server_cpu": server_cpu, "own_cpu": own_cpu}


def merged(parts: list[dict]) -> dict:
    """One summary of several timed slices of the same phase."""
    return _summary([t for p in parts for t in p["times"]], sum(p["requests"] for p in parts),
                    sum(p["registers"] for p in parts), sum(p["wall"] for p in parts),
                    sum(p["server_cpu"] for p in parts), sum(p["own_cpu"] for p in parts))


async def ready_poller(site: Site) -> Poller:
    """A poller of ``site`` whose discovery is done (one poll of everything)."""
    poller = Poller(site, clock=RealClock(), cycle_wait_s=None)
    first = await poller.poll_all()                       # discovery happens here, once
    offline = [n for n, s in first.status.items() if not s.online]
    if offline:
        raise SystemExit(f"devices did not answer: {offline}")
    return poller


def poll_cycle(poller: Poller) -> Callable[[], Awaitable[tuple[int, int]]]:
    async def cycle() -> tuple[int, int]:
        c = await poller.poll_all()
        return c.requests, c.registers
    return cycle


async def phase_health_vs_today(site: Site, today_site: Site, worst_site: Site, seconds: float,
                                pid: int, slices: int = 4) -> tuple[dict, dict, dict, Poller]:
    """Today's profiles (read blocks at their cadence), the earlier field set and today's
    profiles reading every block every cycle, in alternating slices (same camp)."""
    poller, before, worst = (await ready_poller(site), await ready_poller(today_site),
                             await ready_poller(worst_site))
    new, old, every = [], [], []
    try:
        for _ in range(slices):
            old.append(await timed_cycles(seconds / slices, poll_cycle(before), pid))
            new.append(await timed_cycles(seconds / slices, poll_cycle(poller), pid))
            every.append(await timed_cycles(seconds / slices, poll_cycle(worst), pid))
    finally:
        await before.close()
        await worst.close()
    return merged(new), merged(old), merged(every), poller


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


async def run(site: Site, today_site: Site, worst_site: Site, seconds: float, pid: int) -> dict:
    res: dict = {}
    res["poller"], res["today"], res["worst"], poller = await phase_health_vs_today(
        site, today_site, worst_site, seconds, pid)
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
    ports = free_ports(40)
    ports, today_ports = ports[:20], ports[20:]
    site = bench_site(ports)
    folder = tempfile.TemporaryDirectory()
    paths = today_profiles(Path(folder.name))
    today_site = with_profiles(bench_site(today_ports), paths)
    (Path(folder.name) / "all").mkdir()
    worst_site = with_profiles(bench_site(ports), unblocked_profiles(Path(folder.name) / "all"))
    ctx = mp.get_context("fork")
    ready, stop = ctx.Event(), ctx.Event()
    child = ctx.Process(target=serve, args=(ports, today_ports, paths, ready, stop), daemon=True)
    child.start()
    try:
        if not ready.wait(30):
            raise SystemExit("the virtual camp did not start")
        res = asyncio.run(run(site, today_site, worst_site, args.seconds, child.pid))
    finally:
        stop.set()
        child.join(10)
        folder.cleanup()
    print(f"bench_poll: {len(site.devices)} devices on {len(site.devices)} endpoints "
          f"(10 PV, 2 BESS, 6 gensets, 2 meters), virtual camp in a child process, "
          f"{os.cpu_count()} CPUs")
    print(f"{'phase':<28} {'cycles':>6} {'p50 ms':>8} {'p99 ms':>8} {'req/cyc':>8} "
          f"{'reg/cyc':>8} {'req/s':>9} {'reg/s':>10} {'server':>7} {'client':>7}")
    report("poller, before health points", res["today"])
    report("poller (merged)", res["poller"])
    report("poller, every block each cycle", res["worst"])
    report("baseline: one req per point", res["unmerged"])
    report("baseline: raw pymodbus loop", res["raw"])
    report("ceiling: raw 125-reg, SunSpec", res["raw125"])
    p, u, r = res["poller"], res["unmerged"], res["raw"]
    t, w = res["today"], res["worst"]
    print(f"health and alarm points, read blocks at their cadence: {p['reg_per_cycle']:.1f} registers "
          f"in {p['req_per_cycle']:.2f} requests per cycle vs {t['reg_per_cycle']:.0f} in "
          f"{t['req_per_cycle']:.0f} before; cycle p50 {p['p50_ms'] / t['p50_ms']:.2f}x, "
          f"p99 {p['p99_ms'] / t['p99_ms']:.2f}x the earlier field set (target <= 1.5x; "
          f"alternating slices, same process)")
    print(f"worst case, every read block on every cycle (every genset in alarm): "
          f"{w['reg_per_cycle']:.0f} registers in {w['req_per_cycle']:.0f} requests; cycle p50 "
          f"{w['p50_ms'] / t['p50_ms']:.2f}x, p99 {w['p99_ms'] / t['p99_ms']:.2f}x the earlier field set")
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
