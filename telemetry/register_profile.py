"""Register profiles as data: load and validate ``telemetry/profiles/<name>.json``.

A profile maps device registers to the fields of docs/architecture.md §4. SunSpec profiles name a model and
point (the address and the scale-factor register come from the official model layout,
:mod:`telemetry.sunspec`); vendor profiles give address, type and scale. :func:`load_profile`
validates a file once into frozen dataclasses; every error names the file and the point.
Decoding and encoding live in :mod:`telemetry.registers`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Mapping, Sequence

from microgrid.errors import ConfigError, DeviceError
from telemetry import sunspec
from telemetry.readblock_spec import Block, BlockSpecError, parse_blocks
from telemetry.sunspec import TYPE_SIZE, raw_registers

PROFILE_DIR = Path(__file__).parent / "profiles"
_PROFILE_KEYS = {"name", "description", "kind", "measurement", "sentinels", "base_address",
                 "models", "constants", "scale_factors", "read", "function", "points", "source",
                 "alarm_source"}
_POINT_KEYS = {"field", "model", "point", "address", "type", "scale", "unit", "access", "min",
               "max", "enum", "of", "enable", "keys", "key_address", "nonzero_raw",
               "description", "vendor_specific", "alternatives", "sf_address", "sf_value", "alarm"}
#: How a point's raw value carries the device's own alarms (:class:`AlarmMap`).
ALARM_KINDS = ("bits", "state", "level", "nibbles")


class ProfileError(ConfigError):
    """A register profile file is invalid (names the file and the point)."""


@dataclass(frozen=True)
class AlarmMap:
    """How a point's raw value carries alarms the device reports itself (docs/architecture.md §12).

    The names come from the device's published document only: a SunSpec point's symbols in
    the official JSON model, a vendor map's names as its document prints them.

    Attributes
    ----------
    kind : {"bits", "state", "level", "nibbles"}
        ``bits``: each set bit is one alarm (SunSpec ``bitfield32``); ``state``: the value names
        a state, those listed in ``severities`` are alarms (SunSpec 713 ``Sta``, a gauge's
        status); ``level``: one alarm whose value is 0 none, 1 warning, 2 alarm (Victron's
        ``/Alarms/*``); ``nibbles``: four 4-bit GenComm alarm conditions per register, the
        most significant first (DSE GenComm page 8).
    names : tuple of (int, str)
        Bit number, state value or nibble index (0 = most significant) and its name.
    severities : tuple of (int, int)
        ``state``: alarm values and their severity; ``bits``: per-bit overrides of the default
        (a name ending in ``WARNING`` is a warning, any other bit critical).
    """

    kind: str
    names: tuple[tuple[int, str], ...] = ()
    severities: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Point:
    """One field of a profile, resolved to registers.

    Attributes
    ----------
    field : str
        docs/architecture.md §4 field (or setpoint) name, e.g. ``ac_power_kw``.
    address : int
        First register (protocol address, 0-based).
    type : str
        Register type (SunSpec type names, plus ``float32``).
    size : int
        Registers. [registers]
    unit : str
        Unit of the field value.
    access : str
        ``"R"``, ``"RW"`` or ``"W"`` (write-only, e.g. control keys).
    scale : float
        Field value = raw × 10^sf × scale (sign included: -0.001 flips W to + discharge kW).
    sf_address : int or None
        Scale-factor (exponent) register read at decode time: a SunSpec ``*_SF`` point, or a
        vendor map's exponent register (``sf_address`` in the profile file).
    sf_value : int or None
        Scale-factor exponent the simulator serves at ``sf_address``.
    minimum, maximum : float or None
        Limits of a writable point, in field units.
    enum : tuple of (name, raw)
        Named values (e.g. genset control mode).
    of_field : str or None
        Field is ``raw % × of_field / 100`` (e.g. ``InWRte`` % of ``WChaMax``).
    enable : tuple of (address, registers)
        Extra writes that activate the setpoint (e.g. ``WMaxLim_Ena = 1``).
    keys : tuple of (value, key codes)
        DSE control keys: writing ``value`` sends each key + its ones' complement.
    key_address : int or None
        Register of the control key (its complement follows); the field itself is read at
        ``address``, which stays read-only.
    nonzero_raw : int or None
        Field is 1 when raw > 0, else 0; the simulator serves this raw value for 1.
    alarm : AlarmMap or None
        The point carries the device's own alarms (its field is the raw value).
    source : str
        Where it comes from, for messages (``model 103 point W`` or ``address 1536``).
    """

    field: str
    address: int
    type: str
    size: int
    unit: str = ""
    access: str = "R"
    scale: float = 1.0
    sf_address: int | None = None
    sf_value: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    enum: tuple[tuple[str, int], ...] = ()
    of_field: str | None = None
    enable: tuple[tuple[int, tuple[int, ...]], ...] = ()
    keys: tuple[tuple[str, tuple[int, ...]], ...] = ()
    key_address: int | None = None
    nonzero_raw: int | None = None
    alarm: AlarmMap | None = None
    source: str = ""

    @property
    def writable(self) -> bool:
        return "W" in self.access


@dataclass(frozen=True)
class Profile:
    """A validated register profile.

    Attributes
    ----------
    name, kind, measurement : str
        ``kind`` is ``"sunspec"`` or ``"registers"``; ``measurement`` the docs/architecture.md §4 name.
    sentinels : str
        ``"sunspec"`` (per-type "not implemented"), ``"dse"`` (GenComm reserved top values)
        or ``"none"`` (NaN floats only).
    points : tuple of Point
    base_address : int or None
        SunSpec "SunS" address.
    models : tuple of (model id, L)
        SunSpec chain the profile expects (and the simulator serves).
    constants : tuple of (address, registers)
        Registers the simulator serves that no field maps (model header values, strings, SFs).
    function : str
        ``"holding"`` (FC3) or ``"input"`` (FC4).
    max_registers_per_read, max_gap_registers : int
        Read planning (:mod:`telemetry.readplan`).
    blocks : tuple of telemetry.readblocks.Block
        ``read.blocks``: fields read apart, gated or at a slower cadence (:mod:`telemetry.readblocks`).
    missing : tuple of str
        Fields the device cannot serve (none of their SunSpec models is in its chain);
        they decode as None.
    alarm_source : str
        Prefix of the alarm codes of its :class:`AlarmMap` points (``sunspec``, ``dse``, ...).
    """

    name: str
    kind: str
    measurement: str
    sentinels: str
    points: tuple[Point, ...]
    base_address: int | None = None
    models: tuple[tuple[int, int], ...] = ()
    constants: tuple[tuple[int, tuple[int, ...]], ...] = ()
    function: Literal["holding", "input"] = "holding"
    max_registers_per_read: int = 125
    max_gap_registers: int = 8
    missing: tuple[str, ...] = ()
    alarm_source: str = ""
    blocks: tuple[Block, ...] = ()
    source: str = field(default="", compare=False)
    definition: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def point(self, name: str) -> Point:
        """The point of field ``name``; KeyError naming the profile otherwise."""
        for p in self.points:
            if p.field == name:
                return p
        raise KeyError(f"profile {self.name!r} has no field {name!r}")

    def ranges(self) -> list[tuple[int, int]]:
        """(start, count) of every register that decoding needs, unsorted, may overlap."""
        out = []
        for p in self.points:
            if p.access != "W":
                out.append((p.address, p.size))
                if p.sf_address is not None:
                    out.append((p.sf_address, 1))
        return out

    def with_chain(self, models: Sequence[tuple[int, int]], base_address: int) -> Profile:
        """The same SunSpec profile resolved against a discovered chain ``[(id, L), ...]``.

        Each point takes the first of its model and its ``alternatives`` (e.g. 103 or 701)
        that the device has; a field none of whose models it has is listed in ``missing``.
        """
        return _build(self.definition, self.source, chain=(tuple(models), base_address))


# ---------------------------------------------------------------------------------------------
# loading

def _err(path: str, key: str, msg: str) -> ProfileError:
    return ProfileError(msg, path=path, key=key)


@lru_cache(maxsize=None)
def load_profile(name: str) -> Profile:
    """Load and validate ``telemetry/profiles/<name>.json`` (or a path to a .json file).

    Raises
    ------
    ProfileError
        Naming the file and the point (``points[3] (ac_power_kw)``) of the first problem.
    """
    path = Path(name) if name.endswith(".json") else PROFILE_DIR / f"{name}.json"
    if not path.is_file():
        known = sorted(p.stem for p in PROFILE_DIR.glob("*.json"))
        raise ProfileError(f"no register profile {name!r}; known: {', '.join(known)}",
                           path=str(path))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ProfileError(f"not valid JSON: {exc}", path=str(path)) from None
    return _build(data, str(path))


def _build(data: Mapping[str, Any], path: str,
           chain: tuple[tuple[tuple[int, int], ...], int] | None = None) -> Profile:
    unknown = set(data) - _PROFILE_KEYS
    if unknown:
        raise _err(path, sorted(unknown)[0], f"unknown key; allowed: {', '.join(sorted(_PROFILE_KEYS))}")
    for key in ("name", "kind", "measurement", "points"):
        if key not in data:
            raise _err(path, key, "missing")
    kind = data["kind"]
    if kind not in ("sunspec", "registers"):
        raise _err(path, "kind", f"{kind!r} is not 'sunspec' or 'registers'")
    resolver = _SunSpecResolver(data, path, chain) if kind == "sunspec" else None
    for key, allowed in (("sentinels", ("sunspec", "dse", "none")), ("function", ("holding", "input"))):
        if key in data and data[key] not in allowed:
            raise _err(path, key, f"{data[key]!r} is not one of {', '.join(allowed)}")
    picked = [(i, resolver.pick(raw) if resolver else raw) for i, raw in enumerate(data["points"])]
    points = tuple(_point(i, raw, path, resolver) for i, raw in picked if raw is not None)
    missing = tuple(data["points"][i].get("field", "?") for i, raw in picked if raw is None)
    fields = [p.field for p in points]
    dup = {f for f in fields if fields.count(f) > 1}
    if dup:
        raise _err(path, "points", f"field {sorted(dup)[0]!r} is mapped twice")
    for p in points:
        if p.of_field and p.of_field not in fields and p.of_field not in missing:
            raise _err(path, f"points ({p.field}).of", f"unknown field {p.of_field!r}")
    read = data.get("read", {})
    return Profile(
        name=data["name"], kind=kind, measurement=data["measurement"],
        sentinels=data.get("sentinels", "sunspec" if kind == "sunspec" else "none"),
        points=points, base_address=resolver.base if resolver else None,
        models=resolver.models if resolver else (),
        constants=resolver.constants() if resolver else (),
        function=data.get("function", "holding"),
        max_registers_per_read=int(read.get("max_registers_per_read", 125)),
        max_gap_registers=int(read.get("max_gap_registers", 8)),
        missing=missing, alarm_source=str(data.get("alarm_source", "")),
        blocks=_read_blocks(read, path, set(fields) | set(missing)), source=path, definition=data)


def _read_blocks(read: Mapping[str, Any], path: str, known: set[str]) -> tuple[Block, ...]:
    try:
        return parse_blocks(read.get("blocks", []), known)
    except BlockSpecError as exc:
        raise _err(path, exc.key, str(exc)) from None


class _SunSpecResolver:
    """Resolves (model, point) to addresses in the profile's (or a discovered) chain."""

    def __init__(self, data: Mapping[str, Any], path: str,
                 chain: tuple[tuple[tuple[int, int], ...], int] | None) -> None:
        self.path = path
        self.data = data
        try:
            self.defs = {int(m): sunspec.load_model(int(m)) for m in data.get("models", ())}
        except KeyError as exc:
            raise _err(path, "models", str(exc)) from None
        self.discovered = chain is not None
        if chain is None:
            self.models = tuple((mid, d.body_length()) for mid, d in self.defs.items())
            self.base = int(data.get("base_address", 40000))
        else:
            self.models, self.base = chain
        self.starts = sunspec.chain_addresses(self.models, self.base)
        self.sfs = {int(m): dict(v) for m, v in data.get("scale_factors", {}).items()}

    def pick(self, raw: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """The point or the first of its ``alternatives`` whose model the chain has."""
        if "model" not in raw:
            return raw
        candidates = [raw, *({**raw, **alt} for alt in raw.get("alternatives", ()))]
        for c in candidates:
            if int(c["model"]) in self.starts:
                return {k: v for k, v in c.items() if k != "alternatives"}
        return None if self.discovered else raw

    def locate(self, key: str, model: int, point: str) -> tuple[sunspec.PointDef, int, int | None]:
        if model not in self.starts:
            if self.discovered:
                raise DeviceError(f"device has no SunSpec model {model}; profile {self.path} needs it")
            raise _err(self.path, key, f"model {model} is not in the profile's models")
        try:
            mdef = sunspec.load_model(model)
            pdef = mdef.point(point)
        except KeyError as exc:
            raise _err(self.path, key, str(exc.args[0])) from None
        sf_addr = None
        if isinstance(pdef.sf, str):
            sf_addr = self.starts[model] + mdef.point(pdef.sf).offset
        return pdef, self.starts[model] + pdef.offset, sf_addr

    def constants(self) -> tuple[tuple[int, tuple[int, ...]], ...]:
        """Header, constants and scale factors of every model, as the simulator serves them."""
        end = self.base + 2 + sum(2 + length for _, length in self.models)
        out: list[tuple[int, tuple[int, ...]]] = [(self.base, sunspec.SUNS_MARKER), (end, sunspec.END_MARKER)]
        consts = {int(m): v for m, v in self.data.get("constants", {}).items()}
        for mid, mdef in self.defs.items():
            if mid not in self.starts:      # a discovered chain without this model
                continue
            try:
                block = sunspec.encode_model(mdef, consts.get(mid, {}), self.sfs.get(mid, {}))
            except ValueError as exc:
                raise _err(self.path, f"constants.{mid}", str(exc)) from None
            out.append((self.starts[mid], tuple(block)))
        return tuple(out)


def _point(i: int, raw: Mapping[str, Any], path: str, resolver: _SunSpecResolver | None) -> Point:
    """Validate and resolve ``points[i]``; every error names the file and the point."""
    key = f"points[{i}] ({raw.get('field', '?') if isinstance(raw, Mapping) else '?'})"
    try:
        return _point_checked(key, raw, path, resolver)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        if isinstance(exc, ProfileError):
            raise
        raise _err(path, key, f"invalid: {exc!r}") from None


def _point_checked(key: str, raw: Mapping[str, Any], path: str, resolver: _SunSpecResolver | None) -> Point:
    unknown = set(raw) - _POINT_KEYS
    if unknown:
        raise _err(path, f"{key}.{sorted(unknown)[0]}", f"unknown key; allowed: {', '.join(sorted(_POINT_KEYS))}")
    if "field" not in raw:
        raise _err(path, key, "missing 'field'")
    access = raw.get("access", "R")
    if access not in ("R", "RW", "W"):
        raise _err(path, f"{key}.access", f"{access!r} is not R, RW or W")
    sf_address = sf_value = None
    symbols: tuple[tuple[int, str], ...] = ()
    if resolver is not None and "model" in raw:
        pdef, address, sf_address = resolver.locate(key, int(raw["model"]), raw.get("point", ""))
        ptype, size, symbols = pdef.type, pdef.size, pdef.symbols
        if sf_address is not None:
            sf_value = resolver.sfs.get(int(raw["model"]), {}).get(pdef.sf)
            if sf_value is None and int(raw["model"]) in resolver.defs:
                raise _err(path, f"scale_factors.{raw['model']}.{pdef.sf}",
                           f"missing: {key} uses it (the value the simulator serves)")
        source = f"model {raw['model']} point {raw.get('point')}"
    elif "address" in raw and "type" in raw:
        address, ptype = int(raw["address"]), raw["type"]
        if ptype not in TYPE_SIZE and ptype != "float32":
            raise _err(path, f"{key}.type", f"unknown type {ptype!r}")
        size, source = TYPE_SIZE.get(ptype, 2), f"address {address}"
        if "sf_address" in raw:  # a vendor map's exponent register (value = raw × 10^sf)
            if "sf_value" not in raw:
                raise _err(path, f"{key}.sf_value", "missing: the exponent the simulator serves "
                           "at sf_address")
            sf_address, sf_value = int(raw["sf_address"]), int(raw["sf_value"])
    else:
        raise _err(path, key, "needs 'model' and 'point' (sunspec) or 'address' and 'type'")
    named = "keys" in raw or "enum" in raw
    if "W" in access and not named and ("min" not in raw or "max" not in raw):
        raise _err(path, key, "a writable point needs 'min' and 'max' (or 'enum' / 'keys')")
    scale = float(raw.get("scale", 1.0))
    if not scale:
        raise _err(path, f"{key}.scale", "must not be 0")
    enable: tuple[tuple[int, tuple[int, ...]], ...] = ()
    if "enable" in raw:
        e = raw["enable"]
        if resolver is not None:
            edef, eaddr, _ = resolver.locate(f"{key}.enable", int(e.get("model", raw.get("model"))),
                                             e["point"])
            enable = ((eaddr, tuple(raw_registers(edef.type, edef.size, int(e["value"])))),)
        else:
            enable = ((int(e["address"]), tuple(raw_registers("uint16", 1, int(e["value"])))),)
    keys = tuple((v, tuple(int(k) for k in ks)) for v, ks in raw.get("keys", {}).items())
    if keys and "key_address" not in raw:
        raise _err(path, key, "'keys' need 'key_address' (the control-key register)")
    return Point(
        field=raw["field"], address=address, type=ptype, size=size, unit=raw.get("unit", ""),
        access=access, scale=scale, sf_address=sf_address,
        sf_value=sf_value, minimum=raw.get("min"), maximum=raw.get("max"),
        enum=tuple((k, int(v)) for k, v in raw.get("enum", {}).items()),
        of_field=raw.get("of"), enable=enable, keys=keys, key_address=raw.get("key_address"),
        nonzero_raw=raw.get("nonzero_raw"),
        alarm=_alarm_map(path, key, raw["alarm"], symbols) if "alarm" in raw else None, source=source)


def _alarm_map(path: str, key: str, raw: Any, symbols: tuple[tuple[int, str], ...]) -> AlarmMap:
    """A point's ``alarm`` table: ``kind``, ``names`` (default: the SunSpec symbols),
    ``severity`` ({value or bit: severity})."""
    where = f"{key}.alarm"
    if not isinstance(raw, Mapping) or set(raw) - {"kind", "names", "severity"}:
        raise _err(path, where, "must be a table with 'kind' and optional 'names', 'severity'")
    kind = raw.get("kind")
    if kind not in ALARM_KINDS:
        raise _err(path, f"{where}.kind", f"{kind!r} is not one of {', '.join(ALARM_KINDS)}")
    names = raw.get("names")
    if isinstance(names, list):  # nibbles: most significant first; null = reserved
        pairs = tuple((i, str(n)) for i, n in enumerate(names) if n is not None)
    elif isinstance(names, Mapping):
        pairs = tuple(sorted((int(k), str(v)) for k, v in names.items()))
    elif names is None:
        pairs = symbols
    else:
        raise _err(path, f"{where}.names", "must be a table {value: name} or a list")
    if not pairs:
        raise _err(path, f"{where}.names", "no names: the document's names must be given")
    severity = tuple(sorted((int(k), int(v)) for k, v in (raw.get("severity") or {}).items()))
    if any(v not in (0, 1, 2) for _, v in severity):
        raise _err(path, f"{where}.severity", "severities are 0 (info), 1 (warning) or 2 (critical)")
    if kind == "state" and not severity:
        raise _err(path, f"{where}.severity", "a state alarm needs the values that are alarms")
    return AlarmMap(kind, pairs, severity)
