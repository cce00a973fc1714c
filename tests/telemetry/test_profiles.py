"""Every register profile against its published document: register images built from the
document (its own example values where it gives any, else its addresses, types and scales) must
decode to the document's meaning, in the units of docs/architecture.md §4."""

from __future__ import annotations

import struct

import pytest

from telemetry.register_profile import PROFILE_DIR
from telemetry.registers import decode, encode, load_profile, plan_write

#: Each profile's description names the document (and version) its addresses come from.
SOURCES = {
    "dse_genset": ("55xGenComm1_29", "GenComm V1.29", "056-051 Gencomm Control Keys"),
    "load_meter": ("Eastron SDM630", "MID V2"),
    "sunspec_inverter": ("SunSpec JSON models",),
    "sunspec_storage": ("SunSpec", "802", "701"),
    "victron_gx_battery": ("attributes.csv", "dbus_modbustcp v1.0.101", "dbus-systemcalc-py v2.256"),
    "victron_gx_tank": ("attributes.csv", "dbus_modbustcp v1.0.101", "com.victronenergy.tank"),
    "woodward_easygen_5010": ("B37574", "9.2.4", "Protocol 5010"),
}


def _regs(values: dict[int, int]) -> dict[int, int]:
    return {a: v & 0xFFFF for a, v in values.items()}


def _float(address: int, value: float) -> dict[int, int]:
    hi, lo = struct.unpack(">HH", struct.pack(">f", value))
    return {address: hi, address + 1: lo}


def test_every_profile_names_its_source_document():
    names = sorted(p.stem for p in PROFILE_DIR.glob("*.json"))
    assert names == sorted(SOURCES)
    for name, words in SOURCES.items():
        description = load_profile(name).definition["description"]
        for word in words:
            assert word in description, (name, word)


# -- DSE GenComm ----------------------------------------------------------------------------
def test_dse_page4_from_the_documents_examples():
    """Page 4 (address 1024 + offset) as read from a DSE module in a published worked example
    (coolant 58 degC, fuel level 82 %, engine battery 26.9 V, engine speed 1432 rpm, oil
    temperature 32767 = a signed 'unimplemented'), and GenComm 1.29's coolant sentinels
    (0x7FFE over range, 0x7FFD under range, 0x7FFC sender fault)."""
    dse = load_profile("dse_genset")
    image = _regs({1024: 350, 1025: 58, 1026: 0x7FFF, 1027: 82, 1028: 0, 1029: 269, 1030: 1432,
                   1031: 501, 1038: 0, 1039: 4003, 1040: 0, 1041: 3998, 1042: 0, 1043: 4011,
                   1044: 0, 1045: 3605, 1046: 0, 1047: 3590, 1048: 0, 1049: 3611})
    out = decode(dse, image)
    assert (out["oil_pressure_kpa"], out["coolant_temp_c"], out["fuel_level_pct"]) == (350, 58, 82)
    assert out["engine_battery_v"] == 26.9 and out["running"] == 1      # 1432 rpm > 0
    assert out["frequency_hz"] == 50.1
    assert (out["voltage_l1_l2_v"], out["voltage_l2_l3_v"], out["voltage_l3_l1_v"]) == \
        (400.3, 399.8, 401.1)
    assert (out["current_l1_a"], out["current_l2_a"], out["current_l3_a"]) == (360.5, 359.0, 361.1)
    for sentinel in (0x7FFE, 0x7FFD, 0x7FFC):
        assert decode(dse, {**image, 1025: sentinel})["coolant_temp_c"] is None
    assert decode(dse, {**image, 1025: 0xFFF6})["coolant_temp_c"] == -10   # -10 degC: a value
    assert decode(dse, {**image, 1030: 0})["running"] == 0


def test_dse_page7_and_control_keys():
    dse = load_profile("dse_genset")
    # page 7: run time 6-7 [s], positive kWh 8-9 [0.1 kWh], number of starts 16-17
    image = _regs({1798: 0x0005, 1799: 0x8548, 1800: 0x0001, 1801: 0xE240, 1808: 0, 1809: 42})
    out = decode(dse, image)
    assert (out["run_hours_h"], out["energy_total_kwh"], out["starts"]) == (100.5, 12345.6, 42)
    # page 16: key in offset 8 (4104) with its ones' complement in 9, one write; 056-051 issue 3
    # lists "1 Select Auto mode 35701 29834"
    (w,) = plan_write(dse, "mode", "auto").writes
    assert (w.address, w.registers) == (4104, (35701, 29834))
    assert [x.registers for x in plan_write(dse, "mode", "run").writes] == \
        [(35702, 29833), (35705, 29830)]                                 # manual, then start
    assert [x.registers for x in plan_write(dse, "mode", "stop").writes] == [(35700, 29835)]


