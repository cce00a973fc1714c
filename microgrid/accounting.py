"""Energy accounting: site totals per poll cycle and 15-min energy roll-ups (pure).

The one place that turns device readings into kWh by source, litres and CO2, so that the
poller's roll-ups, the reports and the demo summary show the same numbers.

Energy per device and interval prefers the device's energy counter (``energy_total_kwh``) where
both ends of the interval have one and it did not go backwards; otherwise the power reading at
the start of the interval is held until the next sample (at most ``max_hold_s``). Gaps longer
than that are not filled: they lower the bucket's ``coverage_pct`` instead.
Fuel is metered where a genset reports ``fuel_rate_lph``, otherwise estimated from the fuel
curve (and the estimated part is reported separately).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from microgrid.plant.battery import capacity_weighted_soc_pct, stored_energy_to_restore_kwh
from microgrid.plant.bucket import BUCKET_MIN, bucket_start
from microgrid.plant.gensets import below_min_load, diesel_only_fuel_lph
from microgrid.readings import Reading
from microgrid.site import Battery, FuelTank, Genset, LoadMeter, PvArray, Site

DeviceFields = Mapping[str, Mapping[str, float | None]]


def renewable_fraction_pct(genset_kwh: float, load_kwh: float) -> float:
    """HOMER renewable fraction ``100·(1 − genset/load)`` over a period. [%] (NaN if no load)"""
    return 100.0 * (1.0 - genset_kwh / load_kwh) if load_kwh > 0 else math.nan


def renewable_fraction_soc_adjusted_pct(site: Site, genset_kwh: float, load_kwh: float,
                                        soc_start_pct: Mapping[str, float],
                                        soc_end_pct: Mapping[str, float]) -> float:
    """Renewable fraction over a short window, counting the stored energy a run used up as if a
    genset had to put it back (``used / charge efficiency``). Two runs that end at different
    SOCs compare fairly this way; over a year the correction vanishes. [%]"""
    restore = stored_energy_to_restore_kwh(site.batteries, soc_start_pct, soc_end_pct)
    return renewable_fraction_pct(genset_kwh + restore, load_kwh)


def co2_kg(fuel_l: float, emission_factor_kg_per_l: float) -> float:
    """CO2 from burnt diesel. [kg]"""
    return fuel_l * emission_factor_kg_per_l


def _val(fields: Mapping[str, float | None] | None, key: str) -> float | None:
    if not fields:
        return None
    v = fields.get(key)
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def _sum(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def camp_totals(site: Site, time: datetime, devices: DeviceFields) -> Reading:
    """Site totals of one poll cycle (docs/architecture.md §4 ``camp``); missing stays missing."""
    pv = _sum(_val(devices.get(a.name), "ac_power_kw") for a in site.pv_arrays)
    gen = _sum(_val(devices.get(g.name), "power_kw") for g in site.gensets)
    bat = _sum(_val(devices.get(b.name), "power_kw") for b in site.batteries)
    load = _sum(_val(devices.get(m.name), "power_kw") for m in site.load_meters)
    if load is None and pv is not None and gen is not None and bat is not None:
        load = pv + gen + bat  # no meter: load from the balance
    soc = capacity_weighted_soc_pct(site.batteries, {b.name: _val(devices.get(b.name), "soc_pct")
                                                     for b in site.batteries})
    running = [_val(devices.get(g.name), "running") for g in site.gensets]
    fields: dict[str, float | None] = {
        "load_kw": load, "pv_kw": pv, "genset_kw": gen, "battery_kw": bat,
        "soc_pct": soc,
        "gensets_online": sum(r for r in running if r is not None) if any(
            r is not None for r in running) else None,
        "renewable_share_pct": (max(0.0, renewable_fraction_pct(gen, load))
                                if gen is not None and load else None)}
    return Reading(time, "camp", {"site": site.name},
                   {k: v for k, v in fields.items() if v is not None})


@dataclass
class _Bucket:
    start: datetime
    covered_s: float = 0.0
    missing_s: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    site: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    gensets: dict[str, dict[str, float]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(float)))


class EnergyRollup:
    """Accumulates poll cycles into ``energy`` (site) and ``genset_energy`` (per genset) buckets.

    Parameters
    ----------
    site : Site
    bucket_min : int
        Bucket length, aligned to the UTC epoch. [min]
    max_hold_s : float
        Longest interval a sample's power is held for; longer gaps count as missing. [s]
    """

    def __init__(self, site: Site, bucket_min: int = BUCKET_MIN, max_hold_s: float = 60.0):
        self.site = site
        self.bucket = timedelta(minutes=bucket_min)
        self.max_hold_s = max_hold_s
        self._last: tuple[datetime, DeviceFields] | None = None
        self._buckets: dict[datetime, _Bucket] = {}

    def add(self, time: datetime, devices: DeviceFields) -> list[Reading]:
        """Feed one poll cycle; return the readings of buckets completed by it."""
        if self._last is not None:
            t0, prev = self._last
            if time <= t0:
                return []
            self._integrate(t0, prev, devices, min((time - t0).total_seconds(), self.max_hold_s))
        self._last = (time, {k: dict(v) for k, v in devices.items()})
        return self._emit(before=self._bucket_start(time))

    def flush(self) -> list[Reading]:
        """Emit every open bucket (partial ones carry their ``coverage_pct``)."""
        return self._emit(before=None)

    # -- internals -------------------------------------------------------------------------
    def _bucket_start(self, t: datetime) -> datetime:
        return bucket_start(t, self.bucket)

    def _integrate(self, t0: datetime, prev: DeviceFields, nxt: DeviceFields, dt_s: float) -> None:
        parts = self._interval_parts(prev, nxt, dt_s / 3600.0)
        t, end = t0, t0 + timedelta(seconds=dt_s)
        while t < end:  # split the interval across bucket boundaries by time
            b0 = self._bucket_start(t)
            seg_end = min(end, b0 + self.bucket)
            share = (seg_end - t).total_seconds() / dt_s
            bucket = self._buckets.setdefault(b0, _Bucket(b0))
            bucket.covered_s += (seg_end - t).total_seconds()
            for quantity in parts["missing"]:
                bucket.missing_s[quantity] += (seg_end - t).total_seconds()
            for key, v in parts["site"].items():
                bucket.site[key] += v * share
            for name, values in parts["gensets"].items():
                for key, v in values.items():
                    bucket.gensets[name][key] += v * share
            t = seg_end

    def _interval_parts(self, prev: DeviceFields, nxt: DeviceFields, dt_h: float) -> dict:
        site: dict[str, float] = defaultdict(float)
        gens: dict[str, dict[str, float]] = {}
        missing: set[str] = set()
        for d in self.site.devices:
            if isinstance(d, FuelTank):  # no energy: the fuel balance is microgrid.plant.fuel's
                continue
            p, n = prev.get(d.name), nxt.get(d.name)
            if isinstance(d, Battery):
                power = _val(p, "power_kw")
                if power is None:
                    missing.add("battery")
                else:
                    site["battery_discharge_kwh" if power > 0 else "battery_charge_kwh"] += abs(power) * dt_h
                continue
            power_key = "ac_power_kw" if isinstance(d, PvArray) else "power_kw"
            energy = _device_energy_kwh(p, n, power_key, dt_h)
            if energy is None:
                missing.add(_QUANTITY[type(d)])
            if isinstance(d, PvArray) and energy is not None:
                site["pv_kwh"] += energy
                avail = _val(p, "available_kw")
                if avail is not None:
                    site["curtailed_kwh"] += max(0.0, avail - (_val(p, "ac_power_kw") or 0.0)) * dt_h
            elif isinstance(d, LoadMeter) and energy is not None:
                site["load_kwh"] += energy
                site["diesel_only_fuel_l"] += diesel_only_fuel_lph(self.site, energy / dt_h) * dt_h
            elif isinstance(d, Genset):
                gens[d.name] = _genset_interval(d, p, n, energy, dt_h)
                for key in ("genset_kwh", "fuel_l", "fuel_estimated_l"):
                    site[key] += gens[d.name].get(key, 0.0)
        if not self.site.load_meters:
            site["load_kwh"] = (site["pv_kwh"] + site["genset_kwh"] + site["battery_discharge_kwh"]
                                - site["battery_charge_kwh"])
            if missing:
                missing.add("load")
            site["diesel_only_fuel_l"] = diesel_only_fuel_lph(self.site, site["load_kwh"] / dt_h) * dt_h
        return {"site": site, "gensets": gens, "missing": missing}

    def _emit(self, before: datetime | None) -> list[Reading]:
        out: list[Reading] = []
        for start in sorted(self._buckets):
            if before is not None and start + self.bucket > before:
                break
            b = self._buckets.pop(start)
            out.extend(self._bucket_readings(b))
        return out

    def _bucket_readings(self, b: _Bucket) -> list[Reading]:
        tags = {"site": self.site.name}
        worst_missing_s = max(b.missing_s.values(), default=0.0)
        coverage = 100.0 * (b.covered_s - worst_missing_s) / self.bucket.total_seconds()
        site = {k: b.site.get(k, 0.0) for k in ("load_kwh", "pv_kwh", "genset_kwh",
                "battery_charge_kwh", "battery_discharge_kwh", "fuel_l", "fuel_estimated_l",
                "diesel_only_fuel_l")}
        for quantity, keys in _QUANTITY_KEYS.items():  # never measured in the bucket: missing
            if b.missing_s.get(quantity, 0.0) >= b.covered_s:
                for key in keys:
                    site.pop(key, None)
        if "curtailed_kwh" in b.site:
            site["curtailed_kwh"] = b.site["curtailed_kwh"]
        if "genset_kwh" not in site:
            site.pop("fuel_l"), site.pop("fuel_estimated_l")
        else:
            site["co2_kg"] = co2_kg(site["fuel_l"], self.site.emission_factor_kg_per_l)
        site["coverage_pct"] = coverage
        out = [Reading(b.start, "energy", tags, site)]
        for name, values in b.gensets.items():
            out.append(Reading(b.start, "genset_energy", {**tags, "device": name},
                               {**values, "coverage_pct": coverage}))
        return out


_QUANTITY = {PvArray: "pv", LoadMeter: "load", Genset: "genset"}
_QUANTITY_KEYS = {"pv": ("pv_kwh",), "load": ("load_kwh", "diesel_only_fuel_l"), "genset": ("genset_kwh",),
                  "battery": ("battery_charge_kwh", "battery_discharge_kwh")}


FieldValues = Mapping[str, float | None] | None


def _device_energy_kwh(prev: FieldValues, nxt: FieldValues, power_key: str, dt_h: float) -> float | None:
    """Energy over one interval: counter delta where usable, else held power."""
    c0, c1 = _val(prev, "energy_total_kwh"), _val(nxt, "energy_total_kwh")
    if c0 is not None and c1 is not None and c1 >= c0:
        return c1 - c0
    power = _val(prev, power_key)
    return None if power is None else power * dt_h


def _genset_interval(g: Genset, prev: FieldValues, nxt: FieldValues, energy_kwh: float | None,
                     dt_h: float) -> dict[str, float]:
    running = _val(prev, "running")
    power = _val(prev, "power_kw")
    if running is None and power is not None:
        running = 1.0 if power > 0 else 0.0
    out: dict[str, float] = {}
    if energy_kwh is not None:
        out["genset_kwh"] = energy_kwh
    rate = _val(prev, "fuel_rate_lph")
    if rate is not None:
        out["fuel_l"] = rate * dt_h
    elif running is not None and energy_kwh is not None:
        out["fuel_l"] = out["fuel_estimated_l"] = g.fuel_l(energy_kwh, running * dt_h)
    if running is not None:
        out["run_h"] = running * dt_h
        out["below_min_h"] = dt_h if running and power is not None and below_min_load(g, power) else 0.0
        r1 = _val(nxt, "running")
        out["starts"] = 1.0 if (not running and r1) else 0.0
    return out
