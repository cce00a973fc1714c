"""Environment: kWh by source, renewable fraction, litres, L/person/day, tCO2 — per month.

InfluxQL's ``GROUP BY time(30d)`` is not a calendar month, so this dashboard does not pretend:
its figures are over the **selected range**, with the time picker defaulting to "this month so
far" (``now/M`` .. ``now``; pick "Previous month" or "Last 12 months" as needed), and its bars are
per UTC day (``GROUP BY time(1d)``). The calendar-correct monthly / quarterly / budget-year
figures an officer forwards come from ``microgrid report`` (local-time periods); both sum the
same 15-min roll-ups, so a range that matches the period shows the same numbers.

L/person/day uses the ``$headcount`` constant baked from the site file (an editable textbox
when no site file is given) and days *with data* (summed bucket coverage), as the report does.
"""

from __future__ import annotations

from dashboards import queries as q
from dashboards.common import by_column, series, stat, variables
from dashboards.model import Dashboard, Row
from microgrid.site import Site

UID = "camp-environment"


def environment_dashboard(site: Site | None = None) -> Dashboard:
    """The environmental officer's view (defaults to this month so far)."""
    items = (
        Row("Selected range (default: this month so far)"),
        stat("Renewable fraction", q.RENEWABLE_FRACTION_PCT, "percent", min=0, max=100),
        stat("Diesel", q.FUEL_L, "litre", decimals=0),
        stat("Litres per person per day", q.L_PER_PERSON_DAY, "suffix: L/person/day", decimals=2,
             description="Litres / headcount / days with data."),
        stat("CO2", q.CO2_T, "masst", decimals=2),
        stat("Fuel avoided vs diesel-only", q.FUEL_AVOIDED_L, "litre", decimals=0),
        stat("CO2 avoided", q.CO2_AVOIDED_T, "masst", decimals=2),
        stat("kWh per litre", q.KWH_PER_L, "suffix: kWh/L", decimals=2),
        stat("PV energy used", q.PV_KWH, "kwatth", decimals=0),
        stat("Diesel estimated (not metered)", q.FUEL_ESTIMATED_L, "litre", decimals=0),
        stat("Data completeness", q.COMPLETENESS_PCT, "percent", min=0, max=100,
             description="Share of the selected range with data (15-min bucket coverage); "
                         "the report lists the gaps."),
        by_column("Energy by source", q.ENERGY_BY_SOURCE_KWH, "kwatth", w=24,
                  description="PV used, gensets, battery out / in, PV curtailed (where "
                              "measured) and load over the range."),
        Row("Per day"),
        series("Energy by source per day", ((q.DAILY_ENERGY_BY_SOURCE_KWH, ""),), "kwatth",
               bars=True, stacked=True, w=24),
        series("Renewable fraction per day", ((q.DAILY_RENEWABLE_FRACTION_PCT, "Renewable fraction"),),
               "percent", bars=True, min=0, max=100),
        series("Diesel per day", ((q.DAILY_FUEL_L, "Diesel"),), "litre", bars=True, min=0),
        series("Litres per person per day", ((q.DAILY_L_PER_PERSON, "L/person/day"),),
               "suffix: L/person/day", bars=True, min=0, decimals=2),
        series("CO2 per day", ((q.DAILY_CO2_T, "CO2"),), "masst", bars=True, min=0, decimals=2),
    )
    return Dashboard(UID, "Camp environment", items, variables(site),
                     description="Monthly environmental figures (calendar-exact ones: "
                                 "`microgrid report`).",
                     time_from="now/M", time_to="now")
