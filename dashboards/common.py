"""What every dashboard shares: the datasource uid, the template variables, panel builders."""

from __future__ import annotations

from typing import Any

from dashboards import queries as q
from dashboards.model import ConstantVariable, Datasource, FieldConfig, Panel, QueryVariable, Target, Variable
from microgrid.site import Site

#: The provisioned InfluxDB datasource (InfluxQL); dashboards reference it by this uid.
DATASOURCE = Datasource(uid="camp-influxdb", type="influxdb")
#: The Grafana folder the dashboards live in.
FOLDER_UID = "camp-microgrid"
FOLDER_TITLE = "Camp microgrid"
#: Default CO2 factor when no site file is given. [kg CO2 / L]
DEFAULT_CO2_FACTOR = 2.68


def site_variable(site: Site | None) -> QueryVariable:
    """``$site``: the ``site`` tag values of ``camp``; pre-selects the given site."""
    return QueryVariable("site", "Site", q.SITE_TAG_VALUES, current=site.name if site else "")


def headcount_variable(site: Site | None) -> ConstantVariable:
    """``$headcount``: baked from the site file (hidden constant, the figure the reports use);
    without a site file an editable textbox (default 1000) that the engineer sets once."""
    if site is not None:
        return ConstantVariable("headcount", "People on camp", str(site.headcount))
    return ConstantVariable("headcount", "People on camp", "1000", editable=True)


def co2_factor_variable(site: Site | None) -> ConstantVariable:
    """``$co2_factor``: the site's emission factor [kg CO2/L], a hidden constant."""
    value = site.emission_factor_kg_per_l if site is not None else DEFAULT_CO2_FACTOR
    return ConstantVariable("co2_factor", "CO2 factor [kg/L]", f"{value:g}")


def variables(site: Site | None) -> tuple[Variable, ...]:
    return (site_variable(site), headcount_variable(site), co2_factor_variable(site))


def stat(title: str, query: str, unit: str, *, description: str = "", decimals: int | None = 1,
         w: int = 4, h: int = 4, **field: Any) -> Panel:
    """A single-number panel over the selected range."""
    return Panel(title, "stat", (Target("A", query, alias="$col"),),
                 FieldConfig(unit=unit, decimals=decimals, **field), w=w, h=h,
                 description=description)


def series(title: str, targets: tuple[tuple[str, str], ...], unit: str, *, w: int = 12,
           h: int = 8, description: str = "", **opts: Any) -> Panel:
    """A time series panel; ``targets`` are ``(query, alias)`` pairs (refIds A, B, ...); an
    empty alias names each series by its column (``AS "..."``)."""
    field_keys = {"decimals", "min", "max", "mappings", "thresholds", "base_color"}
    field = {k: opts.pop(k) for k in list(opts) if k in field_keys}
    ts = tuple(Target(chr(ord("A") + i), query, alias or "$col")
               for i, (query, alias) in enumerate(targets))
    return Panel(title, "timeseries", ts, FieldConfig(unit=unit, **field), w=w, h=h,
                 description=description, **opts)


def per_device(title: str, query: str, unit: str, *, description: str = "",
               decimals: int | None = 1, w: int = 8, h: int = 6, **field: Any) -> Panel:
    """A bar gauge with one bar per device (``GROUP BY "device"``); ``field`` overrides the
    field config (``min``, ``max``, ``thresholds``, ``base_color``)."""
    config = {"min": 0, **field}
    return Panel(title, "bargauge", (Target("A", query, alias="$tag_device"),),
                 FieldConfig(unit=unit, decimals=decimals, **config), w=w, h=h,
                 description=description)


def by_column(title: str, query: str, unit: str, *, description: str = "",
              decimals: int | None = 0, w: int = 12, h: int = 6) -> Panel:
    """A bar gauge with one bar per selected column (``AS "..."``)."""
    return Panel(title, "bargauge", (Target("A", query, alias="$col"),),
                 FieldConfig(unit=unit, decimals=decimals, min=0), w=w, h=h,
                 description=description)
