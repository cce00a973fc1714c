"""The report's fuel-logistics section: diesel delivered and deliveries, read from the store.

Every delivery is a convoy. Deliveries come from the service's fuel ledger (the ``fuel_delivery``
measurement, one point per delivery found in the tank levels; docs/architecture.md §12); convoys
avoided (litres avoided against the diesel-only camp / the site's tanker size) are computed by
:func:`microgrid.reports.summary.summarize` from the roll-ups. A camp whose ledger did not run in
the period (no tank declared, no ``fuel`` point) has its deliveries missing, never 0.
"""

from __future__ import annotations

from dataclasses import replace

from microgrid.errors import HistorianError, ReportError
from microgrid.reports.period import Period
from microgrid.reports.summary import FuelLogistics, ReportSummary
from microgrid.site import Site

__all__ = ["with_fuel_logistics"]


def with_fuel_logistics(historian, site: Site, period: Period, summary: ReportSummary) -> ReportSummary:
    """``summary`` with the period's deliveries read from ``historian`` (the ``fuel`` and
    ``fuel_delivery`` measurements); unchanged when the ledger has no point in the period."""
    tags = {"site": site.name}
    try:
        ledger = historian.query("fuel", ["stock_l"], period.start_utc, period.end_utc, tags=tags, agg="count")
        found = historian.query("fuel_delivery", ["delivered_l"], period.start_utc, period.end_utc, tags=tags)
    except HistorianError as exc:
        raise ReportError(f"reading the fuel ledger of site {site.name!r} for {period.label} failed: {exc}") from exc
    if ledger is None or not len(ledger) or not float(ledger["stock_l"].fillna(0).sum()) > 0:
        return summary
    delivered = [] if found is None or not len(found) else [float(v) for v in found["delivered_l"].dropna()]
    return replace(summary, fuel_logistics=FuelLogistics(sum(delivered), len(delivered)))
