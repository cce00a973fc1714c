"""Mission: every camp side by side, with a drill-down to each camp's overview.

``$camp`` is a multi-value variable over the ``site`` tags of the store, pre-selected with the
mission file's camps (every camp when no mission file is given). Figures are over the selected
range from the 15-min ``energy`` roll-ups, as the mission report sums them
(``microgrid report --mission``): the mission's renewable fraction, diesel and CO2; per camp its
renewable fraction, diesel, litres avoided and data completeness; days of fuel autonomy and active
alarms where the camps write them (``fuel.autonomy_days``, ``alarm``: docs/architecture.md §12). A
click on a camp's bar opens that camp's overview with the same time range.
"""

from __future__ import annotations

from dashboards import queries as q
from dashboards.common import series, stat
from dashboards.model import (
    Dashboard,
    DataLink,
    FieldConfig,
    Panel,
    QueryVariable,
    Row,
    Target,
)
from dashboards.overview import UID as OVERVIEW_UID
from microgrid.mission import Mission

UID = "mission-overview"
#: The drill-down from a camp's value to its overview, keeping the time range.
CAMP_OVERVIEW = DataLink("Camp overview: ${__field.labels.site}",
                         f"/d/{OVERVIEW_UID}?var-site=${{__field.labels.site}}&${{__url_time_range}}")
#: The same from a row of a table (the camp is a column there).
TABLE_CAMP_OVERVIEW = DataLink("Camp overview: ${__data.fields.site}",
                               f"/d/{OVERVIEW_UID}?var-site=${{__data.fields.site}}&${{__url_time_range}}")


def _per_camp(title: str, query: str, unit: str, *, decimals: int = 0, description: str = "", w: int = 8,
              thresholds: tuple[tuple[float, str], ...] = (), base_color: str = "green",
              maximum: float | None = None) -> Panel:
    """A bar gauge, one bar per camp, each linking to the camp's overview."""
    field = FieldConfig(unit, decimals=decimals, min=0, max=maximum, thresholds=thresholds,
                        base_color=base_color, links=(CAMP_OVERVIEW,))
    return Panel(title, "bargauge", (Target("A", query, alias="$tag_site"),), field, w=w, h=7,
                 description=description)


def mission_dashboard(mission: Mission | None = None) -> Dashboard:
    """The mission officer's view of every camp (the mission's camps pre-selected when given)."""
    target = mission.target_renewable_fraction_pct if mission is not None else 80.0
    year = mission.target_year if mission is not None else 2030
    goal = ((target, "green"),)
    items = (
        Row("Mission over the selected range"),
        stat("Renewable fraction", q.MISSION_RENEWABLE_FRACTION_PCT, "percent", min=0, max=100,
             base_color="red", thresholds=((target / 2, "orange"), *goal), w=6,
             description=f"1 - genset kWh / load kWh of the selected camps together; the target is "
                         f"{target:g} % by {year} (green from there)."),
        stat("Diesel", q.MISSION_FUEL_L, "litre", decimals=0, w=6),
        stat("CO2", q.MISSION_CO2_T, "masst", decimals=1, w=6),
        stat("Diesel avoided vs diesel-only camps", q.MISSION_FUEL_AVOIDED_L, "litre", decimals=0, w=6),
        Row("Camps side by side (click a camp for its overview)"),
        _per_camp("Renewable fraction", q.CAMP_RENEWABLE_FRACTION_PCT, "percent", decimals=1, maximum=100,
                  base_color="red", thresholds=((target / 2, "orange"), *goal)),
        _per_camp("Diesel", q.CAMP_FUEL_L, "litre"),
        _per_camp("Diesel avoided vs diesel-only", q.CAMP_FUEL_AVOIDED_L, "litre"),
        _per_camp("Days of fuel autonomy", q.CAMP_AUTONOMY_D, "d", decimals=1, base_color="red",
                  thresholds=((3, "orange"), (7, "green")),
                  description="Fuel stock / planned daily burn, last value in the range, where the camp "
                              "reports it (fuel logistics); no bar where it does not."),
        _per_camp("Active alarms", q.CAMP_ACTIVE_ALARMS, "short", base_color="green", thresholds=((1, "red"),),
                  description="Alarms whose last state in the range is active, per camp."),
        _per_camp("Data completeness", q.CAMP_COMPLETENESS_PCT, "percent", decimals=1, maximum=100,
                  base_color="red", thresholds=((90, "orange"), (99, "green")),
                  description="Share of the range with data (15-min bucket coverage). A camp without data "
                              "has no bar: it is missing, never zero."),
        series("Renewable fraction per camp per day", ((q.CAMP_DAILY_RENEWABLE_FRACTION_PCT, "$tag_site"),),
               "percent", bars=False, min=0, max=100, w=24),
        Panel("Alarms (last state in the range)", "table",
              (Target("A", q.ALARMS_TABLE, result_format="table"),),
              FieldConfig("none", decimals=0, links=(TABLE_CAMP_OVERVIEW,)), w=24, h=8),
    )
    camps = tuple(c.name for c in mission.camps) if mission is not None else ()
    variables = (QueryVariable("camp", "Camps", q.CAMP_TAG_VALUES, current=camps, multi=True, include_all=True),)
    title = f"Mission {mission.name}" if mission is not None else "Mission"
    return Dashboard(UID, title, items, variables,
                     description="Every camp side by side: renewable fraction, diesel, autonomy, alarms; "
                                 "calendar periods and the mission report: `microgrid report --mission`.",
                     time_from="now/M", time_to="now", refresh="5m")
