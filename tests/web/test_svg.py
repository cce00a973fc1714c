"""Charts drawn on the server: what is drawn is what the data has (gaps stay gaps), an empty
range says so, and a plan's runs are bars."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from microgrid.web.ranges import RANGES, parse_request
from microgrid.web.reads import Chart, Line, PlanView, Span
from microgrid.web.svg import render_chart, render_plan

TZ = ZoneInfo("Africa/Juba")
START = datetime(2026, 11, 1, tzinfo=timezone.utc)


def chart(values) -> Chart:
    grid = pd.date_range(START, periods=len(values), freq="1h", tz="UTC").as_unit("ns")
    return Chart("power", "Power", "kW", START, START + timedelta(hours=len(values)),
                 (Line("load", "load", grid, np.asarray(values, dtype=float)),),
                 hlines=((30.0, "minimum load 30 %"),))


def test_a_line_with_a_gap_is_two_segments_and_counts_its_points():
    svg = render_chart(chart([100, 200, np.nan, 300, 250, 400]), TZ)
    path = re.search(r'data-series="load" data-points="(\d+)" d="([^"]+)"', svg)
    assert path.group(1) == "5" and path.group(2).count("M") == 2
    assert 'class="hline"' in svg and "minimum load 30 %" in svg
    assert "no data" not in svg


def test_an_empty_range_says_so():
    svg = render_chart(chart([np.nan] * 4), TZ)
    assert "no data in this range" in svg and "data-series" not in svg


def test_plan_runs_are_bars():
    s = PlanView(START, START + timedelta(hours=24), ("dg-1", "dg-2"),
                 (Span("dg-1", START, START + timedelta(hours=6), 200.0),), "milp")
    svg = render_plan(s, TZ)
    assert 'data-spans="1"' in svg and svg.count('data-unit="dg-1"') == 1 and 'data-unit="dg-2"' not in svg
    assert "02:00-08:00, about 200 kW" in svg  # local time (UTC+2)


def test_ranges_end_with_the_quarter_hour_holding_now():
    now = datetime(2026, 11, 1, 10, 7, tzinfo=timezone.utc)
    assert RANGES["24h"].bounds(now) == (datetime(2026, 10, 31, 10, 15, tzinfo=timezone.utc),
                                         datetime(2026, 11, 1, 10, 15, tzinfo=timezone.utc))
    assert RANGES["30d"].bounds(now.replace(minute=15))[1] == now.replace(minute=30)
    req = parse_request("", ["malakal", "juba"])
    assert (req.site, req.range.key) == ("malakal", "24h") and req.query() == "site=malakal&range=24h"
