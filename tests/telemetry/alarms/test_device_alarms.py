"""Device-reported alarms decoded to names from the published documents, and encoded back for
the virtual camp (telemetry.alarms.device)."""

from __future__ import annotations

from telemetry.alarms.device import device_alarms, encode_alarms
from telemetry.registers import decode, encode, load_profile


def _round_trip(profile_name: str, active: dict[str, int]) -> dict:
    profile = load_profile(profile_name)
    values = decode(profile, encode(profile, encode_alarms(profile, active)))
    groups = device_alarms(profile, values, "dev")
    return {c.code: c.severity for conds in groups.values() for c in conds}


def test_sunspec_103_evt1_names_come_from_the_json_model():
    inverter = load_profile("sunspec_inverter")
    # model 103 Evt1: bit 0 GROUND_FAULT, bit 7 OVER_TEMP (pysunspec2's model_103.json symbols)
    groups = device_alarms(inverter, {"alarm_bits": (1 << 0) | (1 << 7)}, "pv-north")
    [conditions] = groups.values()
    assert [(c.code, c.severity, c.value) for c in conditions] == [("sunspec_ground_fault", 2, 0.0),
                                                                 ("sunspec_over_temp", 2, 7.0)]
    assert "OVER_TEMP" in conditions[1].message and "model 103 point Evt1" in conditions[1].message
    assert device_alarms(inverter, {"alarm_bits": 0}, "pv-north") == {"device:pv-north:alarm_bits": []}
    assert device_alarms(inverter, {"alarm_bits": None}, "pv-north") == {}        # missing: not judged
    der = inverter.with_chain([(1, 66), (701, 153), (704, 65)], 40000)
    [c] = device_alarms(der, {"alarm_bits": 1 << 16}, "pv-north")["device:pv-north:alarm_bits"]
    assert c.code == "sunspec_manufacturer_alrm"                                  # 701 Alrm's 17th bit


def test_storage_802_warning_bits_are_warnings_and_713_sta_is_a_state():
    assert _round_trip("sunspec_storage", {"sunspec_over_temp_alarm": 2, "sunspec_under_soc_min_warning": 1,
                                           "sunspec_error": 2}) == {
        "sunspec_over_temp_alarm": 2, "sunspec_under_soc_min_warning": 1, "sunspec_error": 2}
    storage = load_profile("sunspec_storage")
    groups = device_alarms(storage, {"storage_status": 1, "alarm_bits": 0}, "bess-1")
    assert [c.code for c in groups["device:bess-1:storage_status"]] == ["sunspec_warning"]
    assert device_alarms(storage, {"storage_status": 0}, "bess-1")["device:bess-1:storage_status"] == []


def test_dse_page_8_nibbles():
    """GenComm page 8 offset 1: emergency stop in bits 13-16, low oil pressure 9-12, high coolant
    temperature 5-8, reserved 1-4; condition 3 = shutdown alarm, 2 = warning, 1 = not active."""
    dse = load_profile("dse_genset")
    raw = (1 << 12) | (3 << 8) | (2 << 4) | 15        # not active, shutdown, warning, unimplemented
    values = decode(dse, {2049: raw})
    [conds] = device_alarms(dse, values, "dg-1").values()
    assert [(c.code, c.severity, c.value) for c in conds] == [("dse_low_oil_pressure", 2, 3.0),
                                                          ("dse_high_coolant_temperature", 1, 2.0)]
    assert "shutdown alarm" in conds[0].message
    # 0 disabled, 8/9 inactive indications, 15 unimplemented: no alarm; 10 active indication: info
    assert not device_alarms(dse, {"alarm_conditions_2": 0x089F}, "dg-1")["device:dg-1:alarm_conditions_2"]
    [info] = device_alarms(dse, {"alarm_conditions_2": 0xA111}, "dg-1")["device:dg-1:alarm_conditions_2"]
    assert (info.code, info.severity) == ("dse_under_speed", 0)
    assert _round_trip("dse_genset", {"dse_emergency_stop": 2, "dse_low_fuel_level": 1}) == {
        "dse_emergency_stop": 2, "dse_low_fuel_level": 1}
    assert encode_alarms(dse, {})["alarm_conditions_1"] == 0x111F       # the reserved nibble: unimplemented


def test_victron_levels_and_tank_status():
    assert _round_trip("victron_gx_battery", {"victron_low_voltage": 2, "victron_cell_imbalance": 1}) == {
        "victron_low_voltage": 2, "victron_cell_imbalance": 1}
    assert _round_trip("victron_gx_tank", {"victron_tank_open_circuit": 1}) == {"victron_tank_open_circuit": 1}
    assert _round_trip("victron_gx_tank", {}) == {}
