"""Alarms and fuel autonomy as the camp page reads them: the one place issue 15 plugs into.

Alarms are the ``alarm`` measurement (docs/architecture.md §12: tags ``site``, ``device``,
``code``; fields ``active``, ``severity``, ``value``), read through the historian like every
other figure: the newest point of each (device, code) in the last ``lookback`` says whether it
is active. A store without any ``alarm`` point (alarms are not evaluated yet) is "not known",
shown as "—", never as 0.

Fuel autonomy is the service's own figure (the ``fuel`` measurement its fuel ledger writes once a
minute: stock on site over the plan's daily burn, docs/architecture.md §12): the newest value in
the hour before ``now``; "—" when the store has none (no tank, or a service without a ledger).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from microgrid.site import Site
from telemetry.historian.base import Historian

ALARM = "alarm"
ALARM_FIELDS = ("active", "severity", "value")


@dataclass(frozen=True)
class Alarms:
    """Active alarms of a site at an instant."""

    known: bool  #: the store holds alarm points for the site at all
    active: tuple[tuple[str, str, float | None], ...] = ()  #: (device, code, severity)
    by_device: dict[str, int] = field(default_factory=dict)

    @property
    def count(self) -> int | None:
        """Active alarms; None when not known."""
        return len(self.active) if self.known else None


def read_alarms(store: Historian, site: Site, now: datetime, lookback: timedelta = timedelta(days=7)) -> Alarms:
    """The alarms active at ``now`` (the newest state of each device and code).

    Parameters
    ----------
    store : Historian
        Read through the historian contract.
    """
    tags = {"site": site.name}
    if store.latest_time(ALARM, ["active"], tags) is None:
        return Alarms(False)
    df = store.query(ALARM, list(ALARM_FIELDS), now - lookback, now + timedelta(seconds=1), tags=tags,
                     group_by_tags=["device", "code"])
    if df.empty:
        return Alarms(True)
    latest = df.reset_index().dropna(subset=["active"]).groupby(["device", "code"], sort=True).last()
    active = [(dev, code, None if row.severity != row.severity else float(row.severity))
              for (dev, code), row in latest.iterrows() if row.active >= 0.5]
    by_device: dict[str, int] = {}
    for dev, _, _ in active:
        by_device[dev] = by_device.get(dev, 0) + 1
    return Alarms(True, tuple(active), by_device)


FUEL = "fuel"
#: The fuel ledger's figure is taken when it is at most this old.
FUEL_LOOKBACK = timedelta(hours=1)


def fuel_autonomy_days(store: Historian, site: Site, now: datetime) -> float | None:
    """Days of diesel left at ``now`` as the service last computed them, or None when not known
    (nothing burns: none either, the page says so). [d]"""
    tags = {"site": site.name}
    if store.latest_time(FUEL, ["autonomy_days"], tags) is None:
        return None
    df = store.query(FUEL, ["autonomy_days"], now - FUEL_LOOKBACK, now + timedelta(seconds=1), tags=tags)
    values = df["autonomy_days"].dropna() if len(df) else df
    return float(values.iloc[-1]) if len(values) else None
