"""Grafana macro rendering and the shape of the named queries (pure, no server)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from dashboards import queries as q

T0 = datetime(2023, 10, 1, tzinfo=timezone.utc)


def test_time_filter_is_grafanas_epoch_ms_form():
    assert q.time_filter(T0, T0 + timedelta(days=1)) == \
        "time >= 1696118400000ms and time <= 1696204799999ms"


@pytest.mark.parametrize("minutes,text", [(15, "15m"), (60, "1h"), (1440, "1d"), (0.5, "30s")])
def test_interval_text(minutes, text):
    assert q.interval_text(timedelta(minutes=minutes)) == text


def test_site_is_regex_escaped():
    assert q.regex_escape("camp-1.a/b") == r"camp\-1\.a\/b"


def test_render_substitutes_every_macro():
    out = q.render(q.L_PER_PERSON_DAY, T0, T0 + timedelta(days=1), timedelta(minutes=15),
                   {"site": "malakal", "headcount": "1000"})
    assert out == ('SELECT sum("fuel_l") * 9600 / 1000 / sum("coverage_pct") FROM "energy" '
                   'WHERE "site" =~ /^malakal$/ AND time >= 1696118400000ms and '
                   'time <= 1696204799999ms')


def test_render_refuses_unknown_variables():
    with pytest.raises(ValueError, match="headcount"):
        q.render(q.L_PER_PERSON_DAY, T0, T0 + timedelta(days=1), timedelta(minutes=15),
                 {"site": "malakal"})


def test_grouped_queries_put_fill_last():
    assert q.GENSET_LOAD_PCT.endswith('GROUP BY time($__interval), "device" fill(null)')
    assert q.DAILY_FUEL_L.endswith("GROUP BY time(1d) fill(none)")
