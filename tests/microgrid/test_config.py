"""Site file loading and validation: good files load, bad ones name the file and key."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from microgrid.config import load_site, site_from_dict
from microgrid.errors import ConfigError
from microgrid.site import AlarmSettings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "sites" / "example-camp.toml"


def example_raw() -> dict:
    return tomllib.loads(EXAMPLE.read_text())


def test_example_site_loads_with_expected_equipment():
    site = load_site(EXAMPLE)
    assert site.name == "malakal"
    assert site.headcount == 1000
    assert (site.location.latitude, site.location.longitude) == (9.53, 31.66)
    assert [g.rated_kw for g in site.gensets] == [400.0, 400.0, 250.0]
    assert site.pv_kwp == 600.0
    assert site.batteries[0].capacity_kwh == 1000.0
    assert site.emission_factor_kg_per_l == 2.68
    assert site.gensets[0].min_kw == 120.0
    assert site.control_mode == "dry_run"
    assert site.source == str(EXAMPLE)


def test_genset_fuel_curve_is_homer_linear():
    g = load_site(EXAMPLE).gensets[0]
    # F = F0 * rated * on + F1 * P = 0.08 * 400 + 0.25 * 200
    assert g.fuel_rate_lph(200.0) == pytest.approx(82.0)
    assert g.fuel_rate_lph(0.0, on=False) == 0.0


def test_site_model_is_frozen():
    site = load_site(EXAMPLE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        site.gensets[0].rated_kw = 1  # type: ignore[misc]


def test_defaults_fill_optional_tables():
    raw = example_raw()
    del raw["simulator"], raw["optimizer"], raw["reserve"], raw["climate"], raw["forecast"]
    site = site_from_dict(raw, "x.toml")
    assert site.reserve.load_pct == 10.0
    assert site.optimizer.step_min == 15
    assert site.climate.clear_sky_index_mean == 0.8 and site.climate.ambient_temp_c == 25.0
    assert site.forecast.cold_start_load_kw is None  # no plan until a load is measured
    assert site.optimizer.hourly_horizon_h is None  # no 2-h blocks unless asked for


@pytest.mark.parametrize("mutate, key, words", [
    (lambda r: r["genset"][1].__setitem__("min_lod_pct", 30), "genset[dg-2].min_lod_pct",
     "did you mean 'min_load_pct'"),
    (lambda r: r["genset"][0].__setitem__("min_load_pct", 130), "genset[dg-1].min_load_pct",
     "out of range: 130"),
    (lambda r: r["battery"][0].__setitem__("soc_min_pct", 96), "battery[bess-1].soc_min_pct",
     "must be < soc_max_pct"),
    (lambda r: r["battery"][0].__setitem__("charge_efficiency", 0.0),
     "battery[bess-1].charge_efficiency", "must be > 0"),
    (lambda r: r["battery"][0].__setitem__("discharge_efficiency", 1.2),
     "battery[bess-1].discharge_efficiency", "must be ≤ 1"),
    (lambda r: r["site"]["location"].__setitem__("timezone", "Africa/Malakal"),
     "site.location.timezone", "unknown IANA timezone"),
    (lambda r: r["pv"][0]["modbus"].__setitem__("port", "502"), "pv[pv-north].modbus.port",
     "must be int, got str"),
    (lambda r: r["pv"][0].pop("kwp"), "pv[pv-north].kwp", "is required"),
    (lambda r: r.__setitem__("gensets", []), "gensets", "did you mean 'genset'"),
    (lambda r: r["genset"][2].__setitem__("name", "dg-1"), "genset[dg-1].name", "used twice"),
    (lambda r: r["load_meter"][0]["modbus"].__setitem__("port", 15041),
     "load_meter[camp-main].modbus", "also used by 'dg-1'"),
    (lambda r: r["site"].__setitem__("control_mode", "auto"), "site.control_mode", "dry_run"),
    (lambda r: r["optimizer"].__setitem__("step_min", 7), "optimizer.step_min", "divide 60"),
    (lambda r: r["optimizer"].__setitem__("hourly_horizon_h", 6), "optimizer.hourly_horizon_h",
     "must be between fine_horizon_h (12) and horizon_h (48)"),
    (lambda r: r["optimizer"].__setitem__("horizon_end", "soc"), "optimizer.horizon_end",
     "must be one of 'value', 'start_soc'"),
    (lambda r: r["optimizer"].__setitem__("pv_forecast_pct", 95), "optimizer.pv_forecast_pct",
     "out of range: 95"),
    (lambda r: r["optimizer"].__setitem__("integer_horizon_h", 60), "optimizer.integer_horizon_h",
     "must be > 0 and ≤ horizon_h (48)"),
    (lambda r: r["optimizer"].update(horizon_end="start_soc", stored_energy_value_l_per_kwh=0.3),
     "optimizer.stored_energy_value_l_per_kwh", "applies only when the horizon's end is valued"),
    (lambda r: r["costs"].__setitem__("diesel_usd_per_l", 0), "costs.diesel_usd_per_l", "must be > 0"),
    (lambda r: r["costs"].__setitem__("pv_usd_per_kw", 900), "costs.pv_usd_per_kw",
     "did you mean 'pv_usd_per_kwp'"),
    (lambda r: r["costs"].pop("battery_usd_per_kwh"), "costs.battery_usd_per_kwh", "is required"),
    (lambda r: r["logistics"].__setitem__("tanker_size_l", -5), "logistics.tanker_size_l", "must be > 0"),
    (lambda r: r["logistics"].__setitem__("tanker_l", 5), "logistics.tanker_l", "did you mean 'tanker_size_l'"),
])
def test_bad_values_name_the_key(mutate, key, words):
    raw = example_raw()
    mutate(raw)
    with pytest.raises(ConfigError) as err:
        site_from_dict(raw, "camp.toml")
    assert err.value.key == key
    assert err.value.path == "camp.toml"
    assert words in str(err.value)
    assert str(err.value).startswith(f"camp.toml: {key}: ")


def test_costs_and_logistics_are_read_once():
    site = load_site(EXAMPLE)
    assert (site.costs.pv_usd_per_kwp, site.costs.battery_usd_per_kwh, site.costs.diesel_usd_per_l) == (
        1000.0, 450.0, 1.5)
    assert site.logistics.tanker_size_l == 30000.0


def test_costs_and_logistics_are_optional_but_required_by_who_needs_them():
    from microgrid.config import require_costs, require_logistics

    raw = example_raw()
    del raw["costs"], raw["logistics"]
    site = site_from_dict(raw, "camp.toml")
    assert site.costs is None and site.logistics is None
    with pytest.raises(ConfigError) as err:
        require_costs(site, "microgrid study")
    assert str(err.value).startswith("camp.toml: costs: microgrid study needs the site's costs")
    assert "pv_usd_per_kwp, battery_usd_per_kwh, diesel_usd_per_l" in str(err.value)
    with pytest.raises(ConfigError, match=r"camp\.toml: logistics: .*tanker_size_l"):
        require_logistics(site, "convoys avoided")


def test_bool_is_not_a_number():
    raw = example_raw()
    raw["genset"][0]["rated_kw"] = True
    with pytest.raises(ConfigError, match="must be int or float, got bool"):
        site_from_dict(raw, "camp.toml")


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(ConfigError, match="site file not found"):
        load_site(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[site\nname = 'x'\n")
    with pytest.raises(ConfigError, match=r"bad\.toml: not valid TOML"):
        load_site(bad)


# -- serial lines and gateways (the modbus table) ------------------------------------------
def _serial(raw: dict, **extra) -> dict:
    """The meter on an RS-485 line instead of TCP."""
    raw["load_meter"][0]["modbus"] = {"serial": "/dev/ttyUSB0", "unit_id": 7,
                                      "profile": "load_meter", **extra}
    return raw


def test_serial_device_defaults_to_9600_8n1_rtu():
    site = site_from_dict(_serial(example_raw()), "camp.toml")
    m = site.load_meters[0].modbus
    assert (m.host, m.port, m.framer, m.unit_id) == ("", 0, "rtu", 7)
    line = m.serial
    assert (line.port, line.baudrate, line.parity, line.stopbits, line.bytesize) == \
        ("/dev/ttyUSB0", 9600, "N", 1, 8)
    assert m.link == "serial:/dev/ttyUSB0" and m.retries == 1 and m.request_pause_s == 0.0


def test_gateway_rtu_over_tcp_retries_and_pause():
    raw = example_raw()
    raw["genset"][0]["modbus"].update(framer="rtu", retries=0, request_pause_s=0.05, timeout_s=0.4)
    raw["genset"][1]["modbus"].update(port=15041, unit_id=2, framer="rtu")   # same gateway
    site = site_from_dict(raw, "camp.toml")
    a, b = site.gensets[0].modbus, site.gensets[1].modbus
    assert a.framer == "rtu" and a.serial is None and (a.retries, a.request_pause_s) == (0, 0.05)
    assert a.link == b.link == "rtu+tcp://127.0.0.1:15041"
    assert site.gensets[2].modbus.link == "127.0.0.1:15043"      # Modbus TCP framing


def test_block_every_s_overrides_the_profiles_cadence_per_device():
    raw = example_raw()
    raw["battery"][0]["modbus"]["block_every_s"] = 300
    site = site_from_dict(raw, "camp.toml")
    assert site.batteries[0].modbus.block_every_s == 300.0
    assert site.gensets[0].modbus.block_every_s is None              # the profile's own


@pytest.mark.parametrize("modbus, key, words", [
    ({"serial": "/dev/ttyUSB0", "host": "10.0.0.5", "profile": "load_meter"}, "host", "not both"),
    ({"serial": "/dev/ttyUSB0", "port": 502, "profile": "load_meter"}, "port", "has none"),
    ({"serial": "/dev/ttyUSB0", "framer": "socket", "profile": "load_meter"}, "framer", "RTU"),
    ({"serial": "/dev/ttyUSB0", "parity": "X", "profile": "load_meter"}, "parity", "'N', 'E', 'O'"),
    ({"serial": "/dev/ttyUSB0", "baudrate": 9601, "profile": "load_meter"}, "baudrate", "9600"),
    ({"serial": "/dev/ttyUSB0", "stopbits": 3, "profile": "load_meter"}, "stopbits", "one of 1, 2"),
    ({"serial": "", "profile": "load_meter"}, "serial", "/dev/ttyUSB0"),
    ({"host": "10.0.0.5", "port": 502, "baudrate": 9600, "profile": "load_meter"}, "baudrate",
     "needs 'serial'"),
    ({"port": 502, "profile": "load_meter"}, "host", "or 'serial'"),
    ({"host": "10.0.0.5", "profile": "load_meter"}, "port", "required with 'host'"),
    ({"host": "10.0.0.5", "port": 502, "framer": "ascii", "profile": "load_meter"}, "framer",
     "'socket', 'rtu'"),
    ({"host": "10.0.0.5", "port": 502, "retries": 11, "profile": "load_meter"}, "retries",
     "out of range"),
    ({"host": "10.0.0.5", "port": 502, "block_every_s": 0, "profile": "load_meter"}, "block_every_s",
     "out of range"),
    ({"serial": "/dev/ttyUSB0", "bauds": 9600, "profile": "load_meter"}, "bauds",
     "did you mean 'baudrate'"),
])
def test_bad_modbus_tables_name_the_key(modbus, key, words):
    raw = example_raw()
    raw["load_meter"][0]["modbus"] = modbus
    with pytest.raises(ConfigError) as err:
        site_from_dict(raw, "camp.toml")
    assert err.value.key == f"load_meter[camp-main].modbus.{key}"
    assert err.value.path == "camp.toml" and words in str(err.value)


def test_one_bus_one_line_setting_and_unique_units():
    raw = _serial(example_raw())
    raw["load_meter"].append({"name": "meter-2", "modbus": {
        "serial": "/dev/ttyUSB0", "baudrate": 19200, "unit_id": 8, "profile": "load_meter"}})
    with pytest.raises(ConfigError) as err:
        site_from_dict(raw, "camp.toml")
    assert err.value.key == "load_meter[meter-2].modbus.serial"
    assert "also used by 'camp-main' with other line settings" in str(err.value)
    raw["load_meter"][1]["modbus"].update(baudrate=9600, unit_id=7)
    with pytest.raises(ConfigError, match="serial:/dev/ttyUSB0 unit 7 is also used by 'camp-main'"):
        site_from_dict(raw, "camp.toml")
    raw["load_meter"][1]["modbus"]["unit_id"] = 8
    site = site_from_dict(raw, "camp.toml")
    assert [m.modbus.link for m in site.load_meters] == ["serial:/dev/ttyUSB0"] * 2


@pytest.mark.parametrize("mutate, key, words", [
    (lambda r: r["fuel_tank"][0].__setitem__("capacity_l", 0), "fuel_tank[bulk-1].capacity_l", "must be > 0"),
    (lambda r: r["fuel_tank"][0].__setitem__("gauge_tolerance_l", 90000), "fuel_tank[bulk-1].gauge_tolerance_l",
     "must be < capacity_l"),
    (lambda r: r["fuel_tank"][0].__setitem__("tolerance_l", 5), "fuel_tank[bulk-1].tolerance_l",
     "did you mean 'gauge_tolerance_l'"),
    (lambda r: r["fuel_tank"][0]["modbus"].update(port=15051, unit_id=1), "fuel_tank[bulk-1].modbus",
     "also used by 'camp-main'"),
    (lambda r: r["alarms"].__setitem__("frequency_band_hz", [51, 49]), "alarms.frequency_band_hz",
     "must be [low, high]"),
    (lambda r: r["alarms"].__setitem__("voltage_band_v", [360]), "alarms.voltage_band_v", "must be [low, high]"),
    (lambda r: r["alarms"].__setitem__("soc_floor_pct", 120), "alarms.soc_floor_pct", "out of range"),
    (lambda r: r["alarms"].__setitem__("fallback_cycles", 1.5), "alarms.fallback_cycles", "must be int"),
    (lambda r: r["alarms"].__setitem__("autonomy_days", 3), "alarms.autonomy_days",
     "did you mean 'autonomy_min_days'"),
])
def test_bad_fuel_and_alarm_keys_name_the_key(mutate, key, words):
    raw = example_raw()
    mutate(raw)
    with pytest.raises(ConfigError) as err:
        site_from_dict(raw, "camp.toml")
    assert err.value.key == key and words in str(err.value)


def test_fuel_tanks_and_alarm_thresholds():
    site = load_site(EXAMPLE)
    [tank] = site.fuel_tanks
    assert (tank.name, tank.capacity_l, tank.gauge_tolerance_l, tank.modbus.profile) == (
        "bulk-1", 80000.0, 400.0, "victron_gx_tank")
    assert site.device("bulk-1") is tank and site.devices[-1] is tank
    assert site.alarms.frequency_band_hz == (49.0, 51.0) and site.alarms.fallback_cycles == 3
    raw = example_raw()
    del raw["alarms"], raw["fuel_tank"][0]["gauge_tolerance_l"]
    site = site_from_dict(raw, "camp.toml")
    assert site.fuel_tanks[0].gauge_tolerance_l == 800.0                 # default: 1 % of capacity
    assert site.alarms == AlarmSettings()
