"""Camp overview: how self-sufficient the camp is, what it burnt, and what the plant is doing."""

from __future__ import annotations

from dashboards import queries as q
from dashboards.common import series, stat, variables
from dashboards.model import Dashboard, Row, ValueText
from microgrid.site import Site

UID = "camp-overview"

#: optimizer ``status`` codes (docs/architecture.md §4).
OPTIMIZER_STATUS = (ValueText(0, "optimal", "green"), ValueText(1, "feasible", "yellow"),
                    ValueText(2, "fallback", "red"))


def overview_dashboard(site: Site | None = None) -> Dashboard:
    """The camp engineer's home dashboard (``$site`` pre-selected when a site is given)."""
    items = (
        Row("Self-sufficiency over the selected range"),
        stat("Renewable fraction", q.RENEWABLE_FRACTION_PCT, "percent", min=0, max=100,
             base_color="red", thresholds=((30, "orange"), (60, "green")),
             description="HOMER renewable fraction 1 − genset kWh / load kWh, from the 15-min "
                         "energy roll-ups."),
        stat("Diesel burnt", q.FUEL_L, "litre", decimals=0,
             description="Metered by the gensets' fuel-rate sensors, else estimated from the "
                         "fuel curve."),
        stat("CO2 emitted", q.CO2_T, "masst", decimals=2,
             description="Litres × the site's emission factor."),
        stat("Fuel avoided vs diesel-only", q.FUEL_AVOIDED_L, "litre", decimals=0,
             description="Litres a camp without PV and battery (gensets load-following with the "
                         "same reserve) would have burnt, minus the litres burnt."),
        stat("Load served", q.LOAD_KWH, "kwatth", decimals=0),
        stat("Hours below minimum load", q.BELOW_MIN_H, "h",
             description="Genset running hours below its minimum loading (wet stacking), all "
                         "gensets."),
        Row("Power flows"),
        series("Power flows", ((q.POWER_FLOWS_KW, ""),), "kwatt", w=24,
               description="Camp totals per poll. Battery positive = discharging into the camp."),
        series("Battery state of charge", ((q.SOC_PCT, ""),), "percent", min=0, max=100),
        series("Gensets online", ((q.GENSETS_ONLINE, ""),), "short", decimals=0, min=0,
               steps=True),
        series("Genset loading", ((q.GENSET_LOAD_PCT, "$tag_device"),), "percent", min=0,
               w=24, h=7, description="Per genset, % of rated power; below the minimum "
                                      "loading (30 % typical) the engine wet-stacks."),
        Row("Forecast and plan"),
        series("PV actual vs forecast", ((q.PV_ACTUAL_KW, ""), (q.PV_FORECAST_KW, "")), "kwatt"),
        series("Load actual vs forecast", ((q.LOAD_ACTUAL_KW, ""), (q.LOAD_FORECAST_KW, "")),
               "kwatt"),
        series("Genset power: plan vs actual", ((q.GENSET_ACTUAL_KW, ""),
                                                (q.PLAN_GENSET_KW, "Plan ($tag_strategy)")),
               "kwatt", steps=True),
        series("Battery SOC: plan vs actual", ((q.SOC_ACTUAL_PCT, ""),
                                               (q.PLAN_SOC_PCT, "Plan ($tag_strategy)")),
               "percent", min=0, max=100),
        Row("Optimizer"),
        stat("Optimizer status", q.OPTIMIZER_STATUS, "none", decimals=0,
             mappings=OPTIMIZER_STATUS, w=6,
             description="Last solve: optimal, feasible (time limit, incumbent kept) or "
                         "fallback (rule-based plan)."),
        stat("Last solve time", q.OPTIMIZER_SOLVE_S, "s", decimals=2, w=6),
        stat("Last MIP gap", q.OPTIMIZER_GAP_PCT, "percent", decimals=2, w=6),
        stat("Setpoints rejected", q.SETPOINTS_REJECTED, "short", decimals=0, w=6,
             description="Setpoint writes not confirmed by read-back, and all writes."),
        series("Solve time", ((q.OPTIMIZER_SOLVE_S_SERIES, ""),), "s", w=24, h=6),
    )
    return Dashboard(UID, "Camp overview", items, variables(site),
                     description="Self-sufficiency, diesel, power flows, forecast and plan.",
                     time_from="now-24h", refresh="1m")
