"""Register profiles: loading and validation, the one decode, encode, writes (both sides)."""

import json
import math
import struct

import pytest

from telemetry.registers import (
    NotWritableError,
    OutOfLimitsError,
    ProfileError,
    Write,
    WriteError,
    decode,
    decode_write,
    dse_sentinel,
    encode,
    load_profile,
    plan_write,
)

PROFILES = ("sunspec_inverter", "sunspec_storage", "dse_genset", "load_meter")


@pytest.fixture(scope="module")
def inverter():
    return load_profile("sunspec_inverter")


@pytest.fixture(scope="module")
def storage():
    return load_profile("sunspec_storage")


@pytest.fixture(scope="module")
def genset():
    return load_profile("dse_genset")


@pytest.mark.parametrize("name", PROFILES)
def test_every_profile_loads_and_maps_design_fields(name):
    p = load_profile(name)
    fields = {pt.field for pt in p.points}
    required = {"pv_inverter": {"ac_power_kw", "energy_total_kwh", "power_limit_pct", "status"},
                "battery": {"power_kw", "soc_pct", "soh_pct", "voltage_v", "temp_c",
                            "charge_limit_kw", "discharge_limit_kw"},
                "genset": {"power_kw", "running", "load_pct", "fuel_rate_lph", "fuel_level_pct",
                           "run_hours_h", "starts", "energy_total_kwh"},
                "load_meter": {"power_kw", "energy_total_kwh"}}[p.measurement]
    assert required <= fields


def test_sunspec_addresses_come_from_the_model_chain(inverter):
    # SunS at 40000, model 1 at 40002 (L 66), model 103 at 40070 (W at +14), 123 at 40122
    assert inverter.models == ((1, 66), (103, 50), (123, 24))
    w = inverter.point("ac_power_kw")
    assert (w.address, w.sf_address, w.type) == (40084, 40085, "int16")
    assert inverter.point("power_limit_pct").address == 40127
    assert inverter.point("power_limit_pct").enable == ((40131, (1,)),)
    moved = inverter.with_chain([(1, 66), (120, 26), (103, 50), (123, 24)], 0)
    assert moved.point("ac_power_kw").address == 2 + 68 + 28 + 14


def _bad_profile(tmp_path, points, **extra):
    data = {"name": "bad", "kind": "registers", "measurement": "load_meter", "points": points,
            **extra}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    return str(path)


@pytest.mark.parametrize("points, message", [
    ([{"field": "power_kw", "address": 1, "type": "float33"}], r"points\[0\] \(power_kw\)\.type"),
    ([{"field": "power_kw", "address": 1}], r"points\[0\] \(power_kw\): needs"),
    ([{"field": "power_kw", "address": 1, "type": "int16", "scael": 1}], r"power_kw\)\.scael"),
    ([{"field": "x", "address": 1, "type": "int32", "access": "RW"}], "writable point needs"),
    ([{"field": "x", "address": 1, "type": "int16"}, {"field": "x", "address": 2, "type": "int16"}],
     "mapped twice"),
    ([{"field": "x", "address": "abc", "type": "int16"}], r"points\[0\] \(x\): invalid"),
    ([{"field": "x", "address": 1, "type": "int16", "scale": 0}], r"\(x\)\.scale: must not be 0"),
    ([{"field": "x", "address": 1, "type": "int16", "of": "y"}], r"points \(x\)\.of: unknown field 'y'"),
])
def test_bad_profile_names_file_and_point(tmp_path, points, message):
    path = _bad_profile(tmp_path, points)
    with pytest.raises(ProfileError, match=message) as info:
        load_profile(path)
    assert str(info.value).startswith(path)


def test_bad_profile_level_keys(tmp_path):
    point = [{"field": "x", "address": 1, "type": "int16"}]
    with pytest.raises(ProfileError, match="sentinels: 'sunspek' is not one of"):
        load_profile(_bad_profile(tmp_path, point, sentinels="sunspek"))
    with pytest.raises(ProfileError, match="modles: unknown key"):
        load_profile(_bad_profile(tmp_path, point, modles=[1]))


def test_bad_sunspec_point_and_missing_scale_factor(tmp_path):
    path = tmp_path / "ss.json"
    base = {"name": "ss", "kind": "sunspec", "measurement": "pv_inverter", "models": [103]}
    path.write_text(json.dumps({**base, "points": [{"field": "p", "model": 103, "point": "Watts"}]}))
    with pytest.raises(ProfileError, match=r"points\[0\] \(p\).*Watts"):
        load_profile(str(path))
    path.write_text(json.dumps({**base, "points": [{"field": "p", "model": 103, "point": "W"}]}))
    with pytest.raises(ProfileError, match=r"scale_factors\.103\.W_SF"):
        load_profile(str(path))


