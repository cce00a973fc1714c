"""The derived alarms: rules over the latest readings, the fuel balance and the service's state.

Each rule is a pure function of one :class:`Observation` and the site's thresholds
(:class:`microgrid.site.AlarmSettings`); it returns the conditions active now, or None when it
cannot judge (its readings missing: the alarm keeps its state). The SOC and autonomy alarms clear
only past a small margin (:data:`SOC_CLEAR_MARGIN_PCT`, :data:`AUTONOMY_CLEAR_MARGIN`), so a value
hovering at the threshold does not raise and clear them every cycle. :func:`evaluate` runs them all,
one group per code. The codes, their device tag, severity and value:

=========================  ============  ========  ============================================
code                       device        severity  value
=========================  ============  ========  ============================================
``device_offline``         the device    2         seconds since its last good poll [s]
``wet_stacking``           the genset    1         minutes running below its minimum load [min]
``soc_below_floor``        the battery   2         its SOC [%] (floor: its soc_min_pct by default)
``fuel_autonomy_low``      ``fuel``      1 (2)     days of diesel left [d] (2 below half)
``fuel_unexplained_loss``  ``fuel``      2         litres gone over the window [L]
``optimizer_fallback``     ``service``   1         plans in a row from the fallback rule [-]
``spool_backlog``          ``service``   1         readings waiting in the spool [-]
``frequency_out_of_band``  the device    2         its AC frequency [Hz]
``voltage_out_of_band``    the device    2         its line-to-line voltage furthest out [V]
=========================  ============  ========  ============================================

``plan_expired`` (device ``service``) is raised by the service's control loop
(:mod:`microgrid.service.freshness`) in the same shape.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from microgrid.plant.fuel_balance import Loss
from microgrid.plant.gensets import below_min_load as _below_min
from microgrid.site import Battery, Genset, LoadMeter, PvArray, Site
from telemetry.alarms.engine import SEVERITY_CRITICAL, SEVERITY_WARNING, Condition

__all__ = ["RULES", "DurationTracker", "Observation", "below_min_load", "evaluate"]

DEVICE_OFFLINE, WET_STACKING, SOC_BELOW_FLOOR = "device_offline", "wet_stacking", "soc_below_floor"
FUEL_AUTONOMY_LOW, FUEL_UNEXPLAINED_LOSS = "fuel_autonomy_low", "fuel_unexplained_loss"
OPTIMIZER_FALLBACK, SPOOL_BACKLOG = "optimizer_fallback", "spool_backlog"
FREQUENCY_OUT_OF_BAND, VOLTAGE_OUT_OF_BAND = "frequency_out_of_band", "voltage_out_of_band"
LINE_VOLTAGES = ("voltage_l1_l2_v", "voltage_l2_l3_v", "voltage_l3_l1_v")
#: An active SOC alarm clears only this far above its floor (no flapping around it). [% points]
SOC_CLEAR_MARGIN_PCT = 1.0
#: An active autonomy alarm clears only this share above the minimum. [-]
AUTONOMY_CLEAR_MARGIN = 0.05


@dataclass(frozen=True)
class Observation:
    """What the derived rules look at, at one instant.

    Attributes
    ----------
    now : datetime
        UTC.
    latest : mapping
        ``{device: decoded values}`` of the devices whose last good poll is fresh.
    offline_for_s : mapping
        ``{device: seconds since its last good poll}`` of the devices not answering now. [s]
    below_min_for_min : mapping
        ``{genset: minutes running below its minimum load}`` (absent: not below). [min]
    autonomy_days : float or None
        Days of diesel left. [d]
    fuel_loss : Loss or None
        The unexplained-loss balance over its window.
    fallback_streak : int or None
        Plans in a row from the fallback rule (None: no plan yet).
    spool_points : int or None
        Readings waiting in the spool (None: no spool).
    active : frozenset of (device, code)
        The alarms active before this evaluation (a threshold rule clears only past a margin).
    """

    now: datetime
    latest: Mapping[str, Mapping[str, Any]]
    offline_for_s: Mapping[str, float] = field(default_factory=dict)
    below_min_for_min: Mapping[str, float] = field(default_factory=dict)
    autonomy_days: float | None = None
    fuel_loss: Loss | None = None
    fallback_streak: int | None = None
    spool_points: int | None = None
    active: frozenset[tuple[str, str]] = frozenset()


def _num(values: Mapping[str, Any] | None, key: str) -> float | None:
    v = None if values is None else values.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return None
    return float(v)


def device_offline(site: Site, obs: Observation) -> list[Condition]:
    limit = site.alarms.offline_after_s
    return [Condition(name, DEVICE_OFFLINE, SEVERITY_CRITICAL, s,
                      f"{name} has not answered for {s / 60:.0f} min")
            for name, s in sorted(obs.offline_for_s.items()) if s >= limit]


def wet_stacking(site: Site, obs: Observation) -> list[Condition]:
    limit = site.alarms.wet_stacking_min
    out = []
    for g in site.gensets:
        minutes = obs.below_min_for_min.get(g.name)
        if minutes is not None and minutes >= limit:
            out.append(Condition(g.name, WET_STACKING, SEVERITY_WARNING, minutes,
                                 f"{g.name} has run below its minimum load ({g.min_kw:g} kW) for "
                                 f"{minutes:.0f} min: wet stacking"))
    return out


def soc_below_floor(site: Site, obs: Observation) -> list[Condition] | None:
    out, judged = [], False
    for b in site.batteries:
        soc = _num(obs.latest.get(b.name), "soc_pct")
        if soc is None:
            continue
        judged = True
        floor = b.soc_min_pct if site.alarms.soc_floor_pct is None else site.alarms.soc_floor_pct
        margin = SOC_CLEAR_MARGIN_PCT if (b.name, SOC_BELOW_FLOOR) in obs.active else 0.0
        if soc < floor + margin:
            out.append(Condition(b.name, SOC_BELOW_FLOOR, SEVERITY_CRITICAL, soc,
                                 f"{b.name} at {soc:.1f} % SOC, below the floor of {floor:g} %"))
    return out if judged else None


def fuel_autonomy_low(site: Site, obs: Observation) -> list[Condition] | None:
    days, minimum = obs.autonomy_days, site.alarms.autonomy_min_days
    if days is None:
        return None
    margin = AUTONOMY_CLEAR_MARGIN * minimum if ("fuel", FUEL_AUTONOMY_LOW) in obs.active else 0.0
    if days >= minimum + margin:
        return []
    severity = SEVERITY_CRITICAL if days < minimum / 2 else SEVERITY_WARNING
    return [Condition("fuel", FUEL_AUTONOMY_LOW, severity, days,
                      f"{days:.1f} days of diesel left (at least {minimum:g} wanted)")]


def fuel_unexplained_loss(site: Site, obs: Observation) -> list[Condition] | None:
    loss = obs.fuel_loss
    if loss is None:
        return None
    if not loss.alarm:
        return []
    return [Condition("fuel", FUEL_UNEXPLAINED_LOSS, SEVERITY_CRITICAL, loss.litres,
                      f"{loss.litres:.0f} L gone in {loss.window_s / 3600:g} h beyond what the gensets "
                      f"burnt (gauge tolerance {loss.threshold_l:.0f} L): a leak or theft?")]


def optimizer_fallback(site: Site, obs: Observation) -> list[Condition] | None:
    n, limit = obs.fallback_streak, site.alarms.fallback_cycles
    if n is None:
        return None
    if n < limit:
        return []
    return [Condition("service", OPTIMIZER_FALLBACK, SEVERITY_WARNING, float(n),
                      f"the last {n} plans came from the fallback rule (the optimizer failed)")]


def spool_backlog(site: Site, obs: Observation) -> list[Condition] | None:
    n, limit = obs.spool_points, site.alarms.spool_backlog_points
    if n is None:
        return None
    if n <= limit:
        return []
    return [Condition("service", SPOOL_BACKLOG, SEVERITY_WARNING, float(n),
                      f"{n} readings wait in the spool (more than {limit}): is the store reachable?")]


def _on_bus(device: object, values: Mapping[str, Any]) -> bool:
    """Whether a device's AC values are the camp grid's: meters and battery inverters always, a
    genset while running, a PV inverter while it delivers power."""
    if isinstance(device, (LoadMeter, Battery)):
        return True
    if isinstance(device, Genset):
        return _num(values, "running") == 1.0
    if isinstance(device, PvArray):
        return (_num(values, "ac_power_kw") or 0.0) > 0.0
    return False


def frequency_out_of_band(site: Site, obs: Observation) -> list[Condition] | None:
    low, high = site.alarms.frequency_band_hz
    out, judged = [], False
    for d in site.devices:
        values = obs.latest.get(d.name)
        hz = _num(values, "frequency_hz")
        if values is None or hz is None or not _on_bus(d, values):
            continue
        judged = True
        if not low <= hz <= high:
            out.append(Condition(d.name, FREQUENCY_OUT_OF_BAND, SEVERITY_CRITICAL, hz,
                                 f"{d.name} reads {hz:.2f} Hz, outside {low:g}-{high:g} Hz"))
    return out if judged else None


def voltage_out_of_band(site: Site, obs: Observation) -> list[Condition] | None:
    low, high = site.alarms.voltage_band_v
    out, judged = [], False
    for d in site.devices:
        values = obs.latest.get(d.name)
        volts = [v for k in LINE_VOLTAGES if (v := _num(values, k)) is not None]
        if values is None or not volts or not _on_bus(d, values):
            continue
        judged = True
        worst = max(volts, key=lambda v: max(low - v, v - high))
        if not low <= worst <= high:
            out.append(Condition(d.name, VOLTAGE_OUT_OF_BAND, SEVERITY_CRITICAL, worst,
                                 f"{d.name} reads {worst:.0f} V line to line, outside {low:g}-{high:g} V"))
    return out if judged else None


Rule = Callable[[Site, Observation], "list[Condition] | None"]
#: Every derived rule, by code (the engine's group name).
RULES: dict[str, Rule] = {
    DEVICE_OFFLINE: device_offline, WET_STACKING: wet_stacking, SOC_BELOW_FLOOR: soc_below_floor,
    FUEL_AUTONOMY_LOW: fuel_autonomy_low, FUEL_UNEXPLAINED_LOSS: fuel_unexplained_loss,
    OPTIMIZER_FALLBACK: optimizer_fallback, SPOOL_BACKLOG: spool_backlog,
    FREQUENCY_OUT_OF_BAND: frequency_out_of_band, VOLTAGE_OUT_OF_BAND: voltage_out_of_band}


def evaluate(site: Site, obs: Observation) -> dict[str, list[Condition]]:
    """Every rule that can judge now: ``{code: active conditions}`` (rules that cannot are absent)."""
    out = {}
    for code, rule in RULES.items():
        found = rule(site, obs)
        if found is not None:
            out[f"rule:{code}"] = found
    return out


class DurationTracker:
    """How long a condition has held, per key (e.g. a genset below its minimum load).

    :meth:`update` with ``True`` starts (or continues) the count, ``False`` stops it, ``None``
    (unknown) leaves it as it is.
    """

    def __init__(self) -> None:
        self._since: dict[str, datetime] = {}

    def update(self, now: datetime, key: str, holds: bool | None) -> None:
        if holds is None:
            return
        if holds:
            self._since.setdefault(key, now)
        else:
            self._since.pop(key, None)

    def minutes(self, now: datetime) -> dict[str, float]:
        """``{key: minutes it has held}`` of the keys that hold. [min]"""
        return {k: (now - t).total_seconds() / 60.0 for k, t in self._since.items()}


def below_min_load(g: Genset, values: Mapping[str, Any] | None) -> bool | None:
    """Whether a genset runs below its minimum load now (None: not known)."""
    running, power = _num(values, "running"), _num(values, "power_kw")
    if running is None:
        return None
    if running != 1.0:
        return False
    if power is None:
        return None
    return _below_min(g, power)
