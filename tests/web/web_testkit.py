"""Shared pieces of the camp page's tests: a headless Chromium through Selenium, `microgrid view`
started as a subprocess, a store copied into influxd, the live service against the virtual camp
in a background thread, and what the page says read back from the DOM.

Real peers only: Debian's chromium and chromium-driver (installed by ``scripts/test.sh``), the
real ``microgrid view`` command, a real influxd, the virtual camp over Modbus TCP on loopback.
Chromium runs headless with a fresh profile and everything that would reach the network off
(this machine's network is closed).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from microgrid.readings import Reading

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_SITE = ROOT / "sites" / "example-camp.toml"
#: Where the browser run writes its screenshots (named in the README); override with
#: MICROGRID_SCREENSHOTS.
SCREENSHOTS = Path(os.environ.get("MICROGRID_SCREENSHOTS", ROOT / "build" / "screenshots"))
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
INSTALL_HINT = ("the camp page's browser tests need Debian's chromium and chromium-driver: run "
                "`bash scripts/test.sh` (it installs them) or `apt-get install chromium chromium-driver`")
CHROME_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                "--disable-dev-shm-usage", "--disable-extensions", "--hide-scrollbars")
FIGURES = ("renewable_fraction_pct", "fuel_l", "fuel_avoided_l", "co2_t", "fuel_autonomy_days",
           "active_alarms")
#: width x height of the two screenshots. [px]
SIZES = {"desktop": (1366, 900), "phone": (390, 844)}


def start_chromium():
    """A headless Chromium driven by chromedriver, with a fresh profile directory (removed at
    quit through ``driver.profile_dir``)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            raise FileNotFoundError(f"{path} not found: {INSTALL_HINT}")
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROME_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not look for drivers online
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.profile_dir = profile
    driver.set_page_load_timeout(60)
    return driver


def quit_chromium(driver) -> None:
    try:
        driver.quit()
    finally:
        shutil.rmtree(driver.profile_dir, ignore_errors=True)


def wait_until(predicate: Callable[[], Any], timeout_s: float, what: str, every_s: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout_s
    last_exc: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # not there yet (element missing, page loading)
            last_exc = exc
        time.sleep(every_s)
    raise AssertionError(f"{what}: not within {timeout_s} s (last error: {last_exc})")


# ------------------------------------------------------------------------------- the page, read
@dataclass
class PageView:
    """What one load of the page shows, read from the DOM."""

    figures: dict[str, tuple[str, str]]  #: key -> (data-value, shown text)
    charts: dict[str, dict[str, int]]  #: chart -> {series: points drawn}
    plan_spans: int
    devices: dict[str, str]  #: device -> state
    setpoints: list[tuple[str, str]]  #: (device, state)
    start: str
    end: str


def read_page(driver) -> PageView:
    from selenium.webdriver.common.by import By

    js = """
    const q = (s, el) => Array.from((el || document).querySelectorAll(s));
    const r = document.querySelector('.range');
    return {
      figures: q('[data-figure]').map(e => [e.dataset.figure, e.dataset.value,
                                            e.querySelector('.value').textContent]),
      charts: q('svg[data-chart]').map(s => [s.dataset.chart,
               q('[data-series]', s).map(p => [p.dataset.series, Number(p.dataset.points)])]),
      spans: Number((document.querySelector('svg[data-chart=plan]') || {dataset: {spans: -1}}).dataset.spans),
      devices: q('tr[data-device]').map(t => [t.dataset.device, t.dataset.state]),
      setpoints: q('tr[data-device]').flatMap(t => q('.sp-state', t).map(s => [t.dataset.device, s.dataset.state])),
      start: r.dataset.start, end: r.dataset.end};
    """
    wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, "[data-figure]"), 30, "the page's figures")
    raw = driver.execute_script(js)
    return PageView({k: (v, text) for k, v, text in raw["figures"]},
                    {c: dict(series) for c, series in raw["charts"]}, raw["spans"],
                    dict(raw["devices"]), [tuple(x) for x in raw["setpoints"]], raw["start"], raw["end"])


