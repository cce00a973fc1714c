"""What control may write: setpoints -> device points -> checked register writes (pure).

The I/O side (:mod:`telemetry.control`) asks this module three things:

* :func:`desired_points` -- which point of which device should hold which value for a
  :class:`~microgrid.plant.Setpoints` (in write order: revert timers before the
  limits they guard, a genset's base load before its mode);
* :func:`decide` -- whether a point may be written at all (only points the device's profile
  declares writable), and the value after clamping to the site's ratings
  (:func:`site_limits`) and then to the profile's declared limits (via
  :func:`telemetry.registers.plan_write`), with the register writes that carry it;
* :func:`readback_ok` -- whether a read-back register image confirms a written value.

What a device reports about itself (scale factors, the ratings a percentage refers to) is
checked before it encodes a write (:mod:`telemetry.scaling`): a scale factor outside SunSpec's
-10..10 or "not implemented", a value that does not fit its register, or a step that would
leave the device holding something else than asked beyond the point's resolution refuses that
point as a device fault (:attr:`Decision.fault`), naming the device, the point and the register.

Nothing here talks to a device, so the setpoint fuzz tests run it by the thousand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from microgrid.plant import GENSET_MODES, Setpoints
from microgrid.plant.nameplate import nameplate
from microgrid.site import Battery, Device, Genset, PvArray, Site
from telemetry.readplan import Read, plan_reads
from telemetry.registers import (
    DeviceScalingError,
    Point,
    Profile,
    WriteError,
    WritePlan,
    decode,
    encode,
    plan_write,
)
from telemetry.scaling import within

__all__ = ["Desired", "Decision", "desired_points", "site_limits", "decide", "read_ranges",
           "readback_ok", "rating_image", "writable", "point_default"]


@dataclass(frozen=True)
class Desired:
    """One point control wants a device to hold.

    Attributes
    ----------
    device : str
    point : str
        Profile field, e.g. ``power_limit_pct``.
    requested : Any
        Value as the setpoints ask it (may be absurd: NaN, negative, unknown mode).
    optional : bool
        Written only where the profile has the point writable (revert timers, a base load
        of "share"); a missing optional point is skipped silently, not refused.
    heartbeat : bool
        The value is not the device's own default, so it must be re-asserted within the
        device's revert time (a limit with a revert timer, a supervisory genset mode).
    """

    device: str
    point: str
    requested: Any
    optional: bool = False
    heartbeat: bool = False


@dataclass(frozen=True)
class Decision:
    """The verdict on a :class:`Desired`: refused, or the value and writes that carry it.

    Attributes
    ----------
    value : Any
        Value after site and device clamping (None when refused).
    clamped : bool
        Whether clamping changed the (finite) requested value.
    plan : WritePlan or None
        Register writes (None when refused).
    refused : str
        Why the point is not written ("" when accepted).
    fault : bool
        Refused because of what the device reports about itself (its scale factor or rating,
        :class:`~telemetry.registers.DeviceScalingError`): the device's point is faulty.
    """

    desired: Desired
    value: Any
    clamped: bool
    plan: WritePlan | None
    refused: str = ""
    fault: bool = False

    @property
    def accepted(self) -> bool:
        return self.plan is not None


def point_default(site: Site, device: str, point: str) -> Any:
    """The device's own safe value of a point (what it reverts to). None if it has none."""
    d = _device(site, device)
    if point == "power_limit_pct":
        return 100.0
    if point == "mode":
        return "auto"
    if point == "base_load_kw":
        return 0.0
    if isinstance(d, Battery) and point == "charge_limit_kw":
        return d.charge_power_kw
    if isinstance(d, Battery) and point == "discharge_limit_kw":
        return d.discharge_power_kw
    return None


def _device(site: Site, name: str) -> Device | None:
    try:
        return site.device(name)
    except KeyError:
        return None


def _is_default(site: Site, device: str, point: str, value: Any) -> bool:
    """Whether ``value`` is the device's own safe value (no heartbeat needed to keep it)."""
    default = point_default(site, device, point)
    if default is None or isinstance(default, str) or isinstance(value, str):
        return value == default
    try:
        v = float(value)
    except (TypeError, ValueError):
        return False
    if point == "base_load_kw":
        return v == 0.0
    return v >= default - 1e-9  # a limit at or above rating is no limit


