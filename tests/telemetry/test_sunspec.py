"""SunSpec layouts from pysunspec2's JSON models, raw values, sentinels, the model chain.

Expected offsets are the SunSpec information-model tables (offset 0 = the ID register).
"""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telemetry import sunspec
from telemetry.sunspec import (
    build_chain,
    chain_addresses,
    decode_model,
    encode_model,
    load_model,
    parse_chain,
    raw_registers,
    raw_value,
    scaled,
)


@pytest.mark.parametrize("model_id, length", [(1, 66), (103, 50), (123, 24), (124, 24),
                                              (802, 62), (713, 7), (701, 153)])
def test_model_lengths_match_the_spec(model_id, length):
    assert load_model(model_id).body_length() == length


@pytest.mark.parametrize("model_id, point, offset, ptype, size, sf", [
    (1, "Mn", 2, "string", 16, None),
    (1, "SN", 50, "string", 16, None),
    (1, "DA", 66, "uint16", 1, None),
    (103, "A", 2, "uint16", 1, "A_SF"),
    (103, "W", 14, "int16", 1, "W_SF"),
    (103, "W_SF", 15, "sunssf", 1, None),
    (103, "WH", 24, "acc32", 2, "WH_SF"),
    (103, "WH_SF", 26, "sunssf", 1, None),
    (103, "St", 38, "enum16", 1, None),
    (103, "Evt1", 40, "bitfield32", 2, None),
    (123, "WMaxLimPct", 5, "uint16", 1, "WMaxLimPct_SF"),
    (123, "WMaxLimPct_RvrtTms", 7, "uint16", 1, None),
    (123, "WMaxLim_Ena", 9, "enum16", 1, None),
    (123, "WMaxLimPct_SF", 23, "sunssf", 1, None),
    (124, "WChaMax", 2, "uint16", 1, "WChaMax_SF"),
    (124, "StorCtl_Mod", 5, "bitfield16", 1, None),
    (124, "OutWRte", 12, "int16", 1, "InOutWRte_SF"),
    (124, "InWRte", 13, "int16", 1, "InOutWRte_SF"),
    (124, "InOutWRte_RvrtTms", 15, "uint16", 1, None),
    (124, "InOutWRte_SF", 25, "sunssf", 1, None),
    (802, "SoC", 11, "uint16", 1, "SoC_SF"),
    (802, "SoH", 13, "uint16", 1, "SoH_SF"),
    (802, "NCyc", 14, "uint32", 2, None),
    (802, "V", 34, "uint16", 1, "V_SF"),
    (802, "W", 47, "int16", 1, "W_SF"),
    (802, "W_SF", 63, "sunssf", 1, None),
])
def test_point_offsets_match_the_spec(model_id, point, offset, ptype, size, sf):
    p = load_model(model_id).point(point)
    assert (p.offset, p.type, p.size, p.sf) == (offset, ptype, size, sf)


def test_write_access_comes_from_the_definition():
    assert load_model(123).point("WMaxLimPct").access == "RW"
    assert load_model(103).point("W").access == "R"


def test_repeating_groups_fixed_part_and_repeat_length():
    mppt = load_model(160)                  # module group repeats, count from L
    assert (mppt.fixed_length, mppt.repeat.length, mppt.repeat.count_point) == (10, 20, None)
    assert mppt.repeats_in(8 + 2 * 20) == 2
    bank = load_model(803)                  # string group repeats NStr times
    assert (bank.body_length(), bank.repeat.length, bank.repeat.count_point) == (26, 32, "NStr")
    assert bank.body_length(repeats=3) == 26 + 96


def test_unknown_model_and_point_name_the_model():
    with pytest.raises(KeyError, match="model 99999"):
        load_model(99999)
    with pytest.raises(KeyError, match="103.*Nope"):
        load_model(103).point("Nope")


@pytest.mark.parametrize("ptype, regs", [
    ("int16", [0x8000]), ("uint16", [0xFFFF]), ("acc16", [0]), ("enum16", [0xFFFF]),
    ("bitfield16", [0xFFFF]), ("sunssf", [0x8000]), ("int32", [0x8000, 0]),
    ("uint32", [0xFFFF, 0xFFFF]), ("acc32", [0, 0]), ("bitfield32", [0xFFFF, 0xFFFF]),
    ("enum32", [0xFFFF, 0xFFFF]), ("int64", [0x8000, 0, 0, 0]), ("acc64", [0, 0, 0, 0]),
    ("uint64", [0xFFFF] * 4), ("string", [0] * 8), ("float32", [0x7FC0, 0]), ("pad", [0x8000]),
])
def test_not_implemented_is_none_never_zero(ptype, regs):
    assert raw_value(ptype, regs) is None


