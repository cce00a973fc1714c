"""The accounting bucket: energy roll-ups, reports, dashboards and the forecasts' history all
count in the same 15-min intervals, aligned to the UTC epoch (docs/architecture.md §4)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

__all__ = ["BUCKET", "BUCKET_H", "BUCKET_MIN", "EPOCH", "bucket_start"]

BUCKET_MIN = 15  #: [min]
BUCKET = timedelta(minutes=BUCKET_MIN)
BUCKET_H = BUCKET_MIN / 60.0  #: [h]
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def bucket_start(t: datetime, bucket: timedelta = BUCKET) -> datetime:
    """Start of the bucket containing ``t`` (timezone-aware), aligned to the UTC epoch."""
    return EPOCH + ((t - EPOCH) // bucket) * bucket