def desired_points(site: Site, setpoints: Setpoints, *, revert_s: float) -> list[Desired]:
    """Every point control manages, for these setpoints, in write order.

    Devices of the site missing from ``setpoints`` get their defaults (gensets ``auto``, PV
    100 %, batteries rated); names in ``setpoints`` that are not devices of that kind (an
    unknown name, a PV limit for a load meter) are kept, after the others, for
    :func:`decide` to refuse.

    Parameters
    ----------
    site : Site
    setpoints : Setpoints
    revert_s : float
        Revert time written to devices that offer one. [s]
    """
    out: list[Desired] = []
    for a in site.pv_arrays:
        pct = setpoints.pv_limit_pct.get(a.name, 100.0)
        out += [Desired(a.name, "power_limit_revert_s", revert_s, optional=True),
                Desired(a.name, "power_limit_pct", pct,
                        heartbeat=not _is_default(site, a.name, "power_limit_pct", pct))]
    for b in site.batteries:
        out.append(Desired(b.name, "limits_revert_s", revert_s, optional=True))
        for point, given in (("charge_limit_kw", setpoints.battery_charge_limit_kw.get(b.name)),
                             ("discharge_limit_kw", setpoints.battery_discharge_limit_kw.get(b.name))):
            value = point_default(site, b.name, point) if given is None else given
            out.append(Desired(b.name, point, value,
                               heartbeat=not _is_default(site, b.name, point, value)))
    for g in site.gensets:
        mode = setpoints.genset_mode.get(g.name, "auto")
        kw = setpoints.genset_kw.get(g.name)
        share = kw is None or mode != "run"
        out += [Desired(g.name, "base_load_kw", 0.0 if share else kw, optional=share,
                        heartbeat=not share),
                Desired(g.name, "mode", mode, heartbeat=mode != "auto")]
    pv = {a.name for a in site.pv_arrays}
    bess = {b.name for b in site.batteries}
    gen = {g.name for g in site.gensets}
    for attr, point, names in (("pv_limit_pct", "power_limit_pct", pv), ("genset_mode", "mode", gen),
                               ("genset_kw", "base_load_kw", gen),
                               ("battery_charge_limit_kw", "charge_limit_kw", bess),
                               ("battery_discharge_limit_kw", "discharge_limit_kw", bess)):
        for name, value in getattr(setpoints, attr).items():
            if name not in names:  # not a device of that kind: decide() refuses it, visibly
                out.append(Desired(name, point, value))
    return out


def site_limits(site: Site, device: str, point: str) -> tuple[float, float] | None:
    """Range the site's ratings allow for a numeric point, None if the site sets none.

    Genset ``base_load_kw``: [min_kw, rated_kw] (0 = "share the load" is allowed apart);
    battery ``charge_limit_kw`` / ``discharge_limit_kw``: [0, rated]; PV
    ``power_limit_pct``: [0, 100]. [kW, %]
    """
    d = _device(site, device)
    if isinstance(d, Genset) and point == "base_load_kw":
        return d.min_kw, d.rated_kw
    if isinstance(d, Battery) and point == "charge_limit_kw":
        return 0.0, d.charge_power_kw
    if isinstance(d, Battery) and point == "discharge_limit_kw":
        return 0.0, d.discharge_power_kw
    if isinstance(d, PvArray) and point == "power_limit_pct":
        return 0.0, 100.0
    return None


def writable(profile: Profile | None, point: str) -> bool:
    """Whether ``profile`` declares ``point`` writable."""
    if profile is None:
        return False
    try:
        return profile.point(point).writable
    except KeyError:
        return False


def _refuse(desired: Desired, why: str) -> Decision:
    return Decision(desired, None, False, None, why)