def test_unknown_profile_lists_the_known_ones():
    with pytest.raises(ProfileError, match="sunspec_inverter"):
        load_profile("no_such_profile")


def _inverter_image(inverter, w_raw, w_sf_raw, wh=(0, 0), wh_sf_raw=0):
    image = encode(inverter, {})
    image.update({40084: w_raw, 40085: w_sf_raw, 40094: wh[0], 40095: wh[1], 40096: wh_sf_raw})
    return image


def test_decode_scales_with_the_device_scale_factor(inverter):
    image = _inverter_image(inverter, 12345, 0xFFFF, (0x0001, 0x86A0), 0)   # W_SF -1, WH 100000
    values = decode(inverter, image)
    assert values["ac_power_kw"] == 1.2345           # 12345 x 10^-1 W = 1.2345 kW
    assert values["energy_total_kwh"] == 100.0


def test_decode_sentinels_and_missing_registers_are_none(inverter):
    values = decode(inverter, _inverter_image(inverter, 0x8000, 0))
    assert values["ac_power_kw"] is None
    assert values["energy_total_kwh"] is None        # acc32 0 = not accumulated
    assert decode(inverter, _inverter_image(inverter, 100, 0x8000))["ac_power_kw"] is None
    assert decode(inverter, {})["ac_power_kw"] is None


def test_encode_decode_round_trip_inverter(inverter):
    values = {"ac_power_kw": 123.45, "energy_total_kwh": 45678.0, "status": 4,
              "power_limit_pct": 80.0, "power_limit_revert_s": 300}
    image = encode(inverter, values)
    assert [image[40000], image[40001]] == [0x5375, 0x6E53]
    assert [image[40070], image[40071]] == [103, 50]
    assert [image[40148], image[40149]] == [0xFFFF, 0]          # end marker
    assert image[40084] == 12345 and image[40085] == 1          # W_SF = 1: 10 W steps
    out = decode(inverter, image)
    assert {k: out[k] for k in values} == values
    assert all(out[k] is None for k in set(out) - set(values))  # health points not served


def test_battery_sign_and_percent_of_rating(storage):
    values = {"power_kw": -123.4, "soc_pct": 55.5, "soh_pct": 98.0, "voltage_v": 760.2,
              "temp_c": 27.3, "capacity_kwh": 1000.0, "charge_rated_kw": 500.0,
              "discharge_rated_kw": 500.0, "charge_limit_kw": 250.0, "discharge_limit_kw": None}
    image = encode(storage, values)
    assert image[storage.point("charge_limit_kw").address] == 500    # InWRte 50.0 %, SF -1
    out = decode(storage, image)
    assert out["power_kw"] == -123.4                                  # + discharge / - charge
    assert out["charge_limit_kw"] == 250.0
    assert out["discharge_limit_kw"] == 500.0                         # None served as 100 %
    assert out["limits_revert_s"] is None


def test_dse_sentinels_decode_to_none(genset):
    image = encode(genset, {"mode": "auto", "power_kw": 250.0, "fuel_level_pct": 80,
                            "run_hours_h": 1.5, "starts": 3})
    assert decode(genset, image)["run_hours_h"] == 1.5
    # unsigned points: the top 8 values of 0..0xFFFF(FFFF); signed points (GenComm 1.29,
    # "Unimplemented register and field values"): the top 8 below 0x7FFF(FFFF)
    for regs, address, field in [([0xFFFF], 1027, "fuel_level_pct"),
                                 ([0xFFFE], 1027, "fuel_level_pct"),
                                 ([0xFFF8], 1027, "fuel_level_pct"),
                                 ([0x7FFF, 0xFFFC], 1536, "power_kw"),
                                 ([0x7FFC], 1025, "coolant_temp_c"),
                                 ([0xFFFF, 0xFFFF], 1808, "starts")]:
        broken = dict(image)
        broken.update(zip(range(address, address + len(regs)), regs))
        assert decode(genset, broken)[field] is None, (field, regs)
    image[1027] = 0xFFF7                                # just below the reserved range
    assert decode(genset, image)["fuel_level_pct"] == 0xFFF7
    image[1536], image[1537] = 0xFFFF, 0xFFFC           # signed: -4 W, a value, not a sentinel
    assert decode(genset, image)["power_kw"] == -0.004
    image[1025] = 0xFFFF                                # -1 degC coolant: a value
    assert decode(genset, image)["coolant_temp_c"] == -1
    assert dse_sentinel([0xFFFE]) == "over measurable range"
    assert dse_sentinel([0xFFFF, 0xFFFC]) == "transducer fault"
    assert dse_sentinel([0x7FFE], signed=True) == "over measurable range"
    assert dse_sentinel([0x7FFD], signed=True) == "under measurable range"
    assert dse_sentinel([0xFFFF], signed=True) is None
    assert dse_sentinel([0x0001]) is None
    served = encode(genset, {"load_pct": None, "coolant_temp_c": None, "oil_pressure_kpa": None})
    assert served[1558] == 0x7FFF and served[1025] == 0x7FFF and served[1024] == 0xFFFF


