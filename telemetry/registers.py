"""The one decode / encode of device registers, and setpoint writes, for every profile kind.

:func:`decode` turns a register image ``{address: register}`` into ``{field: value or None}``
(SunSpec "not implemented" values, DSE reserved values and NaN floats are None, never 0);
:func:`encode` is its inverse (the virtual camp's Modbus server); :func:`plan_write` turns a
setpoint into register writes (declared limits, access, DSE key + complement), and
:func:`decode_write` turns received writes back into setpoints (server side). All pure.
Profiles (data files) are loaded by :func:`load_profile` (:mod:`telemetry.register_profile`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from microgrid.errors import DeviceError
from telemetry.register_profile import PROFILE_DIR, Point, Profile, ProfileError, load_profile
from telemetry.scaling import ScaleError, point_resolution, reported_scale_factor, sf_ok, within
from telemetry.sunspec import raw_registers, raw_value, scaled

__all__ = ["PROFILE_DIR", "Point", "Profile", "ProfileError", "load_profile", "WriteError",
           "NotWritableError", "OutOfLimitsError", "DeviceScalingError", "Write", "WritePlan", "decode",
           "encode", "plan_write", "decode_write", "dse_sentinel", "DSE_SENTINELS"]


class WriteError(DeviceError):
    """A setpoint write is refused before it reaches the device (or by the simulated device)."""


class NotWritableError(WriteError):
    """The field is not writable in this profile (read-only or unknown)."""


class OutOfLimitsError(WriteError):
    """The value is outside the point's declared limits or not one of its allowed values."""


class DeviceScalingError(WriteError):
    """What the device reports about its own scaling cannot carry the write: a scale factor
    outside the SunSpec range or "not implemented", a rating it does not report, a value that
    does not fit the register, or a step so coarse that the device would hold something else
    than what was asked. The device's point is faulty; the message names the point and the
    register."""


# ---------------------------------------------------------------------------------------------
# raw values with the profile's sentinel convention

#: DSE GenComm reserved values (top 8 of the unsigned range), by offset from the top.
DSE_SENTINELS = ("unimplemented", "over measurable range", "under measurable range",
                 "transducer fault", "bad data", "high digital input", "low digital input",
                 "reserved")


def dse_sentinel(regs: Sequence[int]) -> str | None:
    """Meaning of a DSE reserved value (16 or 32 bit, signed or not), else None."""
    value = 0
    for r in regs:
        value = (value << 16) | r
    top = (1 << (16 * len(regs))) - 1
    return DSE_SENTINELS[top - value] if top - value < len(DSE_SENTINELS) else None


def _raw(sentinels: str, ptype: str, regs: Sequence[int]):
    """Raw value under the profile's sentinel convention (None = missing; so is an infinite
    float: no meter measures infinity)."""
    if sentinels == "dse" and ptype not in ("string", "float32", "float64") and dse_sentinel(regs):
        return None
    raw = raw_value(ptype, regs, sentinels=sentinels == "sunspec")
    return None if isinstance(raw, float) and not math.isfinite(raw) else raw


def _pow10(scale: float) -> tuple[int, float]:
    """Split ``scale`` into (exponent, sign) when it is ±10^n, else (0, scale)."""
    if scale != 0:
        exp = round(math.log10(abs(scale)))
        if -12 <= exp <= 12 and math.isclose(abs(scale), 10.0 ** exp, rel_tol=1e-12):
            return exp, math.copysign(1.0, scale)
    return 0, scale


def _value(p: Point, raw, sf: int | None):
    """Field value from a raw value (None stays None)."""
    if raw is None:
        return None
    if p.enum:
        return next((name for name, v in p.enum if v == raw), raw)
    if p.nonzero_raw is not None:
        return 1 if raw > 0 else 0
    if isinstance(raw, str) or (sf == 0 and p.scale == 1.0 and isinstance(raw, int)):
        return raw
    exp, mult = _pow10(p.scale)
    v = scaled(raw, None if sf is None else sf + exp)
    return None if v is None else v * mult


def _regs(registers: Mapping[int, int], address: int, size: int) -> list[int] | None:
    try:
        return [registers[a] for a in range(address, address + size)]
    except KeyError:
        return None


# ---------------------------------------------------------------------------------------------
# decode / encode

