"""Fuel and alarms: how many days of diesel are left, what came in, what went missing, and what
needs an engineer now (docs/architecture.md §12).

Figures are the service's own: the ``fuel`` measurement (stock, burn, days of autonomy,
unexplained loss, once a minute), one ``fuel_delivery`` point per delivery found in the tank
levels, and the ``alarm`` measurement. Convoys avoided are the litres avoided against the
diesel-only camp over the range divided by the site's tanker size (``[logistics]``).
"""

from __future__ import annotations

from dashboards import queries as q
from dashboards.common import series, stat, variables
from dashboards.model import ConstantVariable, Dashboard, Panel, Row
from microgrid.site import Site

UID = "camp-fuel"
#: Days of autonomy: red below a week, orange below two. [d]
AUTONOMY_DAYS = ((7.0, "orange"), (14.0, "green"))


def fuel_dashboard(site: Site | None = None) -> Dashboard:
    """The camp's diesel and alarms (``$site`` pre-selected when a site is given)."""
    convoys: tuple[Panel, ...] = ()
    extra: tuple[ConstantVariable, ...] = ()
    if site is None or site.logistics is not None:
        size = site.logistics.tanker_size_l if site is not None and site.logistics else 30000.0
        extra = (ConstantVariable("tanker_size_l", "Tanker size [L]", f"{size:g}", editable=site is None),)
        convoys = (stat("Convoys avoided", q.CONVOYS_AVOIDED, "none", decimals=1,
                        description="Litres avoided against the diesel-only camp / the tanker size."),)
    items = (
        Row("Diesel now"),
        stat("Diesel on site", q.FUEL_STOCK_L, "litre", decimals=0,
             description="Bulk tanks' gauges plus the gensets' day tanks, last value in the range."),
        stat("Days of autonomy", q.FUEL_AUTONOMY_DAYS, "d", decimals=1, base_color="red",
             thresholds=AUTONOMY_DAYS,
             description="Diesel on site / the plan's daily burn (the measured one without a plan)."),
        stat("Planned burn", q.FUEL_PLANNED_BURN_L_PER_DAY, "suffix: L/d", decimals=0),
        stat("Measured burn", q.FUEL_BURN_L_PER_DAY, "suffix: L/d", decimals=0,
             description="Over the last day: metered, else the fuel curve."),
        stat("Unexplained loss", q.FUEL_UNEXPLAINED_LOSS_L, "litre", decimals=0,
             description="Over the loss window: diesel gone that the gensets did not burn "
                         "(an alarm beyond the gauges' tolerance)."),
        stat("Active alarms", q.ALARMS_ACTIVE, "short", decimals=0, base_color="green",
             thresholds=((1, "red"),)),
        Row("Deliveries over the selected range"),
        stat("Delivered", q.FUEL_DELIVERED_L, "litre", decimals=0),
        stat("Deliveries", q.FUEL_DELIVERIES, "short", decimals=0),
        *convoys,
        series("Diesel on site", ((q.FUEL_STOCK_SERIES_L, ""),), "litre", min=0, w=24),
        series("Days of autonomy", ((q.FUEL_AUTONOMY_SERIES_DAYS, ""),), "d", min=0),
        series("Delivered per day", ((q.DAILY_DELIVERED_L, ""),), "litre", bars=True, min=0),
        Row("Alarms"),
        series("Alarms active", ((q.ALARMS_SERIES, "$tag_device $tag_code"),), "short", decimals=0,
               min=0, max=1, steps=True, w=24,
               description="1 while an alarm is active (per device and code): the service's rules "
                           "and the devices' own alarms."),
    )
    return Dashboard(UID, "Camp fuel and alarms", items, (*variables(site), *extra),
                     description="Diesel on site, days of autonomy, deliveries, unexplained loss, alarms.",
                     time_from="now-7d", refresh="1m")
