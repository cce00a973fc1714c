"""Deliveries and unexplained loss from the fuel balance (microgrid.plant.fuel_balance).

Hand-made histories, one sample a minute: a camp burning 100 L/h (metered), a tolerance of
300 L, a tanker pumping 30,000 L at 500 L/min, a leak of 60 L/h, gauge noise.
"""

from __future__ import annotations

import numpy as np
import pytest

from microgrid.plant.fuel_balance import (
    DELIVERY_MIN_TOLERANCES,
    ESTIMATED_BURN_UNCERTAINTY,
    FuelSeries,
    deliveries,
    unexplained_loss,
)

T0 = 1_800_000_000.0  # an instant, s since the epoch
BURN_LPH, TOL = 100.0, 300.0


def history(hours: float, *, delivery_at_h: float | None = None, litres: float = 30000.0,
            l_per_min: float = 500.0, leak_lph: float = 0.0, leak_from_h: float = 0.0,
            noise_l: float = 0.0, estimated: bool = False, seed: int = 1) -> FuelSeries:
    t = T0 + np.arange(0, hours * 3600 + 1, 60.0)
    h = (t - T0) / 3600.0
    burnt = BURN_LPH * h
    stock = 40000.0 - burnt - leak_lph * np.clip(h - leak_from_h, 0, None)
    if delivery_at_h is not None:
        stock = stock + np.clip((h - delivery_at_h) * 60 * l_per_min, 0, litres)
    stock = stock + np.random.default_rng(seed).normal(0, noise_l, len(t)) if noise_l else stock
    return FuelSeries(t, stock, burnt, burnt if estimated else np.zeros_like(burnt), TOL)


def test_a_delivery_is_found_with_its_litres():
    fs = history(8, delivery_at_h=3.0, noise_l=20.0)
    found, under_way = deliveries(fs)
    assert under_way is None and len(found) == 1
    d = found[0]
    assert d.litres == pytest.approx(30000.0, abs=TOL)             # within the gauges' tolerance
    assert abs(d.litres - 30000.0) < 30                              # medians beat the noise
    assert d.start_s == pytest.approx(T0 + 3 * 3600, abs=120)        # when the pump started
    assert d.end_s == pytest.approx(T0 + 4 * 3600, abs=120)          # after the hour of pumping


def test_a_delivery_still_pumping_is_under_way_not_found():
    fs = history(3.5, delivery_at_h=3.0)
    found, under_way = deliveries(fs)
    assert found == [] and under_way == pytest.approx(T0 + 3 * 3600, abs=120)
    assert unexplained_loss(fs, 3 * 3600) is None                    # no balance while it pumps
    slow = history(4.5, delivery_at_h=2.0, l_per_min=200.0)         # 2.5 h of pumping, window 1 h
    assert deliveries(slow)[1] is not None and unexplained_loss(slow, 3600) is None


def test_small_rises_are_not_deliveries():
    fs = history(8, delivery_at_h=3.0, litres=DELIVERY_MIN_TOLERANCES * TOL * 0.9, noise_l=20.0)
    assert deliveries(fs) == ([], None)


def test_no_loss_when_the_gauges_follow_the_burn_even_across_a_delivery():
    fs = history(14, delivery_at_h=6.0, noise_l=20.0)
    loss = unexplained_loss(fs, 12 * 3600)
    assert abs(loss.litres) < 50 and not loss.alarm and loss.threshold_l == TOL


def test_a_leak_beyond_the_tolerance_is_an_alarm():
    fs = history(14, leak_lph=60.0, leak_from_h=4.0, noise_l=20.0)
    loss = unexplained_loss(fs, 12 * 3600)
    # from 2:00 to 14:00 the leak ran 10 h: 600 L
    assert loss.litres == pytest.approx(600.0, abs=40) and loss.alarm
    assert unexplained_loss(history(11, leak_lph=60.0), 12 * 3600) is None   # window not filled yet
    early = unexplained_loss(history(14, leak_lph=60.0, leak_from_h=10.0), 12 * 3600)
    # 4 h of leak, measured between the middles of the window's first and last 15 min: 3 h 52.5 min
    assert early.litres == pytest.approx(60.0 * (4 - 0.125), abs=2) and not early.alarm


def test_estimated_burn_widens_the_threshold():
    """400 L gone: an alarm against a metered burn (± 300 L), not against one estimated from the
    fuel curve (± 300 L + 10 % of 1,200 L)."""
    metered = unexplained_loss(history(14, leak_lph=40.0, leak_from_h=4.0), 12 * 3600)
    estimated = unexplained_loss(history(14, leak_lph=40.0, leak_from_h=4.0, estimated=True), 12 * 3600)
    assert metered.litres == pytest.approx(400.0, abs=5) and metered.alarm
    assert estimated.threshold_l == pytest.approx(TOL + ESTIMATED_BURN_UNCERTAINTY * BURN_LPH * 12)
    assert estimated.litres == pytest.approx(400.0, abs=5) and not estimated.alarm