def decode(profile: Profile, registers: Mapping[int, int]) -> dict[str, Any]:
    """Field values from a register image; missing registers and sentinels give None.

    Parameters
    ----------
    profile : Profile
    registers : mapping of int to int
        ``{address: register}`` as read (e.g. merged from the reads of a read plan).

    Returns
    -------
    dict
        ``{field: value or None}`` for every readable field of the profile, in field units.
    """
    out: dict[str, Any] = {}
    for p in profile.points:
        if p.access == "W":
            continue
        regs = _regs(registers, p.address, p.size)
        raw = None if regs is None else _raw(profile.sentinels, p.type, regs)
        sf: int | None = 0
        if p.sf_address is not None:
            sf_regs = _regs(registers, p.sf_address, 1)
            sf_raw = None if sf_regs is None else raw_value("sunssf", sf_regs)
            sf = sf_raw if isinstance(sf_raw, int) and sf_ok(sf_raw) else None  # outside -10..10: the value is unknown
        out[p.field] = _value(p, raw, sf)
    out.update({name: None for name in profile.missing})
    for p in profile.points:
        if p.of_field and p.access != "W":
            base, pct = out.get(p.of_field), out[p.field]
            out[p.field] = None if base is None or pct is None else pct * base / 100.0
    return out


def _raw_for(p: Point, value: Any, values: Mapping[str, Any], sf: int | None):
    """Raw register value for a field value (inverse of :func:`_value`)."""
    if value is None:
        return None
    if p.enum and isinstance(value, str):
        return dict(p.enum)[value]
    if p.nonzero_raw is not None:
        return p.nonzero_raw if value else 0
    if isinstance(value, str):
        return value
    if p.of_field:
        base = values.get(p.of_field)
        if not base:
            return None
        value = 100.0 * value / base
    exp, mult = _pow10(p.scale)
    device = value / mult
    total = (sf or 0) + exp
    raw = device * 10 ** -total if total <= 0 else device / 10 ** total
    return raw if p.type in ("float32", "float64") else round(raw)


def encode(profile: Profile, values: Mapping[str, Any],
           errors: list[str] | None = None) -> dict[int, int]:
    """Register image of a device from field values (the simulator's side of :func:`decode`).

    Parameters
    ----------
    profile : Profile
    values : mapping
        ``{field: value}`` in field units. Missing or None -> the "not implemented" value;
        a None percentage-of-rating limit (``of``) is served as 100 % (no limit).
    errors : list, optional
        If given, a value that cannot be encoded is served as "not implemented" and a message
        naming the field is appended here, instead of raising.

    Raises
    ------
    ValueError
        If a value does not fit its register (names the profile and field); only when
        ``errors`` is None.
    """
    image: dict[int, int] = {}
    for address, regs in profile.constants:
        image.update(zip(range(address, address + len(regs)), regs))
    for p in profile.points:
        if p.key_address is not None:
            image.update({p.key_address: 0, p.key_address + 1: 0})
        if p.access == "W":
            continue
        sf = p.sf_value if p.sf_address is not None else 0
        value = values.get(p.field)
        if value is None and p.of_field and values.get(p.of_field):
            value = values[p.of_field]
        try:
            regs = _point_registers(profile, p, _raw_for(p, value, values, sf))
        except (ValueError, KeyError, TypeError, OverflowError) as exc:
            message = f"profile {profile.name}: field {p.field} = {value!r}: {exc}"
            if errors is None:
                raise ValueError(message) from None
            errors.append(message)
            regs = _point_registers(profile, p, None)
        image.update(zip(range(p.address, p.address + p.size), regs))
        if p.sf_address is not None:
            image[p.sf_address] = raw_registers("sunssf", 1, sf)[0]
    return image


def _point_registers(profile: Profile, p: Point, raw: Any) -> list[int]:
    """Registers of a raw value; None -> the profile's "missing" value."""
    if raw is None and profile.sentinels == "dse" and p.type not in ("float32", "float64"):
        return [0xFFFF] * p.size
    return raw_registers(p.type, p.size, raw)


# ---------------------------------------------------------------------------------------------
# writes

@dataclass(frozen=True)
class Write:
    """One Modbus write: registers starting at ``address`` (FC16, or FC6 for one register)."""

    address: int
    registers: tuple[int, ...]


@dataclass(frozen=True)
class WritePlan:
    """What writing a setpoint takes: the writes in order, and whether the value was clamped.

    ``resolution`` is the largest difference between ``value`` and what the device will hold
    that control accepts, in field units (0 for named values): one register step at the
    device's scale, never coarser than :data:`MAX_STEP_SHARE` of the point's span. Read-back
    confirms within it.
    """

    field: str
    requested: Any
    value: Any  #: the value the writes carry, after clamping to the point's limits
    clamped: bool
    writes: tuple[Write, ...]
    resolution: float = 0.0


