"""Read blocks: the plan split, the one gating/cadence rule, the profiles' blocks, the served gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from telemetry.alarms.device import device_alarms, encode_alarms
from telemetry.readblocks import Block, BlockState, after_read, block_due, device_plan, every_cycles, phase
from telemetry.readplan import Read
from telemetry.register_profile import ProfileError, load_profile
from telemetry.registers import decode, encode

DSE = load_profile("dse_genset")
STORAGE = load_profile("sunspec_storage")


# -- the plan ---------------------------------------------------------------------------------
def test_dse_page_8_is_a_block_of_its_own_behind_page_3s_flags():
    plan = device_plan(DSE)
    page8 = [b for b in plan.blocks if b.block.gate == "alarm_flags"]
    assert len(page8) == 1 and page8[0].reads == (Read(2049, 15),)
    assert page8[0].gate_address == 774                          # page 3 offset 6
    assert all(not 2049 <= a < 2064 for r in plan.base for a in range(r.address, r.end))
    # the flags ride in page 3's read with the control mode: no request more than before
    assert Read(772, 3) in plan.base and len(plan.base) == 5
    assert len(plan.all_reads) == 6


def test_storage_713_status_is_read_apart_and_its_other_fields_stay_in_the_base():
    plan = device_plan(STORAGE)
    (block,) = plan.blocks
    assert block.block.fields == {"storage_status"} and block.gate_address is None
    sta = STORAGE.point("storage_status").address
    assert block.reads == (Read(sta, 1),)
    assert all(not r.address <= sta < r.end for r in plan.base)
    assert len(plan.base) == 2


def test_a_device_without_model_713_has_no_storage_block():
    chain = [m for m in STORAGE.models if m[0] != 713]
    profile = STORAGE.with_chain(chain, STORAGE.base_address)
    assert "storage_status" in profile.missing and device_plan(profile).blocks == ()


def test_a_profile_without_blocks_reads_everything_every_poll():
    plan = device_plan(load_profile("load_meter"))
    assert plan.blocks == () and plan.all_reads == plan.base


# -- the one rule -----------------------------------------------------------------------------
NEVER, READ_AT_0 = BlockState(), BlockState(next_cycle=12, gate_open=False)


@pytest.mark.parametrize("state, cycle, gated, gate_raw, due", [
    (NEVER, 0, True, 0, True),                                   # first poll: always
    (NEVER, 5, False, None, True),
    (READ_AT_0, 1, True, 0, False),                              # gate closed, not yet due
    (READ_AT_0, 1, True, 0x1000, True),                          # gate open: this poll
    (READ_AT_0, 1, True, 0xFFFF, True),                          # GenComm "unimplemented": open
    (READ_AT_0, 1, True, None, True),                            # flags not read: open
    (BlockState(12, gate_open=True), 2, True, 0, True),          # closed since the last read: closing read
    (READ_AT_0, 12, True, 0, True),                              # the refresh
    (READ_AT_0, 11, False, None, False),                         # cadence only
    (READ_AT_0, 12, False, None, True),
    (READ_AT_0, 3, False, 0x1000, False),                        # no gate: a gate value means nothing
])
def test_block_due(state, cycle, gated, gate_raw, due):
    assert block_due(state, cycle, gated, gate_raw) is due


def _run(block: Block, gates: list[int | None], interval_s: float = 5.0) -> list[int]:
    """The polls on which ``block`` is read, given the gate register on each poll."""
    state, read = BlockState(), []
    for cycle, raw in enumerate(gates):
        if block_due(state, cycle, block.gate is not None, raw):
            read.append(cycle)
            state = after_read(state, cycle, "dg-1", block, interval_s, raw)
    return read


def test_an_alarm_is_read_on_the_poll_it_is_flagged_and_its_clearing_on_the_poll_the_flags_drop():
    block = DSE.blocks[0]                                         # every 300 s: 60 polls of 5 s
    gates = [0] * 10 + [0x1000] * 3 + [0] * 10
    read = _run(block, gates)
    # the first poll, the three polls in alarm, one closing read (poll 13), then nothing
    assert read == [0, 10, 11, 12, 13]


def test_the_refresh_reads_what_the_flags_do_not_say_at_most_every_every_s():
    block = DSE.blocks[0]
    read = _run(block, [0] * 200, interval_s=5.0)
    first = phase("dg-1", block, 60)
    assert read[0] == 0 and read[1] == first and all(b - a == 60 for a, b in zip(read[1:], read[2:]))
    assert 1 <= first <= 60


def test_cadence_in_polls_from_seconds():
    b = Block("x", frozenset({"f"}), every_s=60.0)
    assert every_cycles(b, 5.0) == 12 and every_cycles(b, 60.0) == 1 and every_cycles(b, 120.0) == 1
    assert every_cycles(b, 1.0) == 60
    assert _run(b, [None] * 40, interval_s=60.0) == list(range(40))  # 60-s polls: every poll
    read = _run(b, [None] * 40, interval_s=5.0)
    assert read[0] == 0 and all(b2 - a == 12 for a, b2 in zip(read[1:], read[2:]))


def test_devices_refresh_on_different_polls():
    block = DSE.blocks[0]
    phases = {phase(f"dg-{i}", block, 60) for i in range(1, 7)}
    assert len(phases) > 1 and all(1 <= p <= 60 for p in phases)
    assert phase("dg-1", block, 60) == phase("dg-1", block, 60)


# -- profile errors name the file and the key ---------------------------------------------------
def _profile(tmp_path, blocks):
    data = json.loads(Path(load_profile("load_meter").source).read_text())
    data["read"] = {"blocks": blocks}
    path = tmp_path / "meter.json"
    path.write_text(json.dumps(data))
    return str(path)


@pytest.mark.parametrize("blocks, match", [
    ([{"fields": ["no_such_field"]}], "unknown field 'no_such_field'"),
    ([{"fields": ["power_kw"], "gate": "power_kw"}], "gate 'power_kw'"),
    ([{"fields": ["power_kw"], "every_s": 0}], "every_s must be a positive"),
    ([{"fields": ["power_kw"]}, {"fields": ["power_kw"]}], "in two blocks"),
    ([{"fields": ["power_kw"], "often": True}], "unknown key 'often'"),
    ([{"fields": []}], "non-empty list"),
    ([{"fields": ["power_kw"], "gate": "energy_total_kwh", "gate_bits": {"1": 16}}], "bit number"),
])
def test_bad_blocks_are_refused_naming_file_and_key(tmp_path, blocks, match):
    path = _profile(tmp_path, blocks)
    with pytest.raises(ProfileError, match=match) as err:
        load_profile(path)
    assert "meter.json" in str(err.value) and "read.blocks[" in str(err.value)


# -- what the virtual genset serves in the gate --------------------------------------------------
def test_the_virtual_genset_flags_warnings_and_shutdowns_but_not_indications():
    assert encode_alarms(DSE, {})["alarm_flags"] == 0
    assert encode_alarms(DSE, {"dse_low_oil_pressure": 2})["alarm_flags"] == 1 << 12
    assert encode_alarms(DSE, {"dse_low_oil_pressure": 1})["alarm_flags"] == 1 << 10
    assert encode_alarms(DSE, {"dse_bus_live": 0})["alarm_flags"] == 0  # an active indication


def test_flags_and_page_8_decode_back_to_the_alarm():
    values = decode(DSE, encode(DSE, encode_alarms(DSE, {"dse_low_oil_pressure": 2})))
    assert values["alarm_flags"] == 1 << 12
    groups = device_alarms(DSE, values, "dg-1")
    assert [c.code for c in groups["device:dg-1:alarm_conditions_1"]] == ["dse_low_oil_pressure"]
    assert "device:dg-1:alarm_flags" not in groups                  # the gate is no alarm point
