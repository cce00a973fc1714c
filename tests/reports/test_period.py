"""Reporting periods: local-midnight bounds in the site's timezone, converted to UTC."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from microgrid.errors import ReportError
from microgrid.reports.period import parse_period


def z(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def test_month_in_juba_is_utc_plus_2():
    p = parse_period("2026-10", "Africa/Juba")
    assert (p.label, p.kind, p.title) == ("2026-10", "month", "October 2026")
    assert p.start_utc == z(2026, 9, 30, 22) and p.end_utc == z(2026, 10, 31, 22)
    assert (p.first_day, p.last_day, p.days, p.hours) == (date(2026, 10, 1), date(2026, 10, 31), 31, 744.0)


def test_quarter_spellings():
    p = parse_period("2026Q4", "Africa/Juba")
    assert p == parse_period("2026-q4", "Africa/Juba")
    assert (p.label, p.kind) == ("2026Q4", "quarter")
    assert p.start_utc == z(2026, 9, 30, 22) and p.end_utc == z(2026, 12, 31, 22)
    assert p.days == 92 and p.title == "Q4 2026 (October-December)"
    q1 = parse_period("2027Q1", "UTC")
    assert (q1.start_utc, q1.end_utc) == (z(2027, 1, 1), z(2027, 4, 1))


def test_un_budget_year_is_named_by_the_year_it_ends_in():
    p = parse_period("FY2026", "Africa/Juba")
    assert (p.label, p.kind) == ("FY2026", "budget_year")
    assert (p.first_day, p.last_day) == (date(2025, 7, 1), date(2026, 6, 30))
    assert p.start_utc == z(2025, 6, 30, 22) and p.end_utc == z(2026, 6, 30, 22)
    assert p.days == 365 and "2025/26" in p.title
    assert parse_period("2025/26", "Africa/Juba") == p == parse_period("2025/2026", "Africa/Juba")
    assert parse_period("1999/00", "UTC").label == "FY2000"


def test_dst_month_has_its_true_length():
    p = parse_period("2026-03", "Europe/Berlin")  # spring forward on 29 March
    assert p.start_utc == z(2026, 2, 28, 23) and p.end_utc == z(2026, 3, 31, 22)
    assert p.hours == 743.0


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "Q4-2026", "FY26", "2025/27", "",
                                  "october", "2026", "2026Q5", "2026-10-01"])
def test_bad_period_strings_are_report_errors(text):
    with pytest.raises(ReportError, match="period"):
        parse_period(text, "Africa/Juba")


def test_unknown_timezone():
    with pytest.raises(ReportError, match="timezone"):
        parse_period("2026-10", "Mars/Olympus")


def test_arbitrary_range_for_dashboard_comparisons():
    from microgrid.reports.period import period_from_range

    p = period_from_range(z(2026, 10, 1, 6), z(2026, 10, 3, 6), "Africa/Juba")
    assert (p.kind, p.hours, p.first_day, p.last_day) == ("range", 48.0, date(2026, 10, 1),
                                                         date(2026, 10, 3))
    with pytest.raises(ReportError, match="not after"):
        period_from_range(z(2026, 10, 2), z(2026, 10, 1), "UTC")