def _writable_point(profile: Profile, field_name: str) -> Point:
    try:
        p = profile.point(field_name)
    except KeyError:
        raise NotWritableError(f"profile {profile.name!r} has no field {field_name!r}") from None
    if not p.writable:
        raise NotWritableError(f"profile {profile.name!r}: {field_name} ({p.source}) is read-only")
    return p


def _limit(profile: Profile, p: Point, value: Any, clamp: bool) -> tuple[float, bool]:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise OutOfLimitsError(f"profile {profile.name!r}: {p.field} = {value!r} is not a number") from None
    if not math.isfinite(v):
        raise OutOfLimitsError(f"profile {profile.name!r}: {p.field} = {value!r} is not finite")
    lo = -math.inf if p.minimum is None else p.minimum
    hi = math.inf if p.maximum is None else p.maximum
    if lo <= v <= hi:
        return v, False
    if not clamp:
        raise OutOfLimitsError(f"profile {profile.name!r}: {p.field} = {v} outside [{lo}, {hi}] {p.unit}")
    return min(max(v, lo), hi), True


def _where(profile: Profile, p: Point) -> str:
    return f"profile {profile.name!r}: {p.field} ({p.source or f'address {p.address}'}, register {p.address})"


def _rating(profile: Profile, p: Point, registers: Mapping[int, int] | None) -> float:
    """The rating a percentage point refers to, as the device reports it. [field units]"""
    base = decode(profile, registers or {}).get(p.of_field) if p.of_field else None
    if not isinstance(base, (int, float)) or not math.isfinite(base) or base <= 0:
        rating = profile.point(p.of_field) if p.of_field else None
        raise DeviceScalingError(
            f"{_where(profile, p)} is a percentage of {p.of_field}, which the device does not report "
            f"usably ({base!r}" + (f" at register {rating.address}" if rating else "") + ")")
    return float(base)


def _encoded(profile: Profile, p: Point, v: float, sf: int, base: float | None) -> tuple[list[int], float]:
    """Registers carrying the numeric value ``v`` and the point's resolution; refused when they
    do not fit or would hold something else than ``v`` beyond that resolution."""
    where = _where(profile, p)
    scale = f"scale factor {sf}" + (f" at register {p.sf_address}" if p.sf_address is not None else "")
    context = {p.of_field: base} if p.of_field else {}
    try:
        regs = raw_registers(p.type, p.size, _raw_for(p, v, context, sf))
    except (ValueError, OverflowError) as exc:
        raise DeviceScalingError(f"{where}: {v:g} {p.unit} does not fit the register at the device's "
                                 f"{scale}: {exc}") from None
    held = _value(p, raw_value(p.type, regs, sentinels=False), sf)
    if p.of_field and held is not None:
        held = held * base / 100.0
    resolution = point_resolution(p, sf, base)
    if held is None or not within(held, v, resolution):
        raise DeviceScalingError(f"{where}: asked {v:g} {p.unit}, the device would hold {held!r} "
                                 f"({scale}); refused: beyond the point's resolution "
                                 f"{resolution:g} {p.unit}")
    return regs, resolution


def plan_write(profile: Profile, field_name: str, value: Any,
               registers: Mapping[int, int] | None = None, *, clamp: bool = True) -> WritePlan:
    """The register writes that set ``field_name`` to ``value``.

    Parameters
    ----------
    profile : Profile
    field_name : str
        A writable field, e.g. ``power_limit_pct`` or ``mode``.
    value : float or str
        In field units; named values (``"auto"``) for enum and control-key points.
    registers : mapping, optional
        The device's current register image: its scale factors and the ratings that
        percentage setpoints refer to are taken from it (else the profile's served values).
        Both are checked before they encode anything (:mod:`telemetry.scaling`).
    clamp : bool
        Clamp to the declared limits (True, reported in the plan) or raise.

    Raises
    ------
    NotWritableError
        Unknown or read-only field.
    OutOfLimitsError
        Value not allowed (``clamp=False`` and out of limits, unknown named value).
    DeviceScalingError
        The device's scale factor or rating is unusable, the value does not fit its register,
        or the device would hold something else than the value beyond the point's resolution.
    """
    p = _writable_point(profile, field_name)
    if p.keys:
        seq = dict(p.keys).get(value)
        if seq is None or p.key_address is None:
            raise OutOfLimitsError(f"profile {profile.name!r}: {field_name} = {value!r} not one of "
                                   f"{', '.join(k for k, _ in p.keys)}")
        return WritePlan(field_name, value, value, False,
                         tuple(Write(p.key_address, (k, k ^ 0xFFFF)) for k in seq))
    enable = tuple(Write(a, r) for a, r in p.enable)
    if p.enum:
        if value not in dict(p.enum):
            raise OutOfLimitsError(f"profile {profile.name!r}: {field_name} = {value!r} not one of "
                                   f"{', '.join(k for k, _ in p.enum)}")
        regs = raw_registers(p.type, p.size, dict(p.enum)[value])
        return WritePlan(field_name, value, value, False, (Write(p.address, tuple(regs)),) + enable)
    v, clamped = _limit(profile, p, value, clamp)
    try:
        sf = reported_scale_factor(p, registers)
    except ScaleError as exc:
        raise DeviceScalingError(f"{_where(profile, p)}: {exc}") from None
    base = None
    if p.of_field:
        base = _rating(profile, p, registers)
        if v > base:
            if not clamp:
                raise OutOfLimitsError(f"profile {profile.name!r}: {field_name} = {v} above "
                                       f"{p.of_field} = {base} {p.unit}")
            v, clamped = base, True
    regs, resolution = _encoded(profile, p, v, sf, base)
    return WritePlan(field_name, value, v, clamped, (Write(p.address, tuple(regs)),) + enable, resolution)