def test_dse_values(genset):
    image = encode(genset, {"mode": "run", "running": 1, "power_kw": 250.5, "load_pct": 62.6,
                            "run_hours_h": 100.5, "energy_total_kwh": 12345.6, "starts": 42})
    assert image[772] == 2 and image[1030] == 1500
    assert [image[1536], image[1537]] == [0x0003, 0xD284]           # 250500 W, int32
    assert [image[1798], image[1799]] == [0x0005, 0x8548]           # 361800 s
    out = decode(genset, image)
    assert (out["mode"], out["running"], out["power_kw"], out["load_pct"]) == ("run", 1, 250.5, 62.6)
    assert (out["run_hours_h"], out["energy_total_kwh"], out["starts"]) == (100.5, 12345.6, 42)
    assert out["fuel_level_pct"] is None                            # not served: 0xFFFF


def test_load_meter_float32_and_nan():
    meter = load_profile("load_meter")
    image = encode(meter, {"power_kw": 412.5, "energy_total_kwh": None})
    assert struct.pack(">HH", image[52], image[53]) == struct.pack(">f", 412500.0)
    out = decode(meter, image)
    assert out["power_kw"] == 412.5 and out["energy_total_kwh"] is None
    assert all(v is None for k, v in out.items() if k != "power_kw")   # NaN served: missing


# --------------------------------------------------------------------------------- writes

def test_control_keys_are_key_and_ones_complement(genset):
    plan = plan_write(genset, "mode", "run")
    assert plan.writes == (Write(4104, (35702, 29833)), Write(4104, (35705, 29830)))
    assert plan_write(genset, "mode", "stop").writes == (Write(4104, (35700, 29835)),)
    assert plan_write(genset, "mode", "auto").writes == (Write(4104, (35701, 29834)),)
    with pytest.raises(OutOfLimitsError, match="stop, auto, run"):
        plan_write(genset, "mode", "test")


def test_plan_write_scale_factor_enable_and_clamp(inverter):
    plan = plan_write(inverter, "power_limit_pct", 55.5)
    assert plan.writes == (Write(40127, (555,)), Write(40131, (1,)))   # SF -1, then WMaxLim_Ena
    clamped = plan_write(inverter, "power_limit_pct", 130)
    assert (clamped.value, clamped.clamped, clamped.writes[0]) == (100.0, True, Write(40127, (1000,)))
    with pytest.raises(OutOfLimitsError, match=r"outside \[0, 100\]"):
        plan_write(inverter, "power_limit_pct", -5, clamp=False)
    with pytest.raises(OutOfLimitsError, match="not finite"):
        plan_write(inverter, "power_limit_pct", math.nan)


def test_plan_write_uses_the_device_scale_factor(inverter):
    image = encode(inverter, {})
    image[40145] = 0                                     # device serves WMaxLimPct_SF = 0
    assert plan_write(inverter, "power_limit_pct", 55, image).writes[0] == Write(40127, (55,))


def test_writing_a_read_only_or_unknown_field_raises(inverter):
    with pytest.raises(NotWritableError, match="read-only"):
        plan_write(inverter, "ac_power_kw", 5)
    with pytest.raises(NotWritableError, match="no field"):
        plan_write(inverter, "nope", 5)


def test_percentage_setpoint_needs_and_respects_the_rating(storage):
    image = encode(storage, {"charge_rated_kw": 500.0, "discharge_rated_kw": 400.0})
    plan = plan_write(storage, "discharge_limit_kw", 100, image)
    assert plan.writes[0] == Write(storage.point("discharge_limit_kw").address, (250,))  # 25.0 %
    assert plan_write(storage, "discharge_limit_kw", 600, image).value == 400.0
    with pytest.raises(WriteError, match="discharge_rated_kw"):
        plan_write(storage, "discharge_limit_kw", 100)