def _site_clamped(site: Site, desired: Desired) -> tuple[Any, bool] | str:
    """(value, clamped) within the site limits, or the reason to refuse."""
    value = desired.requested
    if desired.point == "mode":
        return (value, False) if value in GENSET_MODES else f"mode {value!r} is not one of {GENSET_MODES}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{desired.point} = {value!r} is not a number"
    v = float(value)
    if not math.isfinite(v):
        return f"{desired.point} = {v!r} is not a finite number"
    if desired.point == "base_load_kw" and desired.optional and v == 0.0:
        return 0.0, False  # "share the load": the controller's own default, not a base load
    limits = site_limits(site, desired.device, desired.point)
    if limits is None:
        return v, False
    lo, hi = limits
    c = min(max(v, lo), hi)
    return c, c != v


def decide(site: Site, profile: Profile | None, desired: Desired,
           registers: Mapping[int, int] | None) -> Decision:
    """Check and clamp one desired point; the register writes that carry it.

    Parameters
    ----------
    site : Site
    profile : Profile or None
        The device's register profile (None: not a device of the site).
    desired : Desired
    registers : mapping or None
        The device's current register image (scale factors and the ratings that
        percentage setpoints refer to); see :func:`read_ranges`.

    Returns
    -------
    Decision
        Refused (with the reason) when the device is unknown, the point is not declared
        writable by the profile, or the value is not a number / not an allowed mode;
        otherwise clamped to the site limits, then to the profile's limits.
    """
    if profile is None:
        return _refuse(desired, f"{desired.device!r} is not a device of site {site.name!r}")
    if not writable(profile, desired.point):
        return _refuse(desired, f"profile {profile.name!r} does not declare {desired.point} writable")
    checked = _site_clamped(site, desired)
    if isinstance(checked, str):
        return _refuse(desired, checked)
    value, clamped = checked
    try:
        plan = plan_write(profile, desired.point, value, registers, clamp=True)
    except DeviceScalingError as exc:
        return Decision(desired, None, False, None, f"device {desired.device!r}: {exc}", fault=True)
    except WriteError as exc:
        return _refuse(desired, str(exc))
    return Decision(desired, plan.value, clamped or plan.clamped, plan)


def read_ranges(profile: Profile, fields: list[str] | None = None) -> list[Read]:
    """Reads that return what writing and confirming ``fields`` needs (all writable ones
    by default): each point's registers, its scale factor, and the rating a percentage
    point refers to."""
    ranges: list[tuple[int, int]] = []
    wanted = fields if fields is not None else [p.field for p in profile.points if p.writable]

    def add(p: Point) -> None:
        if p.access != "W":
            ranges.append((p.address, p.size))
        if p.sf_address is not None:
            ranges.append((p.sf_address, 1))

    for name in wanted:
        p = profile.point(name)
        add(p)
        if p.of_field:
            try:
                add(profile.point(p.of_field))
            except KeyError:
                pass
    return plan_reads(ranges, max_gap_registers=profile.max_gap_registers,
                      max_registers_per_read=profile.max_registers_per_read) if ranges else []


def readback_ok(profile: Profile, decision: Decision, image: Mapping[int, int]) -> tuple[bool, Any]:
    """Whether a read-back image confirms a written decision; (ok, value read back).

    The engineering value read back must equal the value asked for within the point's
    resolution (:attr:`telemetry.registers.WritePlan.resolution`: one register step, never
    coarser than 1 % of the point's span); named values (genset mode) must be equal. A
    write-only point cannot be read back and counts as confirmed.
    """
    p = profile.point(decision.desired.point)
    if p.access == "W":
        return True, None
    decoded = decode(profile, image)
    got = decoded.get(p.field)
    if got is None:
        return False, None
    if isinstance(decision.value, str) or isinstance(got, str):
        return got == decision.value, got
    resolution = decision.plan.resolution if decision.plan is not None else 0.0
    return within(float(got), float(decision.value), resolution), got


def rating_image(profile: Profile, device: Device) -> dict[int, int]:
    """A register image carrying the site file's ratings (:func:`microgrid.plant.nameplate.nameplate`),
    for deciding without the device (dry run with the device unreachable, the pure fuzz tests)."""
    return encode(profile, nameplate(device), errors=[])
