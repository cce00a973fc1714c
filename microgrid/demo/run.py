"""The demo: the virtual camp on loopback and the whole service against it, on a fast clock.

The camp's devices are served over real Modbus TCP; the service polls them, forecasts, plans
with the MILP, writes setpoints (control enabled: the virtual camp obeys) and stores everything
in the embedded SQLite historian. At the end: a summary against load following run on the same
simulated days, a report and the dashboards export in the output folder.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

import pandas as pd

from microgrid.accounting import renewable_fraction_soc_adjusted_pct
from microgrid.clock import EventClock, SimClock
from microgrid.plant.battery import capacity_weighted_soc_pct
from microgrid.plant.bucket import BUCKET_MIN
from microgrid.plant.conditions import pv_column
from microgrid.reports.fuel_logistics import with_fuel_logistics
from microgrid.reports.period import period_from_range
from microgrid.reports.source import read_report_frames
from microgrid.reports.summary import ReportSummary, summarize
from microgrid.service.fuel_tracking import FuelStatus
from microgrid.service.runner import ServiceOptions
from microgrid.service.wiring import Wired, open_store, wire_service
from microgrid.simulator.camp import VirtualCamp
from microgrid.simulator.conditions import SyntheticConditions
from microgrid.simulator.server import serve_camp
from microgrid.simulator.settings import SimulatorSettings
from microgrid.site import ENABLED, Site
from optimizer.backtest import backtest, soc_change_l
from telemetry.alarms.history import alarm_history
from telemetry.historian import open_historian
from telemetry.testing import free_port

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoOptions:
    days: float = 1.0
    start: datetime | None = None  #: UTC; default: local midnight of 2026-11-01
    out: Path = Path("demo-out")
    poll_interval_s: float = 30.0  #: simulated seconds between polls of each device
    strategy: str = "milp"
    seed: int | None = None
    store: str | None = None  #: default: sqlite in the output folder
    speed: float | None = None  #: None: as fast as it computes (event clock)


@dataclass
class DemoResult:
    summary: ReportSummary
    baseline_fuel_l: float
    baseline_renewable_fraction_pct: float
    unserved_kwh: float
    setpoints_written: int
    plans: int
    fallbacks: int
    store: str
    out: Path
    renewable_fraction_adjusted_pct: float = float("nan")  #: SOC-adjusted, see accounting
    baseline_renewable_fraction_adjusted_pct: float = float("nan")
    soc_start_pct: float = float("nan")
    soc_end_pct: float = float("nan")
    soc_change_l: float = 0.0  #: diesel worth of the stored energy used up (negative: gained) [L]
    baseline_soc_end_pct: float = float("nan")
    baseline_soc_change_l: float = 0.0
    #: the service's last fuel figures (stock, burn, autonomy; None without tanks)
    fuel: FuelStatus | None = None
    #: deliveries the service found: (start UTC, litres); and what the tankers brought
    deliveries: tuple[tuple[datetime, float], ...] = ()
    delivered_truth_l: float = 0.0
    #: alarms raised during the demo: (device, code)
    alarms_raised: tuple[tuple[str, str], ...] = ()


def demo_site(site: Site, poll_interval_s: float) -> Site:
    """The site with every device on a free loopback port, polled every ``poll_interval_s``,
    control enabled (the virtual camp is ours to command)."""
    def moved(device):
        m = dataclasses.replace(device.modbus, host="127.0.0.1", port=free_port(),
                                poll_interval_s=poll_interval_s, timeout_s=2.0)
        return dataclasses.replace(device, modbus=m)
    return dataclasses.replace(site.with_devices(moved), control_mode=ENABLED)


def camp_past(conditions: SyntheticConditions, start: datetime, days: float = 14.0) -> pd.DataFrame:
    """The virtual camp's 15-min load and PV over the ``days`` before ``start``: the history a
    camp that has been running has, so the demo's forecasts are not a cold start. It only seeds
    the forecaster (the store and the report cover the demo days alone)."""
    past = conditions.frame(start - timedelta(days=days), int(days * 24 * 60 / BUCKET_MIN), BUCKET_MIN)
    pv = past[[pv_column(a.name) for a in conditions.site.pv_arrays]].sum(axis=1)
    return pd.DataFrame({"load_kw": past["load_kw"], "pv_kw": pv}, index=past.index)


def default_start(site: Site) -> datetime:
    import zoneinfo
    local = datetime(2026, 11, 1, tzinfo=zoneinfo.ZoneInfo(site.location.timezone))
    return local.astimezone(zoneinfo.ZoneInfo("UTC"))


async def run_demo(site: Site, sim: SimulatorSettings, options: DemoOptions,
                   progress: Callable[[float, float], None] | None = None) -> DemoResult:
    """Run the demo; ``progress(done_h, total_h)`` is called every simulated 15 min."""
    site = demo_site(site, options.poll_interval_s)
    conditions = SyntheticConditions(site, sim, options.seed)
    start = options.start or default_start(site)
    end = start + timedelta(days=options.days)
    options.out.mkdir(parents=True, exist_ok=True)
    store_spec = options.store or f"sqlite:///{options.out / 'microgrid.sqlite'}"
    _fresh_sqlite(store_spec)
    clock = EventClock(start) if options.speed is None else SimClock(start, options.speed)
    camp = VirtualCamp(site, sim, clock, seed=options.seed)
    servers = await serve_camp(site, camp)
    store = open_store(store_spec, spool=options.out / "spool.db")
    try:
        wired = await wire_service(
            site, clock=clock, store=store, strategy=options.strategy, control_mode=ENABLED,
            status_port=None, options=ServiceOptions(poll_tick_s=options.poll_interval_s))
        wired.service.history.add_frame(camp_past(conditions, start))
        stop = asyncio.Event()
        driver = _drive(clock, start, end, stop, progress)
        if isinstance(clock, EventClock):
            clock.join()  # the driver is a participant too
        try:
            await asyncio.gather(wired.service.run(stop), driver)
        finally:
            await wired.close()
    finally:
        await servers.stop()
    return _result(site, conditions, options, start, end, store_spec, camp, wired)


async def _drive(clock: EventClock, start, end, stop: asyncio.Event, progress) -> None:
    total_h = (end - start).total_seconds() / 3600
    try:
        while clock.now() < end:
            await clock.sleep(min(900.0, (end - clock.now()).total_seconds()))
            if progress:
                progress((clock.now() - start).total_seconds() / 3600, total_h)
    finally:
        stop.set()
        if isinstance(clock, EventClock):
            clock.leave()


def _fresh_sqlite(spec: str) -> None:
    """The demo starts from an empty embedded store (a rerun must not add to the last one)."""
    if spec.startswith("sqlite:///"):
        path = Path(spec.removeprefix("sqlite:///").split("?")[0])
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)


def _result(site: Site, conditions: SyntheticConditions, options: DemoOptions, start: datetime,
            end: datetime, store_spec: str, camp: VirtualCamp, wired: Wired) -> DemoResult:
    period = period_from_range(start, end, site.location.timezone, label="demo")
    store = open_historian(store_spec)  # reading only: no spool
    try:
        energy, gensets = read_report_frames(store, site, period)
        setpoints = store.query("setpoint", ["accepted"], start, end + timedelta(hours=1),
                                tags={"site": site.name}, agg="sum")
        summary = with_fuel_logistics(store, site, period, summarize(site, period, energy, gensets))
        found = store.query("fuel_delivery", ["delivered_l"], start, end + timedelta(hours=1),
                            tags={"site": site.name})
        alarms = alarm_history(store, site.name, start, end + timedelta(hours=1))
    finally:
        store.close()
    baseline = backtest(site, conditions, start=start, days=options.days, strategy="load-following",
                        forecast="perfect")
    state = wired.service.state
    written = int(setpoints["accepted"].sum()) if len(setpoints) else 0
    soc0 = {b.name: b.initial_soc_pct for b in site.batteries}
    soc1 = dict(camp.state.soc_pct)
    return DemoResult(summary, baseline.fuel_l, baseline.renewable_fraction_pct,
                      camp.totals.get("unserved_kwh", float("nan")), written, state.plans,
                      state.fallbacks, store_spec, options.out,
                      renewable_fraction_adjusted_pct=renewable_fraction_soc_adjusted_pct(
                          site, summary.genset_kwh, summary.load_kwh, soc0, soc1),
                      baseline_renewable_fraction_adjusted_pct=renewable_fraction_soc_adjusted_pct(
                          site, baseline.genset_kwh, baseline.served_kwh, soc0,
                          {b.name: baseline.soc_end_pct for b in site.batteries}),
                      soc_start_pct=_mean_soc(site, soc0), soc_end_pct=_mean_soc(site, soc1),
                      soc_change_l=soc_change_l(site, soc0, soc1),
                      baseline_soc_end_pct=baseline.soc_end_pct,
                      baseline_soc_change_l=baseline.soc_change_l,
                      fuel=wired.service.monitor.fuel_status,
                      deliveries=tuple((t.to_pydatetime(), float(v)) for t, v in found["delivered_l"].dropna().items())
                      if len(found) else (),
                      delivered_truth_l=camp.fuel.delivered_l,
                      alarms_raised=tuple(dict.fromkeys((a.device, a.code) for a in alarms.transitions if a.raised)))


def _mean_soc(site: Site, soc: dict[str, float]) -> float:
    mean = capacity_weighted_soc_pct(site.batteries, soc)
    return float("nan") if mean is None else mean
