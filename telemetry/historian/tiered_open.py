"""Build a :class:`~telemetry.historian.tiered.TieredHistorian` on the embedded store or on
InfluxDB 1.x (what ``open_historian(..., tiered=True)`` and ``?raw_days=`` open).

- SQLite: one file; raw readings and records in the main tables (hourly chunks), each roll-up
  tier in its own pair of tables (``points_1m``/``chunks_1m``: 6-hour chunks; coarser tiers:
  1-day chunks); this process prunes raw readings past ``raw_days`` that are rolled up.
- InfluxDB 1.x: measured readings into the retention policy ``raw`` (duration ``raw_days``),
  each tier into ``rollup_<tier>`` (INF), records into the default policy (or the spec's
  ``rp``); the policies are created or corrected before the first write.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from telemetry.historian.influx import InfluxV1Historian
from telemetry.historian.rollup import RetentionPolicy
from telemetry.historian.sqlite import SQLiteHistorian
from telemetry.historian.tiered import TieredHistorian

#: Packed window of each tier on SQLite: about 360-1,440 buckets per chunk. [s]
_SQLITE_WINDOW_S = {60: 6 * 3600}
_SQLITE_DEFAULT_WINDOW_S = 86400
RAW_RP = "raw"


def tier_rp(tier: str) -> str:
    """InfluxDB retention policy of a roll-up tier (``rollup_1m``)."""
    return f"rollup_{tier}"


def sqlite_tiered(path: str | Path, policy: RetentionPolicy, readonly: bool = False) -> TieredHistorian:
    """The embedded store with roll-ups (module docstring); ``readonly``: a reader that never
    changes the file."""
    raw = SQLiteHistorian(path, readonly=readonly)
    tiers = {}
    for tier, ns in policy.tier_ns.items():
        window = _SQLITE_WINDOW_S.get(ns // 10**9, _SQLITE_DEFAULT_WINDOW_S)
        tiers[tier] = SQLiteHistorian(path, namespace=tier, window_s=window, readonly=readonly,
                                      compact_lag_s=ns / 1e9 + policy.grace_s + 60, chunk_s={})
    return TieredHistorian(raw, tiers, policy=policy, prune=None if readonly else raw.delete_range,
                           readonly=readonly)


def influx_tiered(make: Callable[[str | None], InfluxV1Historian], policy: RetentionPolicy,
                  keep_rp: str | None, readonly: bool = False) -> TieredHistorian:
    """InfluxDB 1.x with roll-ups (module docstring); ``make(rp)`` opens a client writing to
    and reading from retention policy ``rp`` (None: the database's default); ``readonly``: a
    reader (creates nothing)."""
    raw = make(RAW_RP)
    tiers = {tier: make(tier_rp(tier)) for tier in policy.tiers}
    keep = make(keep_rp)

    def prepare() -> None:
        raw.ensure_retention_policy(RAW_RP, None if policy.raw_days is None else policy.raw_days * 24)
        for tier in policy.tiers:
            raw.ensure_retention_policy(tier_rp(tier), None)

    return TieredHistorian(raw, tiers, policy=policy, keep=keep, prepare=None if readonly else prepare,
                           readonly=readonly)
