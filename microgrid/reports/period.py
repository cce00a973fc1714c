"""Reporting periods: a month, a calendar quarter or a UN budget year, in the site's timezone.

Accepted spellings (case-insensitive):

- month: ``2026-10``
- calendar quarter: ``2026Q4`` or ``2026-Q4`` (Q1 = January–March, ..., Q4 = October–December)
- UN budget (fiscal) year: ``FY2026``, ``2025/26`` or ``2025/2026``. The UN peacekeeping budget
  year runs 1 July – 30 June and is named by its two calendar years ("2025/26"); ``FY2026`` is
  the budget year that *ends* in 2026, i.e. 1 July 2025 – 30 June 2026.

A period is the half-open interval [start, end) of local midnights in the site's timezone
(``site.location.timezone``), converted to UTC for queries: October 2026 in Africa/Juba (UTC+2)
is 2026-09-30T22:00Z .. 2026-10-31T22:00Z.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from microgrid.errors import ReportError

#: One line for --help and the report's method text.
PERIOD_HELP = ("a month '2026-10', a calendar quarter '2026Q4', or a UN budget year "
               "'FY2026' (= '2025/26' = 1 July 2025 - 30 June 2026, named by the year it ends in); "
               "in the site's local timezone")

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)
_FY = re.compile(r"^FY-?(\d{4})$", re.IGNORECASE)
_FY_SLASH = re.compile(r"^(\d{4})/(\d{2}|\d{4})$")


@dataclass(frozen=True)
class Period:
    """A reporting period.

    Attributes
    ----------
    label : str
        Canonical name: ``2026-10``, ``2026Q4`` or ``FY2026``.
    kind : str
        ``month``, ``quarter`` or ``budget_year``.
    title : str
        Human title, e.g. ``October 2026``, ``Q4 2026 (October-December)``,
        ``UN budget year 2025/26 (FY2026, 1 July 2025 - 30 June 2026)``.
    first_day, last_day : date
        First and last local calendar day included.
    timezone : str
        IANA timezone the period is defined in.
    start_utc, end_utc : datetime
        Half-open interval [start, end) in aware UTC.
    """

    label: str
    kind: str
    title: str
    first_day: date
    last_day: date
    timezone: str
    start_utc: datetime
    end_utc: datetime

    @property
    def days(self) -> int:
        """Calendar days in the period. [d]"""
        return (self.last_day - self.first_day).days + 1

    @property
    def hours(self) -> float:
        """Length of the period (DST-aware). [h]"""
        return (self.end_utc - self.start_utc).total_seconds() / 3600.0


def parse_period(text: str, tz: str) -> Period:
    """Parse a period string into local-midnight bounds converted to UTC.

    Parameters
    ----------
    text : str
        ``2026-10``, ``2026Q4``/``2026-Q4``, ``FY2026``/``2025/26``/``2025/2026``.
    tz : str
        IANA timezone of the site, e.g. ``Africa/Juba``.

    Raises
    ------
    ReportError
        The string matches none of the forms, or names an impossible month/year.
    """
    s = text.strip()
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ReportError(f"unknown timezone {tz!r} for the report period") from exc
    if m := _MONTH.match(s):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise ReportError(f"period {text!r}: month {month} is not 1-12")
        first, nxt = date(year, month, 1), _add_months(year, month, 1)
        label = f"{year:04d}-{month:02d}"
        return _make(label, "month", first.strftime("%B %Y"), first, nxt, tz, zone)
    if m := _QUARTER.match(s):
        year, q = int(m[1]), int(m[2])
        first = date(year, 3 * q - 2, 1)
        nxt = _add_months(year, 3 * q - 2, 3)
        months = f"{first.strftime('%B')}-{date(year, 3 * q, 1).strftime('%B')}"
        return _make(f"{year}Q{q}", "quarter", f"Q{q} {year} ({months})", first, nxt, tz, zone)
    end_year = _budget_end_year(s, text)
    if end_year is not None:
        first, nxt = date(end_year - 1, 7, 1), date(end_year, 7, 1)
        title = (f"UN budget year {end_year - 1}/{end_year % 100:02d} (FY{end_year}, "
                 f"1 July {end_year - 1} - 30 June {end_year})")
        return _make(f"FY{end_year}", "budget_year", title, first, nxt, tz, zone)
    raise ReportError(f"unknown period {text!r}: expected {PERIOD_HELP}")


def period_from_range(start: datetime, end: datetime, tz: str, label: str | None = None) -> Period:
    """A :class:`Period` for an arbitrary UTC range [start, end) (e.g. a dashboard's time range),
    so :func:`~microgrid.reports.summary.summarize` can be compared with any query window.

    Parameters
    ----------
    start, end : datetime
        Aware range bounds; converted to UTC.
    tz : str
        IANA timezone for the local days (daily rows).
    """
    s, e = start.astimezone(timezone.utc), end.astimezone(timezone.utc)
    if e <= s:
        raise ReportError(f"range end {e.isoformat()} is not after start {s.isoformat()}")
    zone = ZoneInfo(tz)
    first = s.astimezone(zone).date()
    last = (e - timedelta(microseconds=1)).astimezone(zone).date()
    name = label or f"{s:%Y-%m-%dT%H:%MZ}..{e:%Y-%m-%dT%H:%MZ}"
    return Period(name, "range", f"{s:%Y-%m-%d %H:%M} - {e:%Y-%m-%d %H:%M} UTC", first, last,
                  tz, s, e)


def _budget_end_year(s: str, text: str) -> int | None:
    if m := _FY.match(s):
        return int(m[1])
    if m := _FY_SLASH.match(s):
        y0, tail = int(m[1]), m[2]
        y1 = int(tail) if len(tail) == 4 else (y0 // 100) * 100 + int(tail) + (
            100 if int(tail) < y0 % 100 else 0)
        if y1 != y0 + 1:
            raise ReportError(f"period {text!r}: a budget year spans two consecutive years, "
                              f"e.g. '{y0}/{(y0 + 1) % 100:02d}'")
        return y1
    return None


def _add_months(year: int, month: int, n: int) -> date:
    k = year * 12 + (month - 1) + n
    return date(k // 12, k % 12 + 1, 1)


def _make(label: str, kind: str, title: str, first: date, nxt: date, tz: str,
          zone: ZoneInfo) -> Period:
    def midnight_utc(d: date) -> datetime:
        return datetime(d.year, d.month, d.day, tzinfo=zone).astimezone(timezone.utc)

    last = date.fromordinal(nxt.toordinal() - 1)
    return Period(label, kind, title, first, last, tz, midnight_utc(first), midnight_utc(nxt))
