"""Energy accounting on hand-checkable cases."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest
from testkit import EXAMPLE_SITE

from microgrid.accounting import EnergyRollup, camp_totals, co2_kg, renewable_fraction_pct
from microgrid.config import load_site

SITE = load_site(EXAMPLE_SITE)
T0 = datetime(2026, 10, 1, 0, 0, tzinfo=timezone.utc)


def cycle(load=500.0, pv=(100.0, 100.0, 50.0), gens=(200.0, 0.0, 0.0), bat=50.0, soc=60.0,
          counters=None, fuel_rate=None):
    d = {"camp-main": {"power_kw": load}, "bess-1": {"power_kw": bat, "soc_pct": soc}}
    for a, p in zip(SITE.pv_arrays, pv):
        d[a.name] = {"ac_power_kw": p}
    for g, p in zip(SITE.gensets, gens):
        d[g.name] = {"power_kw": p, "running": 1.0 if p > 0 else 0.0}
        if fuel_rate is not None:
            d[g.name]["fuel_rate_lph"] = fuel_rate if p > 0 else 0.0
    for name, value in (counters or {}).items():
        d[name]["energy_total_kwh"] = value
    return d


def test_renewable_fraction_and_co2():
    assert renewable_fraction_pct(250.0, 1000.0) == 75.0
    assert math.isnan(renewable_fraction_pct(0.0, 0.0))
    assert co2_kg(100.0, 2.68) == pytest.approx(268.0)


def test_camp_totals_sums_and_keeps_missing_missing():
    r = camp_totals(SITE, T0, cycle())
    assert r.fields["pv_kw"] == 250.0 and r.fields["genset_kw"] == 200.0
    assert r.fields["load_kw"] == 500.0 and r.fields["gensets_online"] == 1.0
    assert r.fields["renewable_share_pct"] == pytest.approx(60.0)
    d = cycle()
    d["pv-north"]["ac_power_kw"] = None
    d["pv-south"]["ac_power_kw"] = None
    d["pv-carport"] = {}
    assert "pv_kw" not in camp_totals(SITE, T0, d).fields


def test_rollup_integrates_power_over_a_bucket():
    roll = EnergyRollup(SITE, bucket_min=15, max_hold_s=60)
    out = []
    for i in range(0, 16 * 60 + 1, 30):  # every 30 s, past the first bucket end
        out += roll.add(T0 + timedelta(seconds=i), cycle())
    energy = [r for r in out if r.measurement == "energy"]
    assert len(energy) == 1 and energy[0].time == T0
    f = energy[0].fields
    assert f["load_kwh"] == pytest.approx(125.0)       # 500 kW × 0.25 h
    assert f["pv_kwh"] == pytest.approx(62.5)
    assert f["genset_kwh"] == pytest.approx(50.0)
    assert f["battery_discharge_kwh"] == pytest.approx(12.5)
    assert f["battery_charge_kwh"] == 0.0
    # fuel estimated from the curve: (0.08·400 + 0.25·200) L/h × 0.25 h = 20.5 L
    assert f["fuel_l"] == pytest.approx(20.5) and f["fuel_estimated_l"] == pytest.approx(20.5)
    assert f["co2_kg"] == pytest.approx(20.5 * 2.68)
    assert f["coverage_pct"] == pytest.approx(100.0)
    # diesel only: 500 kW (+10 % reserve = 550) → a 400 and the 250 kW unit sharing by rating:
    # 0.08·400 + 0.25·500·400/650 + 0.085·250 + 0.255·500·250/650 L/h, for 15 min
    expected = (32 + 0.25 * 500 * 400 / 650 + 21.25 + 0.255 * 500 * 250 / 650) / 4
    assert f["diesel_only_fuel_l"] == pytest.approx(expected)
    assert expected < (2 * (32 + 0.25 * 250)) / 4   # cheaper than both 400 kW units
    g = [r for r in out if r.measurement == "genset_energy" and r.device == "dg-1"][0].fields
    assert g["run_h"] == pytest.approx(0.25) and g["below_min_h"] == 0.0 and g["starts"] == 0.0


def test_rollup_prefers_counters_and_metered_fuel():
    roll = EnergyRollup(SITE, bucket_min=15, max_hold_s=60)
    out = []
    for i in range(0, 31):  # every 30 s for 15 min; the counter says 40 kWh, power says 50
        c = {"dg-1": 1000.0 + 40.0 * i / 30}
        out += roll.add(T0 + timedelta(seconds=30 * i), cycle(counters=c, fuel_rate=80.0))
    f = [r for r in roll.flush() + out if r.measurement == "energy"][0].fields
    assert f["genset_kwh"] == pytest.approx(40.0)
    assert f["fuel_l"] == pytest.approx(20.0) and f["fuel_estimated_l"] == 0.0


def test_gaps_lower_coverage_and_are_not_filled():
    roll = EnergyRollup(SITE, bucket_min=15, max_hold_s=60)
    roll.add(T0, cycle())
    roll.add(T0 + timedelta(minutes=5), cycle())      # 5 min gap: only 60 s counted
    roll.add(T0 + timedelta(minutes=5, seconds=30), cycle())
    f = [r for r in roll.flush() if r.measurement == "energy"][0].fields
    assert f["coverage_pct"] == pytest.approx(100 * 90 / 900)
    assert f["load_kwh"] == pytest.approx(500 * 90 / 3600)


def test_a_silent_meter_leaves_load_missing_not_zero():
    roll = EnergyRollup(SITE)
    out = []
    for i in range(0, 31):
        d = cycle()
        d["camp-main"] = {"power_kw": None}
        out += roll.add(T0 + timedelta(seconds=30 * i), d)
    f = [r for r in out if r.measurement == "energy"][0].fields
    assert "load_kwh" not in f and f["coverage_pct"] == 0.0
    assert f["pv_kwh"] == pytest.approx(62.5)


def test_below_min_load_and_starts_are_counted():
    roll = EnergyRollup(SITE)
    roll.add(T0, cycle(gens=(0.0, 0.0, 0.0)))
    roll.add(T0 + timedelta(seconds=60), cycle(gens=(100.0, 0.0, 0.0)))  # start, below 120 kW
    roll.add(T0 + timedelta(seconds=120), cycle(gens=(100.0, 0.0, 0.0)))
    g = [r for r in roll.flush() if r.measurement == "genset_energy" and r.device == "dg-1"][0]
    assert g.fields["starts"] == 1.0
    assert g.fields["below_min_h"] == pytest.approx(60 / 3600)


def test_diesel_only_counterfactual_picks_least_fuel_set():
    from microgrid.accounting import diesel_only_fuel_lph
    # 200 kW (+10 % reserve = 220): the 250 kW unit alone: 0.085·250 + 0.255·200 = 72.25 L/h
    assert diesel_only_fuel_lph(SITE, 200.0) == pytest.approx(72.25)
    # 30 kW: 250 kW unit at its 75 kW minimum: 21.25 + 0.255·75 = 40.375 L/h
    assert diesel_only_fuel_lph(SITE, 30.0) == pytest.approx(40.375)
