"""Load and validate a site file (TOML) into the typed site model.

The only place that sees the raw TOML. Every key is declared in a small schema below: unknown
keys are errors (with a suggestion for a misspelt key), values are type- and range-checked, and
every error names the file, the key path (``genset[dg-2].min_load_pct``) and the problem.
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from microgrid.errors import ConfigError
from microgrid.site import (
    CONTROL_MODES,
    DRY_RUN,
    HORIZON_ENDS,
    AlarmSettings,
    Battery,
    Climate,
    Costs,
    ForecastSettings,
    FuelTank,
    Genset,
    LoadMeter,
    Location,
    Logistics,
    ModbusEndpoint,
    OptimizerSettings,
    PvArray,
    ReserveRule,
    SerialLine,
    Site,
)

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_REQUIRED = object()


@dataclass(frozen=True)
class Key:
    """Schema of one key: its type, default (or required) and allowed range."""

    kind: type | tuple[type, ...]
    default: Any = _REQUIRED
    low: float | None = None  #: inclusive lower bound
    high: float | None = None  #: inclusive upper bound
    low_open: bool = False  #: lower bound exclusive
    check: Callable[[Any], str | None] | None = None  #: returns a problem or None


def num(low: float | None = None, high: float | None = None, default: Any = _REQUIRED,
        low_open: bool = False) -> Key:
    """Schema of a number (int or float) within ``[low, high]`` (``(low, high]`` if ``low_open``)."""
    return Key((int, float), default, low, high, low_open)




def _name_check(v: str) -> str | None:
    return None if _NAME_RE.match(v) else (
        "must be 1-63 letters, digits, '-', '_' or '.', starting with a letter or digit")


def _tz_check(v: str) -> str | None:
    try:
        zoneinfo.ZoneInfo(v)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f"unknown IANA timezone {v!r} (e.g. 'Africa/Juba', 'UTC')"
    return None


def _mode_check(v: str) -> str | None:
    return None if v in CONTROL_MODES else f"must be one of {', '.join(map(repr, CONTROL_MODES))}"


def _horizon_end_check(v: str) -> str | None:
    return None if v in HORIZON_ENDS else f"must be one of {', '.join(map(repr, HORIZON_ENDS))}"


_NAME = Key(str, check=_name_check)

SITE = {"name": _NAME, "mission": Key(str, ""), "headcount": Key(int, _REQUIRED, 1, 1_000_000),
        "emission_factor_kg_per_l": num(0, 10, 2.68, low_open=True),
        "control_mode": Key(str, DRY_RUN, check=_mode_check), "location": Key(dict)}
LOCATION = {"latitude": num(-90, 90), "longitude": num(-180, 180),
            "altitude_m": num(-500, 9000, 0.0), "timezone": Key(str, "UTC", check=_tz_check)}
RESERVE = {"load_pct": num(0, 100, 10.0), "pv_pct": num(0, 100, 25.0)}
#: Standard serial line speeds a device's ``baudrate`` may take. [bit/s]
BAUDRATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)


def _one_of(allowed: tuple[Any, ...]) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        return None if v in allowed else f"must be one of {', '.join(map(repr, allowed))}, got {v!r}"
    return check


def _path_check(v: str) -> str | None:
    return None if v.strip() else "must be a serial device path such as '/dev/ttyUSB0'"


MODBUS = {"host": Key(str, None), "port": Key(int, None, 1, 65535), "unit_id": Key(int, 1, 0, 247),
          "profile": Key(str, check=_name_check), "poll_interval_s": num(0.1, 3600, 5.0),
          "timeout_s": num(0.01, 60, 1.0), "framer": Key(str, None, check=_one_of(("socket", "rtu"))),
          "serial": Key(str, None, check=_path_check),
          "baudrate": Key(int, 9600, check=_one_of(BAUDRATES)),
          "parity": Key(str, "N", check=_one_of(("N", "E", "O"))),
          "stopbits": Key(int, 1, check=_one_of((1, 2))), "bytesize": Key(int, 8, check=_one_of((7, 8))),
          "retries": Key(int, 1, 0, 10), "request_pause_s": num(0, 10, 0.0),
          "block_every_s": num(0.1, 86400, None)}
#: Keys that only mean something on a serial line.
SERIAL_KEYS = ("baudrate", "parity", "stopbits", "bytesize")
PV = {"name": _NAME, "kwp": num(0, 1e6, low_open=True), "inverter_kw": num(0, 1e6, low_open=True),
      "tilt_deg": num(0, 90), "azimuth_deg": num(0, 360), "losses_pct": num(0, 99, 14.0),
      "gamma_pdc_per_c": num(-0.02, 0, -0.004), "modbus": Key(dict)}
BATTERY = {"name": _NAME, "capacity_kwh": num(0, 1e7, low_open=True),
           "charge_power_kw": num(0, 1e6, low_open=True),
           "discharge_power_kw": num(0, 1e6, low_open=True),
           "soc_min_pct": num(0, 100), "soc_max_pct": num(0, 100),
           "charge_efficiency": num(0, 1, low_open=True),
           "discharge_efficiency": num(0, 1, low_open=True),
           "wear_cost_l_per_kwh": num(0, 10, 0.0), "initial_soc_pct": num(0, 100, 50.0),
           "modbus": Key(dict)}
GENSET = {"name": _NAME, "rated_kw": num(0, 1e5, low_open=True), "min_load_pct": num(0, 100, 30.0),
          "fuel_f0_l_per_kwh_rated": num(0, 1), "fuel_f1_l_per_kwh": num(0, 1, low_open=True),
          "min_up_min": num(0, 1440, 0.0), "min_down_min": num(0, 1440, 0.0),
          "start_cost_l": num(0, 1000, 0.0), "tank_l": num(0, 1e6, 1000.0, low_open=True),
          "modbus": Key(dict)}
LOAD_METER = {"name": _NAME, "modbus": Key(dict)}
CLIMATE = {"clear_sky_index_mean": num(0, 1.2, 0.8), "cloud_variability": num(0, 1, 0.15),
           "ambient_temp_c": num(-50, 60, 25.0)}
FORECAST = {"cold_start_load_kw": Key((int, float), None, 0, 1e6)}
OPTIMIZER = {"horizon_h": num(1, 24 * 14, 48.0), "step_min": Key(int, 15, 1, 60),
             "fine_horizon_h": num(0, 24 * 14, 12.0), "mip_rel_gap": num(0, 0.5, 0.005),
             "time_limit_s": num(0, 3600, 10.0, low_open=True),
             "terminal_soc_pct": Key((int, float), None, 0, 100),
             "shed_penalty_l_per_kwh": num(0, 1e4, 10.0),
             "curtail_penalty_l_per_kwh": num(0, 10, 0.0001),
             "reserve_shortfall_penalty_l_per_kwh": num(0, 1e4, 2.0),
             "hourly_horizon_h": Key((int, float), None, 0, 24 * 14),
             "horizon_end": Key(str, "value", check=_horizon_end_check),
             "stored_energy_value_l_per_kwh": Key((int, float), None, 0, 10),
             "integer_horizon_h": Key((int, float), None, 0, 24 * 14),
             "pv_forecast_pct": num(10, 90, 50.0)}
COSTS = {"pv_usd_per_kwp": num(0, 1e5), "battery_usd_per_kwh": num(0, 1e5),
         "diesel_usd_per_l": num(0, 100, low_open=True)}
LOGISTICS = {"tanker_size_l": num(0, 1e6, low_open=True)}
FUEL_TANK = {"name": _NAME, "capacity_l": num(0, 1e7, low_open=True),
             "gauge_tolerance_l": Key((int, float), None, 0, 1e6, low_open=True), "modbus": Key(dict)}
#: A fuel tank's gauge tolerance when the site file gives none: this share of its capacity. [%]
GAUGE_TOLERANCE_DEFAULT_PCT = 1.0


def _band_check(low: float, high: float) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        if (len(v) != 2 or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)
                or not low <= v[0] < v[1] <= high):
            return f"must be [low, high] with {low:g} ≤ low < high ≤ {high:g}, got {v!r}"
        return None
    return check


ALARMS = {"offline_after_s": num(1, 86400, 60.0), "wet_stacking_min": num(1, 1440, 60.0),
          "soc_floor_pct": Key((int, float), None, 0, 100), "autonomy_min_days": num(0, 365, 7.0),
          "fallback_cycles": Key(int, 3, 1, 1000), "spool_backlog_points": Key(int, 100_000, 1, 10**9),
          "frequency_band_hz": Key(list, [49.0, 51.0], check=_band_check(0, 100)),
          "voltage_band_v": Key(list, [360.0, 440.0], check=_band_check(0, 100_000)),
          "fuel_loss_window_h": num(1, 168, 12.0)}
TOP = {"site": Key(dict), "reserve": Key(dict, None), "pv": Key(list, ()),
       "battery": Key(list, ()), "genset": Key(list, ()), "load_meter": Key(list, ()),
       "climate": Key(dict, None), "forecast": Key(dict, None), "optimizer": Key(dict, None),
       "costs": Key(dict, None), "logistics": Key(dict, None),
       "fuel_tank": Key(list, ()), "alarms": Key(dict, None),
       # the virtual camp's knobs: validated by microgrid.simulator.settings, not part of Site
       "simulator": Key(dict, None)}


class TableReader:
    """Validates tables against schemas, naming file and key path in every error."""

    def __init__(self, path: str):
        self.path = path

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(message, path=self.path, key=key)

    def table(self, raw: Any, schema: dict[str, Key], where: str) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise self.fail(where, f"must be a table, got {type(raw).__name__}")
        for key in raw:
            if key not in schema:
                close = difflib.get_close_matches(key, list(schema), n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]!r}?" if close else (
                    f"; known keys: {', '.join(sorted(schema))}")
                raise self.fail(_join(where, key), f"unknown key {key!r}{hint}")
        return {k: self.value(raw.get(k, _REQUIRED), spec, _join(where, k))
                for k, spec in schema.items()}

    def value(self, v: Any, spec: Key, where: str) -> Any:
        if v is _REQUIRED:
            if spec.default is _REQUIRED:
                raise self.fail(where, "is required but missing")
            return spec.default
        kinds = spec.kind if isinstance(spec.kind, tuple) else (spec.kind,)
        if isinstance(v, bool) and bool not in kinds or not isinstance(v, kinds):
            want = " or ".join(k.__name__ for k in kinds)
            raise self.fail(where, f"must be {want}, got {type(v).__name__} {v!r}")
        if isinstance(v, float) and not math.isfinite(v):
            raise self.fail(where, f"must be finite, got {v!r}")
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if spec.low is not None and (v <= spec.low if spec.low_open else v < spec.low):
                op = ">" if spec.low_open else "≥"
                raise self.fail(where, f"out of range: {v!r}; must be {op} {spec.low:g}"
                                + (f" and ≤ {spec.high:g}" if spec.high is not None else ""))
            if spec.high is not None and v > spec.high:
                raise self.fail(where, f"out of range: {v!r}; must be ≤ {spec.high:g}")
        if spec.check is not None:
            problem = spec.check(v)
            if problem:
                raise self.fail(where, problem)
        return v


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def read_site_document(path: str | Path) -> dict[str, Any]:
    """The parsed TOML of a site file.

    Raises
    ------
    ConfigError
        Missing or unreadable file, not UTF-8, or not valid TOML, naming the file.
    """
    path = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # a byte-order mark (Notepad) is fine
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start}); save the site file as UTF-8", path=path) from None
    except FileNotFoundError:
        raise ConfigError("site file not found", path=path) from None
    except OSError as exc:
        raise ConfigError(f"cannot read site file: {exc.strerror}", path=path) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=path) from None


def load_site(path: str | Path) -> Site:
    """Read, validate and normalise a site file.

    Parameters
    ----------
    path : str or Path
        The TOML site file.

    Raises
    ------
    ConfigError
        With the file, the key path and the problem.
    """
    return site_from_dict(read_site_document(path), str(path))


def site_from_dict(raw: dict[str, Any], path: str = "<site>") -> Site:
    """Validate an already parsed site document (see :func:`load_site`)."""
    r = TableReader(path)
    top = r.table(raw, TOP, "")
    s = r.table(top["site"], SITE, "site")
    loc = r.table(s["location"], LOCATION, "site.location")
    pv = tuple(PvArray(**_device(r, t, PV, "pv", i)) for i, t in enumerate(_list(r, top, "pv")))
    bat = tuple(Battery(**_device(r, t, BATTERY, "battery", i))
                for i, t in enumerate(_list(r, top, "battery")))
    gen = tuple(Genset(**_device(r, t, GENSET, "genset", i))
                for i, t in enumerate(_list(r, top, "genset")))
    meters = tuple(LoadMeter(**_device(r, t, LOAD_METER, "load_meter", i))
                   for i, t in enumerate(_list(r, top, "load_meter")))
    tanks = tuple(_fuel_tank(_device(r, t, FUEL_TANK, "fuel_tank", i))
                  for i, t in enumerate(_list(r, top, "fuel_tank")))
    site = Site(
        name=s["name"], mission=s["mission"], headcount=s["headcount"],
        location=Location(latitude=float(loc["latitude"]), longitude=float(loc["longitude"]),
                          altitude_m=float(loc["altitude_m"]), timezone=str(loc["timezone"])),
        emission_factor_kg_per_l=float(s["emission_factor_kg_per_l"]),
        reserve=ReserveRule(**floats(r.table(top["reserve"] or {}, RESERVE, "reserve"))),
        control_mode=s["control_mode"], pv_arrays=pv, batteries=bat, gensets=gen,
        load_meters=meters,
        climate=Climate(**floats(r.table(top["climate"] or {}, CLIMATE, "climate"))),
        forecast=ForecastSettings(**floats(r.table(top["forecast"] or {}, FORECAST, "forecast"))),
        optimizer=OptimizerSettings(**floats(
            r.table(top["optimizer"] or {}, OPTIMIZER, "optimizer"), keep=("step_min",))),
        costs=None if top["costs"] is None else Costs(**floats(r.table(top["costs"], COSTS, "costs"))),
        logistics=(None if top["logistics"] is None
                   else Logistics(**floats(r.table(top["logistics"], LOGISTICS, "logistics")))),
        fuel_tanks=tanks, alarms=_alarms(r.table(top["alarms"] or {}, ALARMS, "alarms")),
        source=path)
    _cross_checks(r, site)
    return site


def _fuel_tank(values: dict[str, Any]) -> FuelTank:
    if values["gauge_tolerance_l"] is None:
        values["gauge_tolerance_l"] = GAUGE_TOLERANCE_DEFAULT_PCT / 100.0 * values["capacity_l"]
    return FuelTank(**values)


def _alarms(values: dict[str, Any]) -> AlarmSettings:
    bands = {k: (float(values[k][0]), float(values[k][1])) for k in ("frequency_band_hz", "voltage_band_v")}
    return AlarmSettings(**{**floats(values, keep=("fallback_cycles", "spool_backlog_points")), **bands})


def _list(r: TableReader, top: dict, key: str) -> list:
    value = top[key]
    if not isinstance(value, (list, tuple)):
        raise r.fail(key, f"must be an array of tables ([[{key}]]), got {type(value).__name__}")
    return list(value)


def _device(r: TableReader, raw: Any, schema: dict[str, Key], kind: str, index: int) -> dict:
    label = raw.get("name") if isinstance(raw, dict) and isinstance(raw.get("name"), str) else index + 1
    where = f"{kind}[{label}]"
    values = r.table(raw, schema, where)
    values["modbus"] = _modbus(r, values["modbus"], f"{where}.modbus")
    return floats(values, keep=("name", "modbus"))


def _modbus(r: TableReader, raw: Any, where: str) -> ModbusEndpoint:
    """A device's ``modbus`` table: TCP (``host``/``port``, optional ``framer``) or a serial
    line (``serial`` with ``baudrate``/``parity``/``stopbits``/``bytesize``, RTU framing)."""
    v = r.table(raw, MODBUS, where)
    common = {"unit_id": v["unit_id"], "profile": v["profile"], "retries": v["retries"],
              "poll_interval_s": float(v["poll_interval_s"]), "timeout_s": float(v["timeout_s"]),
              "request_pause_s": float(v["request_pause_s"]),
              "block_every_s": None if v["block_every_s"] is None else float(v["block_every_s"])}
    if v["serial"] is not None:
        for key, problem in (("host", "give either 'host' (TCP) or 'serial' (a serial line), not both"),
                             ("port", "is a TCP port; a device on a serial line has none")):
            if v[key] is not None:
                raise r.fail(f"{where}.{key}", problem)
        if v["framer"] not in (None, "rtu"):
            raise r.fail(f"{where}.framer", "a serial line carries RTU frames: 'rtu' or leave it out")
        line = SerialLine(v["serial"], v["baudrate"], v["parity"], v["stopbits"], v["bytesize"])
        return ModbusEndpoint(host="", port=0, framer="rtu", serial=line, **common)
    if v["host"] is None:
        raise r.fail(f"{where}.host", "is required (or 'serial' for a device on a serial line)")
    if v["port"] is None:
        raise r.fail(f"{where}.port", "is required with 'host'")
    for key in SERIAL_KEYS:
        if key in raw:
            raise r.fail(f"{where}.{key}", "is a serial-line setting; it needs 'serial' (not 'host')")
    return ModbusEndpoint(host=v["host"], port=v["port"], framer=v["framer"] or "socket", **common)


def floats(values: dict[str, Any], keep: tuple[str, ...] = ()) -> dict[str, Any]:
    """Ints from TOML become floats, except the named keys (and None, str)."""
    return {k: (float(v) if isinstance(v, int) and k not in keep else v) for k, v in values.items()}


def _cross_checks(r: TableReader, site: Site) -> None:
    toml_key = {PvArray: "pv", Battery: "battery", Genset: "genset", LoadMeter: "load_meter",
                FuelTank: "fuel_tank"}
    seen: set[str] = set()
    endpoints: dict[tuple, str] = {}
    lines: dict[str, tuple[str, SerialLine]] = {}
    for d in site.devices:
        where = f"{toml_key[type(d)]}[{d.name}]"
        if d.name in seen:
            raise r.fail(f"{where}.name", f"device name {d.name!r} is used twice")
        seen.add(d.name)
        ep = (d.modbus.link, d.modbus.unit_id)
        if ep in endpoints:
            raise r.fail(f"{where}.modbus", f"endpoint {ep[0]} unit {ep[1]} is also used "
                         f"by {endpoints[ep]!r}; each device needs its own unit id")
        endpoints[ep] = d.name
        line = d.modbus.serial
        if line is not None:
            first = lines.setdefault(line.port, (d.name, line))
            if first[1] != line:
                raise r.fail(f"{where}.modbus.serial", f"{line.port} is also used by {first[0]!r} "
                             f"with other line settings; one bus has one baudrate, parity, "
                             f"stopbits and bytesize")
    for b in site.batteries:
        if b.soc_min_pct >= b.soc_max_pct:
            raise r.fail(f"battery[{b.name}].soc_min_pct",
                         f"must be < soc_max_pct ({b.soc_min_pct:g} ≥ {b.soc_max_pct:g})")
        if not b.soc_min_pct <= b.initial_soc_pct <= b.soc_max_pct:
            raise r.fail(f"battery[{b.name}].initial_soc_pct",
                         f"{b.initial_soc_pct:g} is outside the SOC window "
                         f"[{b.soc_min_pct:g}, {b.soc_max_pct:g}]")
    for t in site.fuel_tanks:
        if t.gauge_tolerance_l >= t.capacity_l:
            raise r.fail(f"fuel_tank[{t.name}].gauge_tolerance_l",
                         f"must be < capacity_l ({t.gauge_tolerance_l:g} ≥ {t.capacity_l:g})")
    if not site.gensets and not site.batteries:
        raise r.fail("genset", "a site needs at least one genset or battery to form the grid")
    opt = site.optimizer
    if opt.fine_horizon_h > opt.horizon_h:
        raise r.fail("optimizer.fine_horizon_h", f"must be ≤ horizon_h ({opt.horizon_h:g})")
    if opt.hourly_horizon_h is not None and not opt.fine_horizon_h <= opt.hourly_horizon_h <= opt.horizon_h:
        raise r.fail("optimizer.hourly_horizon_h",
                     f"must be between fine_horizon_h ({opt.fine_horizon_h:g}) and horizon_h ({opt.horizon_h:g})")
    if opt.integer_horizon_h is not None and not 0 < opt.integer_horizon_h <= opt.horizon_h:
        raise r.fail("optimizer.integer_horizon_h", f"must be > 0 and ≤ horizon_h ({opt.horizon_h:g})")
    if opt.stored_energy_value_l_per_kwh is not None and (opt.horizon_end != "value"
                                                         or opt.terminal_soc_pct is not None):
        raise r.fail("optimizer.stored_energy_value_l_per_kwh",
                     "applies only when the horizon's end is valued (horizon_end = \"value\", no terminal_soc_pct)")
    if 60 % opt.step_min:
        raise r.fail("optimizer.step_min", "must divide 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60)")


def require_costs(site: Site, needed_for: str) -> Costs:
    """The site's ``[costs]``, or a :class:`ConfigError` naming the file and the table.

    Parameters
    ----------
    site : Site
    needed_for : str
        What needs them, for the message (e.g. ``"microgrid study"``).
    """
    if site.costs is None:
        raise ConfigError(f"{needed_for} needs the site's costs: add a [costs] table with "
                          f"{', '.join(COSTS)} (see sites/example-camp.toml)",
                          path=site.source or None, key="costs")
    return site.costs


def require_logistics(site: Site, needed_for: str) -> Logistics:
    """The site's ``[logistics]``, or a :class:`ConfigError` naming the file and the table."""
    if site.logistics is None:
        raise ConfigError(f"{needed_for} needs the site's tanker size: add a [logistics] table with "
                          f"{', '.join(LOGISTICS)} (see sites/example-camp.toml)",
                          path=site.source or None, key="logistics")
    return site.logistics
