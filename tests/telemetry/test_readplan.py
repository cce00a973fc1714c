"""Read planning: merging ranges into few reads within gap and length limits."""

import pytest

from telemetry.readplan import Read, merge_results, plan_reads, profile_reads
from telemetry.registers import load_profile


def test_contiguous_and_overlapping_ranges_merge():
    assert plan_reads([(10, 2), (12, 3), (11, 1)]) == [Read(10, 5)]


def test_small_gap_is_read_through_large_gap_splits():
    assert plan_reads([(0, 2), (5, 1)], max_gap_registers=3) == [Read(0, 6)]
    assert plan_reads([(0, 2), (6, 1)], max_gap_registers=3) == [Read(0, 2), Read(6, 1)]
    assert plan_reads([(0, 2), (2, 1)], max_gap_registers=0) == [Read(0, 3)]
    assert plan_reads([(0, 2), (3, 1)], max_gap_registers=0) == [Read(0, 2), Read(3, 1)]


def test_read_length_limit():
    assert plan_reads([(0, 100), (110, 20)], max_gap_registers=20) == [Read(0, 100), Read(110, 20)]
    assert plan_reads([(0, 300)]) == [Read(0, 125), Read(125, 125), Read(250, 50)]
    assert plan_reads([(0, 10), (10, 10)], max_registers_per_read=15) == [Read(0, 15), Read(15, 5)]


def test_unsorted_input_and_empty():
    assert plan_reads([(50, 1), (0, 1), (49, 1)], max_gap_registers=0) == [Read(0, 1), Read(49, 2)]
    assert plan_reads([]) == []


@pytest.mark.parametrize("kwargs", [{"max_gap_registers": -1}, {"max_registers_per_read": 126},
                                    {"max_registers_per_read": 0}])
def test_bad_limits(kwargs):
    with pytest.raises(ValueError):
        plan_reads([(0, 1)], **kwargs)


def test_bad_range():
    with pytest.raises(ValueError, match="address 7"):
        plan_reads([(7, 0)])


def test_profile_plans():
    # inverter: AphA..St (40073..40108, the health points from A) and the 123 controls with
    # their SF (40127..40145): the 18-register gap is within max_gap_registers (64): one read
    assert profile_reads(load_profile("sunspec_inverter")) == [Read(40073, 73)]
    # meter: phase currents 6..11 and power..energy 52..73 joined (gap 40 <= 48), L-L volts apart
    assert profile_reads(load_profile("load_meter")) == [Read(6, 68), Read(200, 6)]
    genset = profile_reads(load_profile("dse_genset"))
    assert Read(1024, 26) in genset and all(r.count <= 125 for r in genset)   # page 4 0..25


def test_merge_results_skips_failed_reads():
    reads = [Read(10, 2), Read(20, 1)]
    assert merge_results(reads, [[1, 2], None]) == {10: 1, 11: 2}
