"""Simulated history: days of a camp's readings, produced the way the live service produces them.

The virtual camp (:class:`~microgrid.simulator.camp.VirtualCamp`: the physics of
:func:`generate_conditions` + :func:`dispatch_step`, gensets in their own auto mode by default)
runs on a manual clock at ``sample_s`` resolution. Each sample is what a poll cycle returns: the
device readings of docs/architecture.md §4 (exactly :meth:`VirtualCamp.device_values`, the values the Modbus
simulator serves), the ``camp`` totals
(:func:`microgrid.accounting.camp_totals`) and, through :class:`microgrid.accounting.EnergyRollup`,
the 15-min ``energy`` and ``genset_energy`` roll-ups — the same pipeline as the poller, so
reports and dashboards tested on this history test the real accounting.

Missing data is made on purpose with :class:`Outage` stretches (a device, or the whole poll
cycle, not answering) and with ``metered_fuel=False`` (gensets without a fuel-rate sensor, so
fuel becomes estimated from the fuel curve). Pure: no I/O, no wall clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Collection, Iterator, Sequence

from microgrid.accounting import EnergyRollup, camp_totals
from microgrid.clock import ManualClock
from microgrid.plant import Setpoints
from microgrid.readings import Reading, utc
from microgrid.simulator.camp import VirtualCamp
from microgrid.simulator.settings import SimulatorSettings
from microgrid.site import Site, device_kind


@dataclass(frozen=True)
class Outage:
    """A stretch [start, end) in which a device (or, with ``device=None``, every device: the
    poller itself) returns no readings. The physics keeps running; only the data is missing."""

    start: datetime
    end: datetime
    device: str | None = None


def simulate_history(site: Site, sim: SimulatorSettings, start: datetime, days: float, *, seed: int,
                     sample_s: int = 60,
                     setpoints: Setpoints | None = None, outages: Sequence[Outage] = (),
                     metered_fuel: bool = True, pv_available: bool = False,
                     measurements: Collection[str] | None = None,
                     progress: bool = False) -> list[Reading]:
    """Readings of ``days`` of the camp from ``start``, as the poller and roll-up would store them.

    Parameters
    ----------
    site : Site
    sim : SimulatorSettings
        The virtual camp's load model.
    start : datetime
        First sample; aware (naive is taken as UTC). Aligning it to 15 min gives whole buckets.
    days : float
        Length of the history. [d]
    seed : int
        Seed of the weather and load process (same seed, same history).
    sample_s : int
        Poll interval of the simulated history, a multiple of 60. [s]
    setpoints : Setpoints, optional
        Held for the whole history; default the devices' own auto mode.
    outages : sequence of Outage
        Stretches with missing readings.
    metered_fuel : bool
        Gensets report ``fuel_rate_lph``; False leaves it out (fuel is then estimated).
    pv_available : bool
        Inverters also report ``available_kw`` (so curtailment is measured).
    measurements : collection of str, optional
        Return only these measurements (e.g. ``{"energy", "genset_energy"}``); all by default.
    progress : bool
        Show a progress bar.

    Returns
    -------
    list of Reading
        Device readings and ``camp`` at each sample time < end, then ``energy`` /
        ``genset_energy`` for every 15-min bucket up to the end (a partial last bucket carries
        its ``coverage_pct``).
    """
    if sample_s <= 0 or sample_s % 60:
        raise ValueError(f"sample_s must be a positive multiple of 60 s, got {sample_s}")
    t0 = utc(start)
    n = int(round(days * 86400 / sample_s))
    want = set(measurements) if measurements is not None else None
    rollup = EnergyRollup(site, max_hold_s=1.5 * sample_s)
    out: list[Reading] = []
    for i, time, devices in _samples(site, sim, t0, n, seed, setpoints, sample_s, metered_fuel,
                                     pv_available, progress):
        seen = _observed(devices, time, outages)
        if seen is None:
            continue
        if i < n:
            out.extend(_poll_readings(site, time, seen, want))
        rolled = rollup.add(time, seen)
        out.extend(r for r in rolled if want is None or r.measurement in want)
    out.extend(r for r in rollup.flush() if want is None or r.measurement in want)
    return out


def _samples(site: Site, sim: SimulatorSettings, t0: datetime, n: int, seed: int, setpoints: Setpoints | None,
             sample_s: int, metered_fuel: bool, pv_available: bool,
             progress: bool) -> Iterator[tuple[int, datetime, dict]]:
    """Run the virtual camp on a manual clock; yield (index, time, device fields) per sample.

    The device fields are exactly what :meth:`VirtualCamp.device_values` serves over Modbus
    (numeric fields only), so the history and the live demo share one device model.
    """
    clock = ManualClock(t0)
    camp = VirtualCamp(site, sim, clock, seed=seed, step_s=sample_s)
    if setpoints is not None:
        camp.setpoints = setpoints
    steps = range(n + 1)
    if progress:
        from tqdm import tqdm
        steps = tqdm(steps, desc="simulating", unit="sample", mininterval=1.0)
    for i in steps:
        time = t0 + timedelta(seconds=i * sample_s)
        clock.set(time)
        devices = {d.name: _numeric(camp.device_values(d.name)) for d in site.devices}
        for g in site.gensets if not metered_fuel else ():
            for key in _FUEL_METER_FIELDS:
                devices[g.name].pop(key, None)
        for a in site.pv_arrays if pv_available else ():
            devices[a.name]["available_kw"] = float(camp.last_step.pv_available_kw[a.name])
        yield i, time, devices


#: What a genset controller without a fuel-flow sensor does not report.
_FUEL_METER_FIELDS = ("fuel_rate_lph", "fuel_total_l")


def _numeric(values: dict) -> dict[str, float]:
    """Numeric, present fields (drops modes and other text, None and NaN)."""
    return {k: float(v) for k, v in values.items()
            if v.__class__ in _NUMBER and math.isfinite(v)}


_NUMBER = (float, int)


def _observed(devices: dict, time: datetime, outages: Sequence[Outage]) -> dict | None:
    """Drop what the outages hide; None when the whole poll cycle is missing."""
    hidden = [o.device for o in outages if utc(o.start) <= time < utc(o.end)]
    if not hidden:
        return devices
    if None in hidden:
        return None
    return {k: v for k, v in devices.items() if k not in hidden}


def _poll_readings(site: Site, time: datetime, devices: dict, want: set[str] | None) -> list[Reading]:
    out = []
    for d in site.devices:
        kind = device_kind(d)
        if d.name in devices and (want is None or kind in want):
            out.append(Reading(time, kind, {"site": site.name, "device": d.name},
                               dict(devices[d.name])))
    if want is None or "camp" in want:
        out.append(camp_totals(site, time, devices))
    return out