def test_decode_write_round_trips_plan_write(inverter, storage, genset):
    image = encode(inverter, {"power_limit_pct": 100})
    w = plan_write(inverter, "power_limit_pct", 42).writes
    assert decode_write(inverter, w[0].address, w[0].registers, image) == [("power_limit_pct", 42.0)]
    assert decode_write(inverter, w[1].address, w[1].registers, image) == []      # enable
    simage = encode(storage, {"charge_rated_kw": 500.0, "discharge_rated_kw": 500.0})
    w = plan_write(storage, "charge_limit_kw", 125, simage).writes[0]
    assert decode_write(storage, w.address, w.registers, simage) == [("charge_limit_kw", 125.0)]
    gimage = encode(genset, {})
    assert decode_write(genset, 4104, [35702, 29833], gimage) == []                # manual only
    assert decode_write(genset, 4104, [35705, 29830], gimage) == [("mode", "run")]
    assert decode_write(genset, 4104, [35700, 29835], gimage) == [("mode", "stop")]


@pytest.mark.parametrize("address, regs, error", [
    (4104, [35700, 1234], OutOfLimitsError),       # bad complement
    (4104, [35700], OutOfLimitsError),             # key without complement
    (4104, [35799, 65535 - 35799], OutOfLimitsError),   # unsupported key
    (772, [1], NotWritableError),                  # control mode is read at 772, not written
    (1536, [0, 1], NotWritableError),              # power is read-only
    (3000, [1], NotWritableError),                 # nothing there
    (51200, [60001], OutOfLimitsError),            # base load 6000.1 kW > 6000
])
def test_decode_write_refuses(genset, address, regs, error):
    with pytest.raises(error):
        decode_write(genset, address, regs, encode(genset, {}))


def test_decode_write_refuses_out_of_limit_sunspec(inverter):
    with pytest.raises(OutOfLimitsError):
        decode_write(inverter, 40127, [1001], encode(inverter, {}))    # 100.1 %


def test_encode_collects_errors_instead_of_raising(inverter):
    with pytest.raises(ValueError, match="field ac_power_kw"):
        encode(inverter, {"ac_power_kw": 1e6})          # > int16 at W_SF = 1
    errors = []
    image = encode(inverter, {"ac_power_kw": 1e6, "status": "MPPT", "energy_total_kwh": 5.0}, errors)
    assert len(errors) == 2 and "ac_power_kw" in errors[0] and "status" in errors[1]
    out = decode(inverter, image)
    assert out["ac_power_kw"] is None and out["status"] is None and out["energy_total_kwh"] == 5.0


def test_discovered_chain_picks_alternative_models(inverter):
    der = inverter.with_chain([(1, 66), (701, 153), (704, 65)], 40000)
    w = der.point("ac_power_kw")
    assert (w.address, w.sf_address) == (40070 + 10, 40070 + 116)      # 701 W, W_SF
    assert der.point("energy_total_kwh").type == "uint64"               # 701 TotWhInj
    limit = der.point("power_limit_pct")
    start_704 = 40070 + 155
    assert (limit.address, limit.enable) == (start_704 + 15, ((start_704 + 14, (1,)),))
    assert der.missing == ("status",)
    assert decode(der, {})["status"] is None
    with pytest.raises(WriteError, match="scale factor is unknown"):
        plan_write(der, "power_limit_pct", 50)                           # SF only from the device
    image = {limit.sf_address: 0}
    assert plan_write(der, "power_limit_pct", 50, image).writes[0] == Write(start_704 + 15, (50,))
    single = inverter.with_chain([(1, 66), (101, 50), (123, 24)], 40000)
    assert single.point("ac_power_kw").address == 40084 and single.missing == ()


def test_storage_without_802_falls_back_to_713_and_124(storage):
    other = storage.with_chain([(1, 66), (103, 50), (713, 7), (124, 24)], 40000)
    assert other.point("soc_pct").address == 40002 + 68 + 52 + 4        # 713 SoC at offset 4
    assert other.point("power_kw").address == 40070 + 14                 # 103 W
    assert set(other.missing) == {"voltage_v", "temp_c", "discharge_rated_kw", "current_a",
                                  "cell_voltage_max_v", "cell_voltage_min_v", "module_temp_max_c",
                                  "module_temp_min_c", "charge_current_limit_a",
                                  "discharge_current_limit_a", "alarm_bits"}  # 802 Evt1
    assert other.point("frequency_hz").address == 40070 + 16            # AC side from 103 Hz
