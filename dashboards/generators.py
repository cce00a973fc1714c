"""Generators: per genset loading, low-load hours, run hours, starts, fuel rate, kWh per litre."""

from __future__ import annotations

from dashboards import queries as q
from dashboards.common import per_device, series, variables
from dashboards.model import Dashboard, FieldConfig, Panel, Row, Target, ValueText
from microgrid.site import Site

UID = "camp-generators"
RUNNING = (ValueText(0, "stopped", "transparent"), ValueText(1, "running", "green"))


def generators_dashboard(site: Site | None = None) -> Dashboard:
    """Per-genset health and efficiency; bars are totals over the selected range."""
    items = (
        Row("Over the selected range, per genset"),
        per_device("Run hours", q.GENSET_RUN_H, "h"),
        per_device("Hours below minimum load", q.GENSET_BELOW_MIN_H, "h",
                   description="Running below the minimum loading (wet stacking)."),
        per_device("Starts", q.GENSET_STARTS, "short", decimals=0),
        per_device("kWh per litre", q.GENSET_KWH_PER_L, "suffix: kWh/L", decimals=2,
                   description="Genset energy / fuel; falls at low loading."),
        per_device("Energy", q.GENSET_KWH, "kwatth", decimals=0),
        per_device("Fuel", q.GENSET_FUEL_L, "litre", decimals=0),
        Row("Over time"),
        series("Loading", ((q.GENSET_LOAD_PCT, "$tag_device"),), "percent", min=0, w=24,
               thresholds=((30, "green"),), description="% of rated power."),
        series("Power", ((q.GENSET_POWER_KW, "$tag_device"),), "kwatt", min=0),
        series("Fuel rate (15-min mean)", ((q.GENSET_FUEL_RATE_LPH, "$tag_device"),), "litreh",
               min=0, description="Metered by the fuel-rate sensor, else estimated from the "
                                  "fuel curve (as the report's litres)."),
        Panel("Running", "state-timeline", (Target("A", q.GENSET_RUNNING, "$tag_device"),),
              FieldConfig("none", decimals=0, mappings=RUNNING, base_color="text"), w=24, h=5),
    )
    return Dashboard(UID, "Camp generators", items, variables(site),
                     description="Genset loading, low-load hours, run hours, starts, fuel.",
                     time_from="now-7d", refresh="5m")
