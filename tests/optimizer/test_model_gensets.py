"""The genset family's helpers: the warm-start seed a re-plan hands HiGHS must satisfy the model's
min up/down times and its symmetry order, or HiGHS drops it and starts from nothing."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import numpy as np
from optimizer_testkit import genset, site

from optimizer.model import build_model
from optimizer.model_gensets import seed_in_symmetry_order, seed_within_min_times, symmetry_groups
from optimizer.plan import PlanInputs, PlanState

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
START_H = np.arange(8) * 0.25  # eight 15-min steps


def test_seed_waits_for_min_up_and_min_down_counted_from_the_initial_state():
    s = site(gensets=[genset("dg-1", min_up_min=60, min_down_min=30)])
    # running for 15 min: a stop asked at once waits until the unit has run 60 min (step 3)
    state = PlanState({}, {"dg-1": True}, {"dg-1": 15.0})
    out = seed_within_min_times(s, {"dg-1": np.zeros(8)}, state, START_H)
    assert out["dg-1"].tolist() == [1, 1, 1, 0, 0, 0, 0, 0]
    # stopped long ago: a start at step 1, a stop at step 3 (too early: held to step 5), a start
    # at step 6 (15 min after that stop: held off to step 7)
    state = PlanState({}, {"dg-1": False}, {"dg-1": math.inf})
    seed = np.array([0, 1, 1, 0, 0, 0, 1, 1], dtype=float)
    assert seed_within_min_times(s, {"dg-1": seed}, state, START_H)["dg-1"].tolist() == [0, 1, 1, 1, 1, 0, 0, 1]
    # a start 15 min after the stop is delayed to 30 min after it
    seed = np.array([1, 1, 1, 1, 0, 1, 1, 1], dtype=float)
    assert seed_within_min_times(s, {"dg-1": seed}, state, START_H)["dg-1"].tolist() == [1, 1, 1, 1, 0, 0, 1, 1]


def _model(s):
    inputs = PlanInputs.regular(T0, 15, [300.0] * 8, [0.0] * 8)
    state = PlanState({}, {g.name: False for g in s.gensets}, {g.name: math.inf for g in s.gensets})
    return build_model(s, inputs, state)


def test_seed_hands_nested_schedules_to_interchangeable_units_in_order():
    s = site(gensets=[genset("dg-1"), genset("dg-2"), genset("dg-3", rated_kw=100.0)])
    m = _model(s)
    assert symmetry_groups(m) == [["dg-1", "dg-2"]]  # dg-3 differs: not interchangeable
    small = np.array([0, 0, 1, 1, 0, 0, 0, 0], dtype=float)
    large = np.array([0, 1, 1, 1, 1, 0, 0, 0], dtype=float)
    other = np.array([1, 0, 0, 0, 0, 0, 0, 1], dtype=float)
    out = seed_in_symmetry_order(m, {"dg-1": small, "dg-2": large, "dg-3": other})
    # the schedules nest: the longer one goes to the first unit, the unlike unit keeps its own
    assert out["dg-1"].tolist() == large.tolist() and out["dg-2"].tolist() == small.tolist()
    assert out["dg-3"] is other


def test_seed_stacks_overlapping_schedules_of_interchangeable_units():
    s = site(gensets=[genset("dg-1"), genset("dg-2")])
    m = _model(s)
    a = np.array([1, 1, 1, 1, 0, 0, 0, 0], dtype=float)
    b = np.array([0, 0, 1, 1, 1, 1, 0, 0], dtype=float)
    out = seed_in_symmetry_order(m, {"dg-1": a, "dg-2": b})
    # the same number of units each step, the first unit running whenever the second does
    assert out["dg-1"].tolist() == [1, 1, 1, 1, 1, 1, 0, 0]
    assert out["dg-2"].tolist() == [0, 0, 1, 1, 0, 0, 0, 0]
    np.testing.assert_array_equal(out["dg-1"] + out["dg-2"], a + b)


def test_units_with_different_histories_are_not_reordered():
    s = site(gensets=[genset("dg-1", min_down_min=60), genset("dg-2", min_down_min=60)])
    inputs = PlanInputs.regular(T0, 15, [300.0] * 8, [0.0] * 8)
    # dg-2 stopped 15 min ago (held off 45 min more), dg-1 long ago: not interchangeable
    state = PlanState({}, {"dg-1": False, "dg-2": False}, {"dg-1": math.inf, "dg-2": 15.0})
    m = build_model(s, inputs, state)
    assert symmetry_groups(m) == []
    seed = {"dg-1": np.zeros(8), "dg-2": np.ones(8)}
    assert seed_in_symmetry_order(m, seed) == seed
