"""What a request to the camp page asks for: a site and a range; bad parameters are a 400 (pure).

A range ends at the end of the quarter-hour holding "now" (the 15-min energy buckets the
headline figures add up are whole) and starts its length before; charts use buckets sized so a
range is a few hundred points (24 h: 5 min, 7 days: 1 h, 30 days: 3 h), which the store answers
from its roll-ups (docs/architecture.md §5).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Mapping, Sequence
from urllib.parse import parse_qs

QUARTER = timedelta(minutes=15)


class BadRequest(ValueError):
    """A query parameter the page does not accept; the message says which and why."""


@dataclass(frozen=True)
class PageRange:
    """A selectable range of the page."""

    key: str  #: as in the URL: ``24h``, ``7d``, ``30d``
    label: str
    length: timedelta
    bucket: str  #: chart bucket, an InfluxQL duration

    def bounds(self, now: datetime) -> tuple[datetime, datetime]:
        """[start, end) in UTC: end is the end of the quarter-hour holding ``now``."""
        now = now.astimezone(timezone.utc)
        epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
        end = epoch + ((now - epoch) // QUARTER + 1) * QUARTER
        return end - self.length, end


RANGES: dict[str, PageRange] = {
    "24h": PageRange("24h", "last 24 h", timedelta(hours=24), "5m"),
    "7d": PageRange("7d", "last 7 days", timedelta(days=7), "1h"),
    "30d": PageRange("30d", "last 30 days", timedelta(days=30), "3h"),
}
DEFAULT_RANGE = "24h"
PARAMETERS = ("range", "site")


@dataclass(frozen=True)
class PageRequest:
    site: str
    range: PageRange

    def query(self) -> str:
        """The URL query string that asks for this again."""
        from urllib.parse import urlencode
        return urlencode({"site": self.site, "range": self.range.key})


def parse_request(query: str, sites: Sequence[str]) -> PageRequest:
    """The page request in a URL query string.

    Parameters
    ----------
    query : str
        e.g. ``site=malakal&range=7d``; both optional (the first site, the last 24 h).
    sites : sequence of str
        Sites this server shows.

    Raises
    ------
    BadRequest
        Unknown or repeated parameter, unknown range or site.
    """
    try:
        values: Mapping[str, list[str]] = parse_qs(query, keep_blank_values=True, strict_parsing=bool(query),
                                                   max_num_fields=10)
    except ValueError as exc:
        raise BadRequest(f"cannot read the query string {query[:80]!r}: {exc}") from None
    for key, vals in values.items():
        if key not in PARAMETERS:
            raise BadRequest(f"unknown parameter {key[:40]!r}; this page takes {' and '.join(PARAMETERS)}")
        if len(vals) > 1:
            raise BadRequest(f"parameter {key!r} is given {len(vals)} times; give it once")
    rng = values.get("range", [DEFAULT_RANGE])[0]
    if rng not in RANGES:
        raise BadRequest(f"range {rng[:40]!r} is not one of {', '.join(RANGES)}")
    site = values.get("site", [sites[0]])[0]
    if site not in sites:
        raise BadRequest(f"site {site[:40]!r} is not shown here; sites: {', '.join(sites)}")
    return PageRequest(site, RANGES[rng])
