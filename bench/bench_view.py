"""`microgrid view` over a 30-day store at the live rate: how long does `/` take for 30 days?

Target (issue 17): under 1 s for the 30-day range. Builds a tiered SQLite store holding 30 days
of the example camp at the live rate and layout (``bench/camp_year.py``), starts the real
``microgrid view`` on loopback and times ``GET /`` for each range over HTTP (first request
apart: cold caches). Baselines measured in this run: ``GET /health`` (the HTTP floor), and the
same 30-day page computed from the raw readings alone (the store opened without its roll-ups,
in process), which is what the roll-ups save.

    PYTHONPATH=. .venv/bin/python bench/bench_view.py [--days 30] [--repeat 7] [--keep PATH]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import camp_year as cy  # noqa: E402

from microgrid.web import CampPage  # noqa: E402
from telemetry.historian import open_historian  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def timed_get(url: str) -> tuple[float, int]:
    t = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as r:
        body = r.read()
        assert r.status == 200, (url, r.status)
    return time.perf_counter() - t, len(body)


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(path: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "microgrid.cli", "view", "--site", str(cy.EXAMPLE),
                             "--store", f"sqlite:///{path}", "--addr", f"127.0.0.1:{port}"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while True:
        try:
            timed_get(url + "health")
            return proc, url
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("microgrid view did not start") from None
            time.sleep(0.2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=float, default=30.0)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--keep", type=Path, help="keep the store at this path")
    ap.add_argument("--reuse", type=Path, help="time a store kept by an earlier run (--keep) instead")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-view-") as tmp:
        if args.reuse:
            path = args.reuse
            print(f"store: {path} ({path.stat().st_size / 1e6:,.0f} MB), kept by an earlier run")
        else:
            layouts, rate = cy.live_layout(1.0)
            path = args.keep or Path(tmp) / "camp.sqlite"
            path.unlink(missing_ok=True)
            t = time.perf_counter()
            written = cy.write_history(path, args.days, layouts, progress=lambda s: None)
            print(f"store: {args.days:g} days at {rate:.2f} values/s (live, measured): {written:,} values, "
                  f"{path.stat().st_size / 1e6:,.0f} MB, written in {time.perf_counter() - t:.0f} s")
        proc, url = serve(path)
        try:
            floor = statistics.median(timed_get(url + "health")[0] for _ in range(args.repeat))
            print(f"GET /health (HTTP floor): median {1000 * floor:.1f} ms")
            for rng in ("30d", "7d", "24h"):
                cold, size = timed_get(f"{url}?range={rng}")
                warm = [timed_get(f"{url}?range={rng}")[0] for _ in range(args.repeat)]
                print(f"GET /?range={rng:4s}: first {1000 * cold:6.0f} ms, then median "
                      f"{1000 * statistics.median(warm):6.0f} ms, max {1000 * max(warm):6.0f} ms "
                      f"({size / 1e3:.0f} kB){'   target < 1000 ms' if rng == '30d' else ''}")
        finally:
            proc.terminate()
            proc.wait(30)
        site = cy.site()
        with open_historian(f"sqlite:///{path}", tiered=True, readonly=True) as tiered, \
                open_historian(f"sqlite:///{path}", readonly=True) as raw_only:
            times = {}
            for name, store in (("roll-ups", tiered), ("raw readings only", raw_only)):
                page = CampPage([site], store)
                runs = []
                for _ in range(3):
                    t = time.perf_counter()
                    status, _, _ = page.handle("/", "range=30d")
                    runs.append(time.perf_counter() - t)
                    assert status == 200
                times[name] = statistics.median(runs)
                print(f"30-day page in process, {name:17s}: median {1000 * times[name]:6.0f} ms")
            print(f"the roll-ups make the 30-day page {times['raw readings only'] / times['roll-ups']:.1f}x faster")


if __name__ == "__main__":
    main()
