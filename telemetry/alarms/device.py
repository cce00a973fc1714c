"""Alarms the devices report themselves, decoded to names from their published documents.

A profile point with an ``alarm`` table (:class:`telemetry.register_profile.AlarmMap`) is read
like any other point: its field holds the raw value (a bitfield, a state, a level, four GenComm
nibbles). :func:`device_alarms` turns the decoded values into the conditions active now; each
such point is its own group, so a point that was not read (missing) leaves its alarms as they
were. :func:`encode_alarms` is the inverse, for the virtual camp's devices.

Codes are ``<alarm_source>_<name>`` in lower case (``sunspec_over_temp``,
``dse_low_oil_pressure``, ``victron_low_voltage``). Sources of the names:

- SunSpec (pysunspec2's JSON models): 103 ``Evt1`` / 701 ``Alrm`` bits, 802 ``Evt1`` bits, 713
  ``Sta`` (1 WARNING, 2 ERROR); a bit is a warning when its name ends in ``WARNING``, else
  critical.
- DSE GenComm V1.29 (55xGenComm1_29) page 8 "Alarm conditions", document pages 42-44: each
  register holds four 4-bit conditions, the first alarm in bits 13-16; condition 2 warning,
  3 shutdown, 4 electrical trip, 10 active indication; 0, 1, 8, 9 and 15 are not alarms.
- Victron dbus_modbustcp ``attributes.csv``: battery ``/Alarms/*`` (0 no alarm, 1 warning,
  2 alarm), tank ``/Status`` (1 open circuit, 2 short circuited, 3 reverse polarity, 4 unknown).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from telemetry.alarms.engine import SEVERITY_CRITICAL, SEVERITY_INFO, SEVERITY_WARNING, Condition
from telemetry.readblocks import profile_blocks
from telemetry.register_profile import AlarmMap, Point, Profile

__all__ = ["DSE_CONDITIONS", "alarm_code", "alarm_points", "device_alarms", "encode_alarms"]

#: GenComm page 8 alarm condition codes that are alarms: (severity, meaning).
DSE_CONDITIONS = {2: (SEVERITY_WARNING, "warning alarm"), 3: (SEVERITY_CRITICAL, "shutdown alarm"),
                  4: (SEVERITY_CRITICAL, "electrical trip alarm"), 10: (SEVERITY_INFO, "active indication")}
#: What the virtual camp serves for an alarm it does not raise / a nibble with no name.
DSE_NOT_ACTIVE, DSE_UNIMPLEMENTED = 1, 15


def alarm_code(profile: Profile, name: str) -> str:
    """``<alarm_source>_<name>``, lower case, spaces and dashes as ``_``."""
    slug = "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_")
    while "__" in slug:
        slug = slug.replace("__", "_")
    return f"{profile.alarm_source or profile.name}_{slug}"


@lru_cache(maxsize=None)
def alarm_points(profile: Profile) -> tuple[tuple[Point, AlarmMap], ...]:
    """The profile's points that carry alarms."""
    return tuple((p, p.alarm) for p in profile.points if p.alarm is not None and p.access != "W")


@lru_cache(maxsize=None)
def _codes(profile: Profile) -> tuple[tuple[Point, AlarmMap, dict[str, tuple[int, str]]], ...]:
    """Each alarm point with ``{code: (bit/value/nibble, name)}`` (computed once per profile)."""
    return tuple((p, amap, {alarm_code(profile, name): (key, name) for key, name in amap.names})
                 for p, amap in alarm_points(profile))


def _bit_severity(amap: AlarmMap, bit: int, name: str) -> int:
    override = dict(amap.severities).get(bit)
    if override is not None:
        return override
    return SEVERITY_WARNING if name.upper().endswith("WARNING") else SEVERITY_CRITICAL


