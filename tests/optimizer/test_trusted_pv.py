"""The PV quantile the plan trusts: exact interpolation between the forecast's quantiles."""

import numpy as np
import pytest
from optimizer_testkit import genset, site

from optimizer.trusted_pv import trusted_pv_kw

P10, P50, P90 = np.array([0.0, 100.0, 40.0]), np.array([0.0, 200.0, 80.0]), np.array([10.0, 400.0, 100.0])


@pytest.mark.parametrize("pct, expected", [
    (50.0, [0.0, 200.0, 80.0]),          # the median
    (90.0, [10.0, 400.0, 100.0]),        # the p90
    (70.0, [5.0, 300.0, 90.0]),          # halfway from p50 to p90
    (10.0, [0.0, 100.0, 40.0]),          # the p10
    (30.0, [0.0, 150.0, 60.0]),          # halfway from p10 to p50
])
def test_quantile_is_interpolated_between_the_forecast_quantiles(pct, expected):
    s = site(gensets=[genset()], pv_forecast_pct=pct)
    assert trusted_pv_kw(s, P10, P50, P90) == pytest.approx(expected)


def test_never_negative():
    s = site(gensets=[genset()], pv_forecast_pct=10.0)
    assert trusted_pv_kw(s, np.array([-5.0]), np.array([1.0]), np.array([2.0])).tolist() == [0.0]
