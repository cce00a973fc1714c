"""Small kernel rules: the reserve rule, the accounting bucket, nameplates, the conditions frame."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from toy_testkit import battery, genset, pv

from microgrid.plant.bucket import BUCKET, BUCKET_H, bucket_start
from microgrid.plant.conditions import pv_column
from microgrid.plant.nameplate import nameplate
from microgrid.plant.reserve import reserve_required_kw, reserve_shortfall_kw
from microgrid.site import LoadMeter, ReserveRule


def test_reserve_rule_on_numbers_and_arrays():
    rule = ReserveRule(load_pct=10.0, pv_pct=25.0)
    assert reserve_required_kw(rule, 500.0, 200.0) == pytest.approx(100.0)
    np.testing.assert_allclose(reserve_required_kw(rule, np.array([500.0, 0.0]), np.array([200.0, 40.0])),
                               [100.0, 10.0])
    assert reserve_shortfall_kw(rule, 500.0, 200.0, held_kw=60.0) == pytest.approx(40.0)
    assert reserve_shortfall_kw(rule, 500.0, 200.0, held_kw=600.0) == 0.0


def test_bucket_is_15_min_on_the_utc_epoch():
    assert BUCKET == timedelta(minutes=15) and BUCKET_H == 0.25
    t = datetime(2026, 3, 20, 10, 44, 59, tzinfo=timezone.utc)
    assert bucket_start(t) == datetime(2026, 3, 20, 10, 30, tzinfo=timezone.utc)
    assert bucket_start(t, timedelta(minutes=1)) == datetime(2026, 3, 20, 10, 44, tzinfo=timezone.utc)


def test_nameplate_fields_per_device_kind():
    b = battery(capacity_kwh=1000.0, charge_power_kw=400.0, discharge_power_kw=500.0)
    assert nameplate(b) == {"capacity_kwh": 1000.0, "charge_rated_kw": 400.0, "discharge_rated_kw": 500.0}
    assert nameplate(pv(inverter_kw=220.0)) == {"rated_kw": 220.0}
    assert nameplate(genset(rated_kw=400.0)) == {"rated_kw": 400.0}
    assert nameplate(LoadMeter(name="m", modbus=b.modbus)) == {}


def test_conditions_column_per_array():
    assert pv_column("pv-north") == "pv_available_kw__pv-north"