def screenshot(driver, url: str, name: str) -> list[Path]:
    """Full-page screenshots of ``url`` at desktop and phone widths into SCREENSHOTS."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    out = []
    for size, (w, h) in SIZES.items():
        driver.set_window_size(w, h)
        driver.get(url)
        read_page(driver)
        for _ in range(3):  # the page reflows at the new height: settle
            full = driver.execute_script("return document.documentElement.scrollHeight")
            driver.set_window_size(w, max(h, full + 120))
        path = SCREENSHOTS / f"{name}-{size}.png"
        driver.save_screenshot(str(path))
        out.append(path)
    driver.set_window_size(*SIZES["desktop"])
    return out


# ------------------------------------------------------------------------------- microgrid view
def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ViewServer:
    """``microgrid view`` as a subprocess on a free loopback port (stopped by its PID)."""

    def __init__(self, store: str, *, sites: tuple[Path, ...] = (EXAMPLE_SITE,), refresh_s: float = 1.0,
                 env: dict[str, str] | None = None, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = log
        args = [sys.executable, "-m", "microgrid.cli", "view", "--store", store,
                "--addr", f"127.0.0.1:{self.port}", "--refresh", str(refresh_s)]
        for s in sites:
            args += ["--site", str(s)]
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("MICROGRID_")}
        full_env["PYTHONPATH"] = str(ROOT) + os.pathsep + full_env.get("PYTHONPATH", "")
        full_env.update(env or {})
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(args, cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        import urllib.request

        def up() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"microgrid view exited: {log.read_text()[-2000:]}")
            with urllib.request.urlopen(self.url + "health", timeout=2) as r:
                return r.status == 200
        wait_until(up, 60, "microgrid view to answer /health")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ------------------------------------------------------------------------------- store copies
def copy_store(sqlite_path: Path, dest) -> int:
    """Every point of the SQLite store (its raw readings and records; not its roll-ups) written
    into ``dest`` in time order, as a service would have, so ``dest`` makes its own roll-ups.
    Returns the values copied."""
    from telemetry.historian import SQLiteHistorian

    with SQLiteHistorian(sqlite_path, readonly=True) as src:
        readings: list[Reading] = list(src.readings())
    readings.sort(key=lambda r: r.time)
    for k in range(0, len(readings), 2000):
        dest.write(readings[k:k + 2000])
    return sum(len(r.fields) for r in readings)


# ------------------------------------------------------------------------------- the live service
class LiveCamp:
    """The virtual camp on loopback and the whole service against it, in real time, in a
    background thread with its own event loop; the camp page is on the service's HTTP port."""

    def __init__(self, store_spec: str, *, poll_s: float, control_mode: str, page_refresh_s: float):
        self.store_spec, self.poll_s = store_spec, poll_s
        self.control_mode, self.page_refresh_s = control_mode, page_refresh_s
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="live-camp", daemon=True)
        self._thread.start()
        if not self._ready.wait(120) or self._error is not None:
            raise AssertionError(f"the live camp did not start: {self._error!r}")

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._run())
        except BaseException as exc:  # reported to the test through _error
            self._error = exc
            self._ready.set()

    async def _run(self) -> None:
        from microgrid.clock import RealClock
        from microgrid.demo import demo_site
        from microgrid.service.runner import ServiceOptions
        from microgrid.service.wiring import open_store, wire_service
        from microgrid.simulator.camp import VirtualCamp
        from microgrid.simulator.server import serve_camp
        from microgrid.simulator.settings import load_camp

        site, sim = load_camp(EXAMPLE_SITE)
        site = demo_site(site, self.poll_s)
        clock = RealClock()
        self.camp = VirtualCamp(site, sim, clock)
        self.servers = await serve_camp(site, self.camp)
        self.stop_event = asyncio.Event()
        try:
            store = open_store(self.store_spec)
            self.wired = await wire_service(site, clock=clock, store=store, strategy="load-following",
                                            control_mode=self.control_mode, status_port=0,
                                            options=ServiceOptions(poll_tick_s=1.0))
            self.wired.status.page.refresh_s = self.page_refresh_s
            self.url = f"http://127.0.0.1:{self.wired.status.port}/"
            self.site = site
            self._ready.set()
            try:
                await self.wired.service.run(self.stop_event)
            finally:
                await self.wired.close()
        finally:
            await self.servers.stop()

    def call(self, coro, timeout_s: float = 30.0) -> Any:
        """Run a coroutine on the camp's loop (e.g. ``servers.stop_device``) and wait for it."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def stop(self) -> None:
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.stop_event.set)
            self._thread.join(60)
        if self._error is not None and not isinstance(self._error, asyncio.CancelledError):
            raise AssertionError(f"the live camp failed: {self._error!r}")
