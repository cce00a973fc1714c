"""The camp's measured load, from its store, for a study (``--load-from STORE``).

Read from the 15-min ``energy`` roll-ups (docs/architecture.md §4): a bucket's mean load is
``load_kwh / 0.25 h`` when the bucket is complete (``coverage_pct`` ≥ 99.9 %); partial and absent
buckets are missing, and the study's conditions fill them from the load model
(:class:`~microgrid.study.conditions.CampConditions`), counting how many it filled.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import pandas as pd

from microgrid.errors import HistorianError, InputError
from microgrid.plant.bucket import BUCKET_MIN
from microgrid.site import Site

__all__ = ["LoadStore", "measured_load_kw"]

#: A bucket with less coverage is treated as missing. [%]
COMPLETE_PCT = 99.9


class LoadStore(Protocol):
    """What the study needs of a historian."""

    def query(self, measurement: str, fields: list[str], start: datetime, end: datetime, *,
              tags: dict[str, str] | None = None) -> pd.DataFrame:
        ...


def measured_load_kw(store: LoadStore, site: Site, start: datetime, end: datetime, spec: str) -> pd.Series:
    """The camp's 15-min mean load over ``[start, end)`` (NaN where not measured). [kW]

    Raises
    ------
    InputError
        The store failed, or holds no complete bucket of the site's load in the window (naming
        the store and the site).
    """
    try:
        frame = store.query("energy", ["load_kwh", "coverage_pct"], start, end, tags={"site": site.name})
    except HistorianError as exc:
        raise InputError(f"reading the load of site {site.name!r} failed: {exc}", path=f"--load-from {spec}") from None
    grid = pd.date_range(start, end, freq=f"{BUCKET_MIN}min", inclusive="left", name="time")
    if frame is None or len(frame) == 0:
        raise InputError(f"no load of site {site.name!r} between {start:%Y-%m-%d} and {end:%Y-%m-%d}",
                         path=f"--load-from {spec}")
    coverage = pd.to_numeric(frame["coverage_pct"], errors="coerce").fillna(100.0)
    kw = pd.to_numeric(frame["load_kwh"], errors="coerce") * 60.0 / BUCKET_MIN
    kw = kw.where(coverage >= COMPLETE_PCT)
    kw = kw.groupby(level=0).mean().reindex(grid)
    if kw.notna().sum() == 0:
        raise InputError(f"no complete 15-min bucket of site {site.name!r}'s load between {start:%Y-%m-%d} and "
                         f"{end:%Y-%m-%d}", path=f"--load-from {spec}")
    return kw