def decode_write(profile: Profile, address: int, regs: Sequence[int],
                 image: Mapping[int, int]) -> list[tuple[str, Any]]:
    """Setpoints carried by a received write (the simulated device's side of :func:`plan_write`).

    Parameters
    ----------
    profile : Profile
    address : int
        First register written.
    regs : sequence of int
        Registers written.
    image : mapping
        The device's register image before the write.

    Returns
    -------
    list of (field, value)
        One entry per writable field the write sets; enable registers and intermediate
        control keys (e.g. "manual" before "start") carry none.

    Raises
    ------
    NotWritableError
        The write touches a register no writable point covers (→ ILLEGAL_ADDRESS).
    OutOfLimitsError
        A value outside the limits, a bad key complement, an unknown key (→ ILLEGAL_VALUE).
    """
    span = set(range(address, address + len(regs)))
    new = dict(image)
    new.update(zip(range(address, address + len(regs)), regs))
    covered: set[int] = set()
    out: list[tuple[str, Any]] = []
    decoded: dict[str, Any] | None = None
    for p in profile.points:
        prange = set(range(p.address, p.address + p.size))
        for a, r in p.enable:
            covered |= span & set(range(a, a + len(r)))
        if p.keys:
            krange = set(range(p.key_address, p.key_address + 2))
            if span & krange:
                covered |= span & krange
                out.extend(_decode_key(profile, p, krange <= span, new))
            continue
        if not span & prange:
            continue
        if not p.writable:
            raise NotWritableError(f"profile {profile.name!r}: {p.field} ({p.source}) is read-only")
        covered |= span & prange
        decoded = decoded if decoded is not None else decode(profile, new)
        out.append((p.field, _checked(profile, p, decoded)))
    if span - covered:
        raise NotWritableError(f"profile {profile.name!r}: register {min(span - covered)} is not writable")
    return out


def _checked(profile: Profile, p: Point, decoded: Mapping[str, Any]) -> Any:
    """The decoded value of a written point, or OutOfLimitsError."""
    value = decoded[p.field]
    if value is None or (p.enum and value not in dict(p.enum)):
        raise OutOfLimitsError(f"profile {profile.name!r}: {p.field}: value not allowed")
    if not p.enum:
        _limit(profile, p, value, clamp=False)
    base = decoded.get(p.of_field) if p.of_field else None
    if base is not None and value > base * (1 + 1e-9):
        raise OutOfLimitsError(f"profile {profile.name!r}: {p.field} = {value} above {p.of_field} = {base}")
    return value


def _decode_key(profile: Profile, p: Point, whole: bool, new: Mapping[int, int]) -> list[tuple[str, Any]]:
    if not whole:
        raise OutOfLimitsError(f"profile {profile.name!r}: {p.field}: write key and complement together")
    key, complement = new[p.key_address], new[p.key_address + 1]
    if key ^ 0xFFFF != complement:
        raise OutOfLimitsError(f"profile {profile.name!r}: {p.field}: key {key} with bad complement {complement}")
    if not any(key in ks for _, ks in p.keys):
        raise OutOfLimitsError(f"profile {profile.name!r}: {p.field}: key {key} is not supported")
    return [(p.field, v) for v, ks in p.keys if ks[-1] == key][:1]
