"""SunSpec models from the official JSON definitions, and the model chain of a device.

The point layout of every model is computed from pysunspec2's JSON model files
(``sunspec2/models/json/model_<id>.json``); no offset is copied by hand. Offsets are counted
from the first register of the model, i.e. the ``ID`` point is at offset 0, ``L`` at 1 and the
first body point at 2 (the JSON definitions list ``ID`` and ``L`` as points).

Everything here is pure: registers in, values out, and back.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Mapping, Sequence

#: "SunS" marker registers, found at the base address of a SunSpec device.
SUNS_MARKER = (0x5375, 0x6E53)
#: Base addresses at which a SunSpec map may start, in the order a client tries them.
BASE_ADDRESSES = (40000, 0, 50000)
#: End-of-chain header (ID 0xFFFF, L 0).
END_MARKER = (0xFFFF, 0)

#: Registers used by each SunSpec point type (``string`` and ``pad`` take ``size``).
TYPE_SIZE = {
    "int16": 1, "uint16": 1, "acc16": 1, "enum16": 1, "bitfield16": 1, "count": 1, "sunssf": 1,
    "pad": 1, "raw16": 1,
    "int32": 2, "uint32": 2, "acc32": 2, "enum32": 2, "bitfield32": 2, "float32": 2, "ipaddr": 2,
    "int64": 4, "uint64": 4, "acc64": 4, "float64": 4, "eui48": 4, "ipv6addr": 8,
}
_SIGNED = {"int16", "sunssf", "int32", "int64"}
#: Raw value meaning "not implemented", per type. Accumulators use 0.
NOT_IMPLEMENTED = {
    "int16": 0x8000, "sunssf": 0x8000, "uint16": 0xFFFF, "enum16": 0xFFFF,
    "bitfield16": 0xFFFF, "count": 0xFFFF, "raw16": 0xFFFF, "acc16": 0,
    "int32": 0x80000000, "uint32": 0xFFFFFFFF, "enum32": 0xFFFFFFFF,
    "bitfield32": 0xFFFFFFFF, "acc32": 0, "ipaddr": 0,
    "int64": 0x8000000000000000, "uint64": 0xFFFFFFFFFFFFFFFF, "acc64": 0,
}


@dataclass(frozen=True)
class PointDef:
    """One point of a SunSpec model.

    Attributes
    ----------
    name : str
        Point name; points of nested fixed groups are ``group.point``.
    type : str
        SunSpec type (``int16``, ``acc32``, ``sunssf``, ``string``, ...).
    size : int
        Registers occupied.
    offset : int
        Offset from the model's first register (``ID`` is at 0). For points of a repeating
        group: offset from the start of one repeat.
    sf : str or int or None
        Scale-factor point name (dynamic SF) or a fixed integer exponent, or None.
    units : str
    access : str
        ``"R"`` or ``"RW"``.
    mandatory : bool
    value : int or None
        Fixed value from the definition (``ID``).
    symbols : tuple of (int, str)
        The definition's named values: an enum's values, a bitfield's bit numbers, with their
        SunSpec names (e.g. ``(7, "OVER_TEMP")`` of model 103 ``Evt1``).
    """

    name: str
    type: str
    size: int
    offset: int
    sf: str | int | None = None
    units: str = ""
    access: str = "R"
    mandatory: bool = False
    value: int | None = None
    symbols: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class RepeatDef:
    """A repeating group at the end of a model: its points, the length of one repeat."""

    name: str
    points: tuple[PointDef, ...]
    length: int  #: registers per repeat
    count_point: str | None  #: point holding the number of repeats (or None: from L)


@dataclass(frozen=True)
class ModelDef:
    """Point layout of one SunSpec model.

    Attributes
    ----------
    id : int
    name : str
    points : tuple of PointDef
        Fixed part, in register order, ``ID`` and ``L`` included.
    fixed_length : int
        Registers of the fixed part, header included.
    repeat : RepeatDef or None
        The repeating group, if the model has one.
    """

    id: int
    name: str
    points: tuple[PointDef, ...]
    fixed_length: int
    repeat: RepeatDef | None = None

    def point(self, name: str) -> PointDef:
        """The point called ``name``; KeyError naming the model otherwise."""
        for p in self.points:
            if p.name == name:
                return p
        raise KeyError(f"SunSpec model {self.id} ({self.name}) has no point {name!r}")

    def body_length(self, repeats: int = 0) -> int:
        """The model's ``L``: registers after the 2-register header. [registers]"""
        extra = repeats * self.repeat.length if self.repeat else 0
        return self.fixed_length - 2 + extra

    def repeats_in(self, body_length: int) -> int:
        """Number of repeats a model with header ``L = body_length`` holds."""
        if not self.repeat or self.repeat.length == 0:
            return 0
        return max(0, (body_length - (self.fixed_length - 2)) // self.repeat.length)


def _flatten(group: Mapping[str, Any], prefix: str, start: int,
             out: list[PointDef]) -> tuple[int, Mapping[str, Any] | None]:
    """Append the fixed points of ``group`` to ``out``; return (next offset, repeating group)."""
    offset = start
    for p in group.get("points", ()):
        size = int(p.get("size", TYPE_SIZE.get(p["type"], 1)))
        out.append(PointDef(
            name=prefix + p["name"], type=p["type"], size=size, offset=offset, sf=p.get("sf"),
            units=p.get("units", "") or "", access=p.get("access", "R"),
            mandatory=p.get("mandatory") == "M", value=p.get("value"),
            symbols=tuple((int(sym["value"]), str(sym["name"])) for sym in p.get("symbols", ()))))
        offset += size
    repeating = None
    for sub in group.get("groups", ()):
        count = sub.get("count")
        if isinstance(count, str) or count == 0:   # repeating: count in a point, or from L
            repeating = sub
            continue
        for i in range(int(count) if count is not None else 1):
            name = sub["name"] if count is None else f"{sub['name']}[{i}]"
            offset, nested = _flatten(sub, f"{prefix}{name}.", offset, out)
            repeating = repeating or nested
    return offset, repeating


def model_from_json(definition: Mapping[str, Any]) -> ModelDef:
    """Build the layout of a model from its SunSpec JSON definition (parsed)."""
    group = definition["group"]
    points: list[PointDef] = []
    fixed_length, repeating = _flatten(group, "", 0, points)
    repeat = None
    if repeating is not None:
        rpoints: list[PointDef] = []
        rlen, _nested = _flatten(repeating, "", 0, rpoints)
        count = repeating.get("count")
        repeat = RepeatDef(repeating["name"], tuple(rpoints), rlen,
                           count if isinstance(count, str) else None)
    return ModelDef(int(definition["id"]), group["name"], tuple(points), fixed_length, repeat)


@lru_cache(maxsize=None)
def load_model(model_id: int) -> ModelDef:
    """Layout of SunSpec model ``model_id`` from pysunspec2's JSON definitions.

    Raises
    ------
    KeyError
        If pysunspec2 ships no definition for that model id.
    """
    path = resources.files("sunspec2").joinpath("models", "json", f"model_{int(model_id)}.json")
    if not path.is_file():
        raise KeyError(f"no SunSpec JSON definition for model {model_id} in pysunspec2")
    return model_from_json(json.loads(path.read_text(encoding="utf-8")))


# ---------------------------------------------------------------------------------------------
# raw point values

def raw_value(ptype: str, regs: Sequence[int], sentinels: bool = True) -> int | float | str | None:
    """Raw (unscaled) value of one point from its registers; "not implemented" -> None.

    Parameters
    ----------
    ptype : str
        SunSpec point type.
    regs : sequence of int
        The point's registers (``size`` of them), big-endian word order.
    sentinels : bool
        Map SunSpec "not implemented" values to None (False: plain integer; NaN floats and
        empty strings are always None).
    """
    if ptype == "pad":
        return None
    if ptype == "string":
        data = b"".join(struct.pack(">H", r & 0xFFFF) for r in regs)
        text = data.split(b"\x00", 1)[0].decode("utf-8", errors="replace").rstrip()
        return text or None
    value = 0
    for r in regs:
        value = (value << 16) | (r & 0xFFFF)
    if ptype in ("float32", "float64"):
        fmt = ">f" if ptype == "float32" else ">d"
        f = struct.unpack(fmt, value.to_bytes(len(regs) * 2, "big"))[0]
        return None if math.isnan(f) else f
    if sentinels and NOT_IMPLEMENTED.get(ptype) == value:
        return None
    if ptype in _SIGNED:
        bits = 16 * len(regs)
        if value >= 1 << (bits - 1):
            value -= 1 << bits
    return value


def raw_registers(ptype: str, size: int, value: int | float | str | None) -> list[int]:
    """Registers of one point from its raw value; None -> the type's "not implemented" value.

    Raises
    ------
    ValueError
        If ``value`` does not fit the type (e.g. 70000 into uint16).
    """
    if ptype == "string":
        data = str(value or "").encode("utf-8")[: 2 * size].ljust(2 * size, b"\x00")
        return [int.from_bytes(data[i:i + 2], "big") for i in range(0, 2 * size, 2)]
    if ptype in ("float32", "float64"):
        fmt = ">f" if ptype == "float32" else ">d"
        data = struct.pack(fmt, math.nan if value is None else float(value))
        return [int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2)]
    bits = 16 * size
    if value is None or ptype == "pad":
        raw = NOT_IMPLEMENTED.get(ptype, 0) if ptype != "pad" else 0
    else:
        raw = int(value)
        lo, hi = ((-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if ptype in _SIGNED
                  else (0, (1 << bits) - 1))
        if not lo <= raw <= hi:
            raise ValueError(f"value {raw} does not fit SunSpec type {ptype}")
        raw &= (1 << bits) - 1
    return [(raw >> (16 * (size - 1 - i))) & 0xFFFF for i in range(size)]


def scaled(raw: int | float | None, sf: int | None) -> float | None:
    """``raw × 10^sf``; None when either is missing. Exact for negative exponents."""
    if raw is None or sf is None:
        return None
    return raw / 10 ** -sf if sf < 0 else float(raw * 10 ** sf)


def _sf_of(point: PointDef, values: Mapping[str, Any]) -> int | None:
    if point.sf is None:
        return 0
    if isinstance(point.sf, int):
        return point.sf
    return values.get(point.sf)


def _point_value(point: PointDef, raw: int | float | str | None, raws: Mapping[str, Any]) -> Any:
    """A point's value: scaled by its scale factor in ``raws`` (scale factors and strings as read)."""
    if point.sf is None or point.type == "sunssf" or isinstance(raw, str):
        return raw
    return scaled(raw, _sf_of(point, raws))


# ---------------------------------------------------------------------------------------------
# one model: decode and encode

def decode_model(model: ModelDef, block: Sequence[int]) -> dict[str, Any]:
    """Decode one model's registers into ``{point: scaled value or None}``.

    Parameters
    ----------
    model : ModelDef
    block : sequence of int
        The model's registers, starting at its ``ID`` register (header included). A shorter
        block decodes the points it covers; points beyond it are None.

    Returns
    -------
    dict
        Fixed points by name; repeats as ``"<group>[i].<point>"``. Scale-factor points hold
        their exponent; points with a missing scale factor are None (never 0).
    """
    raws: dict[str, Any] = {}
    for p in model.points:
        end = p.offset + p.size
        raws[p.name] = raw_value(p.type, block[p.offset:end]) if end <= len(block) else None
    out = {p.name: _point_value(p, raws[p.name], raws) for p in model.points}
    if model.repeat and len(block) > model.fixed_length:
        n = model.repeats_in(len(block) - 2)
        for i in range(n):
            base = model.fixed_length + i * model.repeat.length
            for p in model.repeat.points:
                regs = block[base + p.offset: base + p.offset + p.size]
                out[f"{model.repeat.name}[{i}].{p.name}"] = _point_value(p, raw_value(p.type, regs), raws)
    return out


def encode_model(model: ModelDef, values: Mapping[str, Any],
                 scale_factors: Mapping[str, int] | None = None) -> list[int]:
    """Registers of one model (header included, fixed part only) from engineering values.

    Parameters
    ----------
    model : ModelDef
    values : mapping
        ``{point: value}`` in engineering units (already scaled); missing or None points are
        written as "not implemented". Strings for string points, ints for enums/bitfields.
    scale_factors : mapping, optional
        ``{sf point: exponent}``, e.g. ``{"W_SF": -1}``; unlisted SF points are written as
        0 when a value uses them, else "not implemented".

    Raises
    ------
    ValueError
        If a value does not fit its type at the chosen scale factor (names model and point).
    """
    sfs = dict(scale_factors or {})
    used_sfs = {p.sf for p in model.points if isinstance(p.sf, str) and values.get(p.name) is not None}
    regs: list[int] = []
    for p in model.points:
        if p.name == "ID":
            raw: Any = model.id
        elif p.name == "L":
            raw = model.body_length()
        elif p.type == "sunssf":
            raw = sfs.get(p.name, 0 if p.name in used_sfs else None)
        else:
            v = values.get(p.name)
            sf = _sf_of(p, sfs) if p.sf is not None else 0
            raw = v if (v is None or isinstance(v, str) or p.sf is None) else round(v / 10 ** (sf or 0))
        try:
            regs.extend(raw_registers(p.type, p.size, raw))
        except ValueError as exc:
            raise ValueError(f"SunSpec model {model.id} point {p.name}: {exc}") from None
    return regs


# ---------------------------------------------------------------------------------------------
# the model chain

def chain_addresses(models: Sequence[tuple[int, int]], base: int = 40000) -> dict[int, int]:
    """Address of each model's ``ID`` register in a chain.

    Parameters
    ----------
    models : sequence of (model id, L)
        In chain order; ``L`` is the model's body length (registers after its header).
    base : int
        Address of the "SunS" marker.

    Returns
    -------
    dict
        ``{model id: address}`` (the first occurrence of a repeated model id wins).
    """
    out: dict[int, int] = {}
    addr = base + 2
    for mid, length in models:
        out.setdefault(mid, addr)
        addr += 2 + length
    return out


def build_chain(blocks: Sequence[Sequence[int]]) -> list[int]:
    """Registers of a whole SunSpec map: "SunS", the model blocks, the end marker."""
    regs = list(SUNS_MARKER)
    for block in blocks:
        regs.extend(block)
    regs.extend(END_MARKER)
    return regs


def parse_chain(regs: Sequence[int], base: int = 40000) -> list[tuple[int, int, int]]:
    """Walk a register image that starts at the "SunS" marker.

    Returns
    -------
    list of (model id, L, address of ID)
        Up to the end marker or the end of ``regs``.

    Raises
    ------
    ValueError
        If ``regs`` does not start with "SunS".
    """
    if tuple(regs[:2]) != SUNS_MARKER:
        raise ValueError(f"no SunSpec marker 'SunS' at address {base}")
    out = []
    i = 2
    while i + 1 < len(regs) and regs[i] != 0xFFFF:
        out.append((regs[i], regs[i + 1], base + i))
        i += 2 + regs[i + 1]
    return out
