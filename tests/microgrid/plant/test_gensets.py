"""Genset rules of the kernel: base loads, sharing, unit choice, the diesel-only camp, fuel curve."""

from __future__ import annotations

import pytest
from toy_testkit import genset, toy_site

from microgrid.plant.gensets import (
    diesel_only_fuel_lph,
    genset_base_kw,
    genset_headroom_kw,
    least_fuel_units,
    marginal_fuel_l_per_kwh,
    share_by_rating,
    smallest_cover,
)
from microgrid.plant.sharing import share


def test_fuel_curve_and_its_integral():
    g = genset(rated_kw=400.0, fuel_f0_l_per_kwh_rated=0.08, fuel_f1_l_per_kwh=0.25)
    assert g.fuel_rate_lph(200.0) == pytest.approx(32.0 + 50.0)
    assert g.fuel_rate_lph(0.0, False) == 0.0
    assert g.fuel_l(energy_kwh=50.0, run_h=0.25) == pytest.approx(8.0 + 12.5)


def test_headroom_and_marginal_fuel():
    g = genset(rated_kw=400.0)
    assert genset_headroom_kw(g, 150.0) == pytest.approx(250.0)
    assert genset_headroom_kw(g, 0.0, 0.0) == 0.0  # stopped: nothing at short notice
    small = genset("dg-2", rated_kw=100.0, fuel_f1_l_per_kwh=0.27)
    assert marginal_fuel_l_per_kwh([small, g]) == pytest.approx(0.25)  # the least slope F1
    with pytest.raises(ValueError, match="no genset"):
        marginal_fuel_l_per_kwh([])


def test_base_load_within_min_and_rating():
    g = genset(rated_kw=400.0, min_load_pct=30.0)
    assert genset_base_kw(g, 50.0) == 120.0
    assert genset_base_kw(g, 250.0) == 250.0
    assert genset_base_kw(g, 900.0) == 400.0


def test_share_water_fills_over_caps():
    assert share(300.0, {"a": 1.0, "b": 1.0}, {"a": 100.0, "b": 500.0}) == {"a": 100.0, "b": 200.0}
    assert share(900.0, {"a": 1.0, "b": 1.0}, {"a": 100.0, "b": 500.0}) == {"a": 100.0, "b": 500.0}


def test_sharing_by_rating_respects_minimum_load():
    a, b = genset("a", rated_kw=400.0), genset("b", rated_kw=200.0)
    assert share_by_rating([a, b], 300.0) == {"a": pytest.approx(200.0), "b": pytest.approx(100.0)}
    assert share_by_rating([a, b], 90.0) == {"a": pytest.approx(120.0), "b": pytest.approx(60.0)}


def test_smallest_cover():
    a, b, c = genset("a", rated_kw=400.0), genset("b", rated_kw=400.0), genset("c", rated_kw=250.0)
    assert [g.name for g in smallest_cover([a, b, c], 200.0)] == ["c"]
    assert [g.name for g in smallest_cover([a, b, c], 300.0)] == ["a"]
    assert [g.name for g in smallest_cover([a, b, c], 600.0)] == ["b", "c"]
    assert [g.name for g in smallest_cover([a, b, c], 2000.0)] == ["b", "a", "c"]
    assert [g.name for g in smallest_cover([a, b, c], 2000.0, max_units=1)] == ["b"]
    assert smallest_cover([a, b, c], 0.0) == []


def test_least_fuel_units_cover_the_need_and_burn_least():
    big, small = genset("big", rated_kw=400.0), genset("small", rated_kw=250.0)
    # 200 kW with no reserve: the 250 kW unit at 80 % burns 0.08·250 + 0.25·200 = 70 L/h,
    # the 400 kW unit 0.08·400 + 50 = 82 L/h
    assert [g.name for g in least_fuel_units([big, small], [], 200.0, 200.0)] == ["small"]
    assert [g.name for g in least_fuel_units([big, small], [], 300.0, 200.0)] == ["big"]
    assert {g.name for g in least_fuel_units([small], [big], 500.0, 450.0)} == {"big", "small"}
    assert least_fuel_units([big], [], 0.0, 0.0) == []  # nothing to serve: nothing runs
    assert [g.name for g in least_fuel_units([big, small], [], 9999.0, 500.0)] == ["big", "small"]


def test_diesel_only_camp_runs_the_least_fuel_cover_with_reserve():
    site = toy_site()  # dg-1 400 kW, dg-2 250 kW, reserve 10 % of load
    # 240 kW + 10 % = 264 kW: dg-1 alone, 0.08·400 + 0.25·240
    assert diesel_only_fuel_lph(site, 240.0) == pytest.approx(32.0 + 60.0)
    # 200 kW + 10 % = 220 kW: dg-2 alone, 0.08·250 + 0.25·200
    assert diesel_only_fuel_lph(site, 200.0) == pytest.approx(20.0 + 50.0)
    # beyond both units with the reserve: every unit at full power
    assert diesel_only_fuel_lph(site, 600.0) == pytest.approx(0.08 * 650 + 0.25 * 650)
