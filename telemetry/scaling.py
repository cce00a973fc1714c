"""What a device reports about its own scaling, checked before it encodes a write (pure).

SunSpec devices report a scale factor per point (``sunssf``: a power of ten in -10..10, 0x8000 =
"not implemented"); control encodes a setpoint with it. A value outside that range, or a step so
coarse that the device would hold something else than what was asked, must never reach a
register (docs/architecture.md §8): :func:`telemetry.registers.plan_write` calls these checks and
refuses the write, naming the device's point and register.
"""

from __future__ import annotations

from typing import Any, Mapping

from telemetry.register_profile import Point
from telemetry.sunspec import raw_value

__all__ = ["SUNSSF_RANGE", "MAX_STEP_SHARE", "ScaleError", "sf_ok", "reported_scale_factor",
           "point_resolution", "within"]

#: The range of a SunSpec scale factor (``sunssf``); 0x8000 means "not implemented" (SunSpec
#: Information Model Specification, type ``sunssf``).
SUNSSF_RANGE = (-10, 10)
#: The coarsest register step control accepts for a point whose step comes from a scale factor
#: the device reports, as a share of the point's span (its declared limits, or the rating a
#: percentage point refers to): 1 %.
MAX_STEP_SHARE = 0.01


class ScaleError(ValueError):
    """A scale factor that cannot be used (the message says why and names its register)."""


def sf_ok(sf: Any) -> bool:
    """Whether ``sf`` is a usable SunSpec scale factor (an integer in :data:`SUNSSF_RANGE`)."""
    return isinstance(sf, int) and not isinstance(sf, bool) and SUNSSF_RANGE[0] <= sf <= SUNSSF_RANGE[1]


def reported_scale_factor(p: Point, registers: Mapping[int, int] | None) -> int:
    """The scale-factor exponent of ``p``: the device's when its register is in ``registers``,
    else the profile's; 0 for a point without a scale factor.

    Raises
    ------
    ScaleError
        "Not implemented" (0x8000), outside :data:`SUNSSF_RANGE`, or unknown.
    """
    if p.sf_address is None:
        return 0
    if registers is None or p.sf_address not in registers:
        if p.sf_value is None:
            raise ScaleError(f"the device's scale factor is unknown (register {p.sf_address})")
        return p.sf_value
    sf = raw_value("sunssf", [registers[p.sf_address]])
    if sf is None:
        raise ScaleError(f"the device reports its scale factor (register {p.sf_address}) as not "
                         f"implemented (0x8000)")
    if not sf_ok(sf):
        raise ScaleError(f"the device reports scale factor {sf} (register {p.sf_address}), outside "
                         f"SunSpec's {SUNSSF_RANGE[0]}..{SUNSSF_RANGE[1]}")
    return int(sf)


def point_resolution(p: Point, sf: int, base_kw: float | None = None) -> float:
    """The point's resolution: one register step at scale factor ``sf``, never coarser than
    :data:`MAX_STEP_SHARE` of the point's span when the device reports the scale. [field units]

    Parameters
    ----------
    p : Point
    sf : int
        Scale-factor exponent (:func:`reported_scale_factor`).
    base_kw : float, optional
        The rating a percentage point (``p.of_field``) refers to. [field units]

    Returns
    -------
    float
        0 for a floating-point register (exact up to float noise).
    """
    if p.type in ("float32", "float64"):
        return 0.0
    step = abs(p.scale) * 10.0 ** sf
    span = 100.0 if p.of_field else (None if p.minimum is None or p.maximum is None
                                     else float(p.maximum) - float(p.minimum))
    if p.sf_address is not None and span:
        step = min(step, MAX_STEP_SHARE * span)
    return step * (base_kw / 100.0 if p.of_field and base_kw is not None else 1.0)


def within(value: float, target: float, resolution: float) -> bool:
    """Whether ``value`` equals ``target`` within ``resolution`` (plus float noise)."""
    return abs(float(value) - float(target)) <= resolution + 1e-6 * max(1.0, abs(float(target)))