# -- Victron GX ------------------------------------------------------------------------------
def test_victron_battery_scales_and_signs_from_the_register_list():
    """attributes.csv: register = D-Bus value x scale (Soc scale 10, Dc/0/Voltage 100, ...);
    Victron counts battery power and current positive when charging."""
    vic = load_profile("victron_gx_battery")
    assert vic.function == "holding" and vic.measurement == "battery"
    image = _regs({256: 0xFFFF, 257: -6543, 259: 5312, 261: -1234, 262: 255, 266: 655, 304: 987,
                   305: 568, 307: 1500, 308: 2000, 318: 201, 319: 243, 1290: 331, 1291: 334})
    out = decode(vic, image)
    assert out["power_kw"] == 6.543 and out["current_a"] == 123.4      # discharging: + here
    assert (out["voltage_v"], out["soc_pct"], out["soh_pct"], out["temp_c"]) == (53.12, 65.5, 98.7, 25.5)
    assert (out["charge_current_limit_a"], out["discharge_current_limit_a"]) == (150.0, 200.0)
    assert out["charge_voltage_limit_v"] == 56.8
    assert (out["cell_temp_min_c"], out["cell_temp_max_c"]) == (20.1, 24.3)
    assert (out["cell_voltage_min_v"], out["cell_voltage_max_v"]) == (3.31, 3.34)
    charging = decode(vic, {**image, 256: 0, 257: 2500, 261: 471})
    assert charging["power_kw"] == -2.5 and charging["current_a"] == -47.1


# -- Woodward easYgen ------------------------------------------------------------------------
def test_woodward_5010_exponent_registers_scale_power_voltage_current():
    eg = load_profile("woodward_easygen_5010")
    image = _regs({50000: 5010, 50001: 3, 50002: 0, 50003: 0, 50009: 5002, 50010: 250,
                   50011: -30, 50012: 850, 50013: 400, 50014: 401, 50015: 399,
                   50019: 360, 50020: 361, 50021: 359})
    out = decode(eg, image)
    assert out["protocol_id"] == 5010 and out["frequency_hz"] == 50.02
    assert out["power_kw"] == 250.0 and out["reactive_power_kvar"] == -30.0   # 10^3 W steps
    assert out["power_factor"] == 0.85
    assert (out["voltage_l1_l2_v"], out["voltage_l2_l3_v"], out["voltage_l3_l1_v"]) == (400, 401, 399)
    assert (out["current_l1_a"], out["current_l2_a"], out["current_l3_a"]) == (360, 361, 359)
    finer = decode(eg, {**image, 50001: 1, 50010: 25034, 50002: -1, 50013: 4003})
    assert finer["power_kw"] == 250.34 and finer["voltage_l1_l2_v"] == 400.3
    assert decode(eg, {**image, 50001: 0x8000})["power_kw"] is None     # exponent unknown
    assert "running" not in out and "oil_pressure_kpa" not in out      # not in the excerpt
    served = decode(eg, encode(eg, {"power_kw": 123.4, "voltage_l1_l2_v": 400.0,
                                    "current_l1_a": 180.5, "protocol_id": 5010}))
    assert (served["power_kw"], served["voltage_l1_l2_v"], served["current_l1_a"]) == (123.4, 400.0, 180.5)


# -- Eastron SDM630 --------------------------------------------------------------------------
def test_sdm630_input_registers():
    meter = load_profile("load_meter")
    assert meter.function == "input"
    image = {}
    for address, value in ((52, 412500.0), (72, 1234.5), (70, 49.98), (200, 401.5), (202, 399.0),
                           (204, 400.2), (6, 650.0), (8, 640.0), (10, 655.0), (62, -0.92),
                           (60, 180000.0)):
        image.update(_float(address, value))
    out = decode(meter, image)
    assert out["power_kw"] == 412.5 and out["energy_total_kwh"] == 1234.5
    assert out["frequency_hz"] == pytest.approx(49.98)
    assert out["voltage_l1_l2_v"] == 401.5 and out["current_l3_a"] == 655.0
    assert out["power_factor"] == pytest.approx(-0.92)                  # reverse current
    assert out["reactive_power_kvar"] == 180.0


# -- SunSpec --------------------------------------------------------------------------------
def test_sunspec_health_from_103_or_701():
    inverter = load_profile("sunspec_inverter")
    values = {"frequency_hz": 50.01, "voltage_l1_l2_v": 400.5, "current_l1_a": 310.2,
              "power_factor": 0.98, "reactive_power_kvar": 12.3}
    out = decode(inverter, encode(inverter, values))
    assert {k: out[k] for k in values} == values
    assert inverter.point("power_factor").source == "model 103 point PF"   # percent: scale 0.01
    der = inverter.with_chain([(1, 66), (701, 153), (704, 65)], 40000)
    assert der.point("frequency_hz").type == "uint32"                     # 701 Hz
    assert der.point("voltage_l1_l2_v").source == "model 701 point VL1L2"
    assert der.point("power_factor").scale == 1.0                          # cos phi


def test_storage_health_round_trip():
    storage = load_profile("sunspec_storage")
    assert [m for m, _ in storage.models[-2:]] == [701, 713]  # the AC side, then 713 for its Sta
    values = {"current_a": -230.5, "cell_voltage_max_v": 3.345, "cell_voltage_min_v": 3.301,
              "module_temp_max_c": 31.4, "module_temp_min_c": 24.9, "charge_current_limit_a": 640.0,
              "discharge_current_limit_a": 650.0, "frequency_hz": 49.987, "voltage_l1_l2_v": 398.7,
              "current_l2_a": 281.3, "power_factor": 0.95, "reactive_power_kvar": -58.9}
    out = decode(storage, encode(storage, values))
    assert {k: out[k] for k in values} == pytest.approx(values)