def _point_conditions(profile: Profile, p: Point, amap: AlarmMap, raw: int, device: str) -> list[Condition]:
    where = p.source or f"address {p.address}"
    out: list[Condition] = []
    if amap.kind == "bits":
        for bit, name in amap.names:
            if raw >> bit & 1:
                out.append(Condition(device, alarm_code(profile, name), _bit_severity(amap, bit, name),
                                     float(bit), f"{device} reports {name} ({where}, bit {bit})"))
    elif amap.kind == "state":
        severity = dict(amap.severities).get(raw)
        name = dict(amap.names).get(raw, str(raw))
        if severity is not None:
            out.append(Condition(device, alarm_code(profile, name), severity, float(raw),
                                 f"{device} reports {name} ({where} = {raw})"))
    elif amap.kind == "level":
        name = amap.names[0][1]
        if raw in (SEVERITY_WARNING, SEVERITY_CRITICAL):
            out.append(Condition(device, alarm_code(profile, name), raw, float(raw),
                                 f"{device} reports {name} {'warning' if raw == 1 else 'alarm'} ({where})"))
    elif amap.kind == "nibbles":
        for index, name in amap.names:
            condition = raw >> (12 - 4 * index) & 0xF
            if condition in DSE_CONDITIONS:
                severity, meaning = DSE_CONDITIONS[condition]
                out.append(Condition(device, alarm_code(profile, name), severity, float(condition),
                                     f"{device}: {name}, {meaning} ({where}, condition {condition})"))
    return out


def device_alarms(profile: Profile, values: Mapping[str, Any], device: str) -> dict[str, list[Condition]]:
    """The device's own alarms active now, by group (``device:<name>:<field>``).

    A point whose value is missing has no group in the result: its alarms keep their state.
    """
    out: dict[str, list[Condition]] = {}
    for p, amap in alarm_points(profile):
        raw = values.get(p.field)
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or raw != raw:
            continue
        out[f"device:{device}:{p.field}"] = _point_conditions(profile, p, amap, int(raw), device)
    return out


def encode_alarms(profile: Profile, active: Mapping[str, int]) -> dict[str, int]:
    """Raw values of the profile's alarm points carrying ``active`` alarms (the virtual camp's side
    of :func:`device_alarms`).

    Parameters
    ----------
    active : mapping
        ``{code: severity}`` of the alarms to report; codes the profile has no name for are
        ignored. Every alarm point is served, with no alarm where none is active, and so is the
        gate register of a read block whose profile says which bit each severity sets.
    """
    out: dict[str, int] = {}
    for p, amap, codes in _codes(profile):
        mine = {codes[c]: sev for c, sev in active.items() if c in codes}
        if amap.kind == "bits":
            out[p.field] = sum(1 << key for (key, _), _sev in mine.items())
        elif amap.kind == "state":
            ok = min((v for v, _ in amap.names if v not in dict(amap.severities)), default=0)
            out[p.field] = next((key for (key, _), _sev in mine.items()), ok)
        elif amap.kind == "level":
            out[p.field] = next((sev for _, sev in mine.items()), 0)
        elif amap.kind == "nibbles":
            raw = 0
            named = dict(amap.names)
            for index in range(4):
                name = named.get(index)
                condition = DSE_UNIMPLEMENTED if name is None else DSE_NOT_ACTIVE
                if name is not None and (index, name) in mine:
                    condition = {SEVERITY_INFO: 10, SEVERITY_WARNING: 2}.get(mine[(index, name)], 3)
                raw |= condition << (12 - 4 * index)
            out[p.field] = raw
    out.update(_gates(profile, out, active))
    return out


def _gates(profile: Profile, raw: Mapping[str, int], active: Mapping[str, int]) -> dict[str, int]:
    """The gate registers of the profile's read blocks (:mod:`telemetry.readblocks`): the block's
    ``gate_bits`` for the severities its alarm points carry now, 0 when none (GenComm page 3's
    flags for page 8's conditions)."""
    out: dict[str, int] = {}
    for block in profile_blocks(profile):
        if block.gate is None or not block.gate_bits:
            continue
        bits = dict(block.gate_bits)
        flags = 0
        for p, amap in alarm_points(profile):
            if p.field in block.fields and p.field in raw:
                for c in _point_conditions(profile, p, amap, raw[p.field], ""):
                    flags |= 1 << bits[c.severity] if c.severity in bits else 0
        out[block.gate] = flags
    return out