@pytest.mark.parametrize("ptype, regs, expected", [
    ("int16", [0xFFFF], -1), ("int16", [0x7FFF], 32767), ("uint16", [0xFFFE], 65534),
    ("sunssf", [0xFFFE], -2), ("int32", [0xFFFF, 0xFFFE], -2), ("acc32", [0x0001, 0x0000], 65536),
    ("uint64", [0, 0, 1, 2], 65538), ("string", [0x4142, 0x4300, 0], "ABC"),
    ("float32", [0x4049, 0x0FDB], pytest.approx(math.pi, rel=1e-6)),
])
def test_raw_values(ptype, regs, expected):
    assert raw_value(ptype, regs) == expected


def test_raw_value_without_sentinels_is_the_plain_integer():
    assert raw_value("uint16", [0xFFFF], sentinels=False) == 0xFFFF
    assert raw_value("acc32", [0, 0], sentinels=False) == 0


def test_raw_registers_round_trip_and_overflow():
    assert raw_registers("int16", 1, -2) == [0xFFFE]
    assert raw_registers("acc32", 2, 70000) == [1, 4464]
    assert raw_registers("int16", 1, None) == [0x8000]
    assert raw_registers("uint32", 2, None) == [0xFFFF, 0xFFFF]
    assert raw_registers("string", 2, "ABCDE") == [0x4142, 0x4344]
    with pytest.raises(ValueError, match="uint16"):
        raw_registers("uint16", 1, 70000)


def test_scaled_is_exact_for_negative_exponents():
    assert scaled(12345, -1) == 1234.5
    assert scaled(12345, 2) == 1234500.0
    assert scaled(12345, None) is None and scaled(None, 0) is None


def _model_103_block(w, w_sf, wh=(0, 0), wh_sf=0):
    block = [0] * 52
    block[0], block[1] = 103, 50
    block[14], block[15] = w, w_sf
    block[24:26], block[26] = list(wh), wh_sf
    block[38] = 4
    return block


def test_decode_model_applies_dynamic_scale_factors():
    values = decode_model(load_model(103), _model_103_block(12345, 0xFFFF, (1, 4464), 0xFFFD))
    assert values["W"] == 1234.5          # W = 12345, W_SF = -1
    assert values["W_SF"] == -1
    assert values["WH"] == 70.0           # WH = 70000, WH_SF = -3
    assert values["St"] == 4


def test_decode_model_missing_scale_factor_gives_none():
    values = decode_model(load_model(103), _model_103_block(12345, 0x8000))
    assert values["W"] is None
    assert values["WH"] is None           # acc32 0 = not accumulated


def test_encode_then_decode_model():
    m = load_model(103)
    regs = encode_model(m, {"W": 1234.5, "WH": 9000, "St": 4}, {"W_SF": -1, "WH_SF": 0})
    assert len(regs) == m.fixed_length and regs[:2] == [103, 50]
    assert regs[14:16] == [12345, 0xFFFF]
    values = decode_model(m, regs)
    assert (values["W"], values["WH"], values["St"]) == (1234.5, 9000.0, 4)
    assert values["A"] is None and values["TmpCab"] is None  # not served -> not implemented


def test_encode_model_names_the_point_that_does_not_fit():
    with pytest.raises(ValueError, match="model 103 point W"):
        encode_model(load_model(103), {"W": 220000}, {"W_SF": 0})


def test_chain_build_and_parse():
    blocks = [encode_model(load_model(1), {"Mn": "camp"}), encode_model(load_model(103), {})]
    regs = build_chain(blocks)
    assert regs[:2] == [0x5375, 0x6E53] and regs[-2:] == [0xFFFF, 0]
    assert parse_chain(regs, 40000) == [(1, 66, 40002), (103, 50, 40070)]
    assert chain_addresses([(1, 66), (103, 50)], 40000) == {1: 40002, 103: 40070}
    assert decode_model(load_model(1), regs[2:70])["Mn"] == "camp"


def test_parse_chain_needs_the_marker():
    with pytest.raises(ValueError, match="SunS"):
        parse_chain([0, 0, 1, 66], 0)


def test_constants():
    assert sunspec.SUNS_MARKER == (0x5375, 0x6E53)
    assert sunspec.BASE_ADDRESSES == (40000, 0, 50000)


@given(st.sampled_from(["int16", "uint16", "int32", "uint32", "int64", "acc32"]), st.data())
def test_raw_round_trip(ptype, data):
    size = sunspec.TYPE_SIZE[ptype]
    bits = 16 * size
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if ptype.startswith("int") else (0, (1 << bits) - 1)
    not_implemented = raw_registers(ptype, size, None)
    value = data.draw(st.integers(lo, hi).filter(
        lambda v: raw_registers(ptype, size, v) != not_implemented))
    assert raw_value(ptype, raw_registers(ptype, size, value)) == value
