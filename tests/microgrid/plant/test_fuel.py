"""Stock, burn and autonomy (microgrid.plant.fuel): hand-checked on the example camp's tanks.

Example camp: bulk-1 (80,000 L, ± 400 L), day tanks dg-1/dg-2 2,000 L, dg-3 1,200 L; dg-1's fuel
curve F = 0.08 · 400 + 0.25 · P [L/h].
"""

from __future__ import annotations

import math

import pytest
from testkit import EXAMPLE_SITE

from microgrid.config import load_site
from microgrid.plant.fuel import (
    autonomy_days,
    genset_fuel_rate_lph,
    planned_burn_l_per_day,
    site_burn,
    site_stock,
)

SITE = load_site(EXAMPLE_SITE)
DG1 = SITE.gensets[0]


def _levels(bulk=40000.0, status=0, dg=(50.0, 50.0, 50.0)):
    out = {"bulk-1": {"volume_l": bulk, "gauge_status": status}}
    out.update({g.name: {"fuel_level_pct": pct} for g, pct in zip(SITE.gensets, dg)})
    return out


def test_stock_is_bulk_plus_day_tanks_with_their_tolerances():
    stock = site_stock(SITE, _levels(40000.0, dg=(50.0, 25.0, 100.0)))
    assert stock.stock_l == 40000.0 + 1000.0 + 500.0 + 1200.0
    assert stock.by_tank_l == {"bulk-1": 40000.0, "dg-1": 1000.0, "dg-2": 500.0, "dg-3": 1200.0}
    # the bulk gauge's ± 400 L plus one whole percent of each day tank (GenComm reads whole %)
    assert stock.tolerance_l == pytest.approx(400.0 + 20.0 + 20.0 + 12.0)


def test_a_missing_or_faulty_gauge_makes_the_stock_missing_never_partial():
    levels = _levels()
    del levels["dg-2"]["fuel_level_pct"]
    assert site_stock(SITE, levels) is None
    assert site_stock(SITE, _levels(status=1)) is None          # Victron /Status 1: open circuit
    assert site_stock(SITE, {**_levels(), "bulk-1": {"volume_l": math.nan}}) is None


def test_burn_is_metered_where_reported_else_the_fuel_curve():
    assert genset_fuel_rate_lph(DG1, {"fuel_rate_lph": 81.5, "power_kw": 200.0, "running": 1}) == (81.5, False)
    assert genset_fuel_rate_lph(DG1, {"power_kw": 200.0, "running": 1}) == (0.08 * 400 + 0.25 * 200, True)
    assert genset_fuel_rate_lph(DG1, {"power_kw": 0.0, "running": 0}) == (0.0, True)
    assert genset_fuel_rate_lph(DG1, {"running": 1}) is None                 # running at an unknown power
    assert genset_fuel_rate_lph(DG1, {}) is None
    devices = {"dg-1": {"fuel_rate_lph": 80.0}, "dg-2": {"power_kw": 200.0, "running": 1},
               "dg-3": {"running": 0}}
    burn = site_burn(SITE, devices)
    assert (burn.rate_lph, burn.estimated_lph) == (80.0 + 82.0, 82.0)
    assert site_burn(SITE, {"dg-1": {"fuel_rate_lph": 80.0}}) is None        # dg-2, dg-3 unknown


def test_autonomy_and_the_plans_daily_burn():
    assert planned_burn_l_per_day([25.0] * 8 + [100.0] * 2, [0.25] * 8 + [1.0] * 2) == pytest.approx(24 * 400 / 4)
    assert planned_burn_l_per_day([], []) is None
    assert autonomy_days(24000.0, 2400.0) == 10.0
    assert autonomy_days(24000.0, 0.0) == math.inf                 # nothing burns: never runs out
    assert autonomy_days(None, 2400.0) is None and autonomy_days(24000.0, None) is None
