"""Every InfluxQL query the dashboards run, named, in one place; and Grafana's macro rendering.

Measurements and fields are docs/architecture.md §4's (written by the poller and
:class:`microgrid.accounting.EnergyRollup`). Range figures (renewable fraction, litres, tCO2,
fuel avoided, kWh per litre, run hours...) are sums of the 15-min roll-ups (``energy``,
``genset_energy``), the same rows the reports sum, so a dashboard stat and the report agree.
Power curves come from the per-poll ``camp`` totals and the device measurements.

:func:`render` expands the macros the way Grafana does (``$timeFilter``, ``$__interval``,
``$site`` as an escaped regex, constants such as ``$headcount``): the panel-query tests run
exactly what Grafana would send.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Mapping, Sequence

from microgrid.plant.bucket import BUCKET_MIN

#: ``sum(coverage_pct) / DAY_COVERAGE_PCT`` = days with data (100 % × 15-min buckets per day),
#: the report's days for litres per person per day.
DAY_COVERAGE_PCT = 100 * 24 * 60 // BUCKET_MIN

SITE = '"site" =~ /^$site$/'
WHERE = f"WHERE {SITE} AND $timeFilter"
SITE_TAG_VALUES = 'SHOW TAG VALUES FROM "camp" WITH KEY = "site"'


def _tags(by: tuple[str, ...]) -> list[str]:
    return [f'"{t}"' for t in by]


def total(select: str, measurement: str, *by: str) -> str:
    """One value over the selected range (per tag value of ``by``)."""
    group = f" GROUP BY {', '.join(_tags(by))}" if by else ""
    return f'SELECT {select} FROM "{measurement}" {WHERE}{group}'


def daily(select: str) -> str:
    """Per UTC day from the ``energy`` roll-ups; days without data are absent."""
    return f'SELECT {select} FROM "energy" {WHERE} GROUP BY time(1d) fill(none)'


def over_time(select: str, measurement: str, *by: str, where: str = "") -> str:
    """Per Grafana interval (per tag value of ``by``); gaps stay gaps (``fill(null)``)."""
    group = ", ".join(["time($__interval)", *_tags(by)])
    cond = f"{SITE}{' AND ' + where if where else ''} AND $timeFilter"
    return f'SELECT {select} FROM "{measurement}" WHERE {cond} GROUP BY {group} fill(null)'


# -- range figures from the 15-min energy roll-ups ------------------------------------------
_RF = '100 * (1 - sum("genset_kwh") / sum("load_kwh"))'
_LPD = f'sum("fuel_l") * {DAY_COVERAGE_PCT} / $headcount / sum("coverage_pct")'
RENEWABLE_FRACTION_PCT = total(_RF, "energy")
FUEL_L = total('sum("fuel_l")', "energy")
FUEL_ESTIMATED_L = total('sum("fuel_estimated_l")', "energy")
CO2_T = total('sum("co2_kg") / 1000', "energy")
FUEL_AVOIDED_L = total('sum("diesel_only_fuel_l") - sum("fuel_l")', "energy")
CO2_AVOIDED_T = total('(sum("diesel_only_fuel_l") - sum("fuel_l")) * $co2_factor / 1000', "energy")
LOAD_KWH = total('sum("load_kwh")', "energy")
PV_KWH = total('sum("pv_kwh")', "energy")
KWH_PER_L = total('sum("genset_kwh") / sum("fuel_l")', "energy")
#: Litres per person per day with data (days = summed bucket coverage), as the report computes.
L_PER_PERSON_DAY = total(_LPD, "energy")
#: Share of the selected range covered by data (summed bucket coverage / range). [%]
COMPLETENESS_PCT = total(f'sum("coverage_pct") * {BUCKET_MIN * 60} / $__range_s', "energy")
ENERGY_BY_SOURCE_KWH = total(
    'sum("pv_kwh") AS "PV used", sum("genset_kwh") AS "Gensets", '
    'sum("battery_discharge_kwh") AS "Battery out", sum("battery_charge_kwh") AS "Battery in", '
    'sum("curtailed_kwh") AS "PV curtailed", sum("load_kwh") AS "Load"', "energy")

# -- the same per day (bars) --------------------------------------------------------------
DAILY_ENERGY_BY_SOURCE_KWH = daily('sum("pv_kwh") AS "PV used", sum("genset_kwh") AS "Gensets", '
                                   'sum("battery_discharge_kwh") AS "Battery out"')
DAILY_RENEWABLE_FRACTION_PCT = daily(_RF)
DAILY_FUEL_L = daily('sum("fuel_l")')
DAILY_L_PER_PERSON = daily(_LPD)
DAILY_CO2_T = daily('sum("co2_kg") / 1000')

# -- power flows (camp totals per poll) ---------------------------------------------------
POWER_FLOWS_KW = over_time('mean("load_kw") AS "Load", mean("pv_kw") AS "PV", '
                           'mean("genset_kw") AS "Gensets", '
                           'mean("battery_kw") AS "Battery (+ discharge)"', "camp")
SOC_PCT = over_time('mean("soc_pct") AS "SOC"', "camp")
GENSETS_ONLINE = over_time('max("gensets_online") AS "Gensets online"', "camp")
PV_ACTUAL_KW = over_time('mean("pv_kw") AS "PV actual"', "camp")
LOAD_ACTUAL_KW = over_time('mean("load_kw") AS "Load actual"', "camp")
GENSET_ACTUAL_KW = over_time('mean("genset_kw") AS "Gensets actual"', "camp")
SOC_ACTUAL_PCT = over_time('mean("soc_pct") AS "SOC actual"', "camp")


def forecast_kw(quantity: str) -> str:
    """p50/p10/p90 of a forecast quantity (``pv`` or ``load``). [kW]"""
    return over_time('mean("p50_kw") AS "Forecast p50", mean("p10_kw") AS "Forecast p10", '
                     'mean("p90_kw") AS "Forecast p90"', "forecast",
                     where=f"\"quantity\" = '{quantity}'")


PV_FORECAST_KW = forecast_kw("pv")
LOAD_FORECAST_KW = forecast_kw("load")
PLAN_GENSET_KW = over_time('mean("genset_kw")', "plan", "strategy")
PLAN_SOC_PCT = over_time('mean("soc_pct")', "plan", "strategy")

# -- optimizer and control ----------------------------------------------------------------
OPTIMIZER_STATUS = total('last("status") AS "Status"', "optimizer")
OPTIMIZER_SOLVE_S = total('last("solve_s") AS "Solve time"', "optimizer")
OPTIMIZER_GAP_PCT = total('last("gap_pct") AS "MIP gap"', "optimizer")
OPTIMIZER_SOLVE_S_SERIES = over_time('max("solve_s") AS "Solve time"', "optimizer")
SETPOINTS_REJECTED = total('count("value") - sum("accepted") AS "Rejected", '
                           'count("value") AS "Written"', "setpoint")

# -- gensets (per device) -----------------------------------------------------------------
GENSET_LOAD_PCT = over_time('mean("load_pct")', "genset", "device")
GENSET_POWER_KW = over_time('mean("power_kw")', "genset", "device")
#: Fuel rate from the 15-min roll-ups (metered, else estimated), so it exists for every genset. [L/h]
GENSET_FUEL_RATE_LPH = over_time(f'mean("fuel_l") * {60 // BUCKET_MIN}', "genset_energy", "device")
GENSET_RUNNING = over_time('last("running")', "genset", "device")
GENSET_RUN_H = total('sum("run_h")', "genset_energy", "device")
GENSET_BELOW_MIN_H = total('sum("below_min_h")', "genset_energy", "device")
GENSET_STARTS = total('sum("starts")', "genset_energy", "device")
GENSET_KWH = total('sum("genset_kwh")', "genset_energy", "device")
GENSET_FUEL_L = total('sum("fuel_l")', "genset_energy", "device")
GENSET_KWH_PER_L = total('sum("genset_kwh") / sum("fuel_l")', "genset_energy", "device")
BELOW_MIN_H = total('sum("below_min_h")', "genset_energy")


# -- plant health (docs/architecture.md §4 health fields, per device) ----------------------
RUNNING = '"running" = 1'


def per_device(field: str, measurement: str, where: str = "") -> str:
    """Interval means of one health field, one series per device."""
    return over_time(f'mean("{field}")', measurement, "device", where=where)


def latest(field: str, measurement: str) -> str:
    """The last value of a field in the selected range, per device."""
    return total(f'last("{field}")', measurement, "device")


def phases(prefix: str, suffix: str, measurement: str, where: str = "") -> str:
    """The three line quantities ``{prefix}_l1_l2_{suffix}``... (voltages) or
    ``{prefix}_l1_{suffix}``... (currents), per device."""
    names = (("l1_l2", "L1-L2"), ("l2_l3", "L2-L3"), ("l3_l1", "L3-L1")) if prefix == "voltage" \
        else (("l1", "L1"), ("l2", "L2"), ("l3", "L3"))
    select = ", ".join(f'mean("{prefix}_{k}_{suffix}") AS "{label}"' for k, label in names)
    return over_time(select, measurement, "device", where=where)


METER_FREQUENCY_HZ = per_device("frequency_hz", "load_meter")
BATTERY_FREQUENCY_HZ = per_device("frequency_hz", "battery")
GENSET_FREQUENCY_HZ = per_device("frequency_hz", "genset", RUNNING)
METER_VOLTAGES_V = phases("voltage", "v", "load_meter")
METER_CURRENTS_A = phases("current", "a", "load_meter")
GENSET_VOLTAGES_V = phases("voltage", "v", "genset", RUNNING)
GENSET_CURRENTS_A = phases("current", "a", "genset", RUNNING)
METER_POWER_FACTOR = per_device("power_factor", "load_meter")
GENSET_POWER_FACTOR = per_device("power_factor", "genset", RUNNING)
BATTERY_POWER_FACTOR = per_device("power_factor", "battery")
METER_REACTIVE_KVAR = per_device("reactive_power_kvar", "load_meter")
GENSET_OIL_PRESSURE_KPA = per_device("oil_pressure_kpa", "genset", RUNNING)
GENSET_COOLANT_C = per_device("coolant_temp_c", "genset")
GENSET_ENGINE_BATTERY_V = per_device("engine_battery_v", "genset")
BATTERY_SOH_PCT = per_device("soh_pct", "battery")
BATTERY_MODULE_TEMP_C = over_time('max("module_temp_max_c") AS "hottest module", '
                                  'min("module_temp_min_c") AS "coldest module"',
                                  "battery", "device")
BATTERY_CELL_VOLTAGE_V = over_time('max("cell_voltage_max_v") AS "highest cell", '
                                   'min("cell_voltage_min_v") AS "lowest cell"',
                                   "battery", "device")
BATTERY_DC_VOLTAGE_V = per_device("voltage_v", "battery")
BATTERY_DC_CURRENT_A = per_device("current_a", "battery")
BATTERY_LIMITS_KW = over_time('mean("charge_limit_kw") AS "charge limit", '
                              'mean("discharge_limit_kw") AS "discharge limit"', "battery", "device")
BATTERY_CURRENT_LIMITS_A = over_time('mean("charge_current_limit_a") AS "charge", '
                                     'mean("discharge_current_limit_a") AS "discharge"',
                                     "battery", "device")
LATEST_COOLANT_C = latest("coolant_temp_c", "genset")
LATEST_ENGINE_BATTERY_V = latest("engine_battery_v", "genset")
LATEST_BATTERY_SOH_PCT = latest("soh_pct", "battery")
LATEST_MODULE_TEMP_MAX_C = latest("module_temp_max_c", "battery")


# -- the mission: every camp side by side (``$camp``: the mission's site tags, multi-value) ---
CAMPS = '"site" =~ /^$camp$/'
CAMP_TAG_VALUES = SITE_TAG_VALUES


def per_camp(select: str, measurement: str) -> str:
    """One value per camp over the selected range (``GROUP BY "site"``)."""
    return f'SELECT {select} FROM "{measurement}" WHERE {CAMPS} AND $timeFilter GROUP BY "site"'


def all_camps(select: str, measurement: str) -> str:
    """One value for all the selected camps over the range."""
    return f'SELECT {select} FROM "{measurement}" WHERE {CAMPS} AND $timeFilter'


MISSION_RENEWABLE_FRACTION_PCT = all_camps(_RF, "energy")
MISSION_FUEL_L = all_camps('sum("fuel_l")', "energy")
MISSION_CO2_T = all_camps('sum("co2_kg") / 1000', "energy")
MISSION_FUEL_AVOIDED_L = all_camps('sum("diesel_only_fuel_l") - sum("fuel_l")', "energy")
MISSION_LOAD_KWH = all_camps('sum("load_kwh")', "energy")
CAMP_RENEWABLE_FRACTION_PCT = per_camp(_RF, "energy")
CAMP_FUEL_L = per_camp('sum("fuel_l")', "energy")
CAMP_FUEL_AVOIDED_L = per_camp('sum("diesel_only_fuel_l") - sum("fuel_l")', "energy")
#: Share of the range each camp has data for (summed bucket coverage / range). [%]
CAMP_COMPLETENESS_PCT = per_camp(f'sum("coverage_pct") * {BUCKET_MIN * 60} / $__range_s', "energy")
#: Days of fuel autonomy, the last value in the range (the ``fuel`` measurement: ``autonomy_days``,
#: written by the service's fuel ledger, docs/architecture.md §12; no data where not written).
CAMP_AUTONOMY_D = per_camp('last("autonomy_days")', "fuel")
_LAST_ALARMS = ('SELECT last("active") AS "active", last("severity") AS "severity", last("value") AS "value" '
                'FROM "alarm" WHERE ' + CAMPS + ' AND $timeFilter GROUP BY "site", "device", "code"')
#: Alarms active at the end of the range, per camp: each alarm's (device, code) last state, summed.
CAMP_ACTIVE_ALARMS = f'SELECT sum("active") AS "active alarms" FROM ({_LAST_ALARMS}) GROUP BY "site"'
#: Every alarm of the selected camps with its last state in the range (a table).
ALARMS_TABLE = _LAST_ALARMS
CAMP_DAILY_RENEWABLE_FRACTION_PCT = (f'SELECT {_RF} FROM "energy" WHERE {CAMPS} AND $timeFilter '
                                     'GROUP BY time(1d), "site" fill(none)')


# -- fuel logistics and alarms (docs/architecture.md §12) ----------------------------------
#: Written once a minute by the service's fuel ledger (measurement ``fuel``).
FUEL_STOCK_L = total('last("stock_l")', "fuel")
FUEL_AUTONOMY_DAYS = total('last("autonomy_days")', "fuel")
FUEL_PLANNED_BURN_L_PER_DAY = total('last("planned_burn_l_per_day")', "fuel")
FUEL_BURN_L_PER_DAY = total('last("burn_l_per_day")', "fuel")
FUEL_UNEXPLAINED_LOSS_L = total('last("unexplained_loss_l")', "fuel")
#: Deliveries found by the fuel balance (measurement ``fuel_delivery``, one point each).
FUEL_DELIVERED_L = total('sum("delivered_l")', "fuel_delivery")
FUEL_DELIVERIES = total('count("delivered_l")', "fuel_delivery")
#: Litres avoided against the diesel-only camp, in tanker loads (``$tanker_size_l``).
CONVOYS_AVOIDED = total('(sum("diesel_only_fuel_l") - sum("fuel_l")) / $tanker_size_l', "energy")
FUEL_STOCK_SERIES_L = over_time('mean("stock_l") AS "Diesel on site"', "fuel")
FUEL_AUTONOMY_SERIES_DAYS = over_time('mean("autonomy_days") AS "Days of autonomy"', "fuel")
DAILY_DELIVERED_L = (f'SELECT sum("delivered_l") AS "Delivered" FROM "fuel_delivery" {WHERE} '
                     'GROUP BY time(1d) fill(none)')
#: Alarms active now (the last state of each device and code in the range).
ALARMS_ACTIVE = (f'SELECT sum("last") FROM (SELECT last("active") FROM "alarm" {WHERE} '
                 'GROUP BY "device", "code")')
ALARMS_SERIES = over_time('max("active")', "alarm", "device", "code")


# -- Grafana's macros ---------------------------------------------------------------------
def time_filter(start: datetime, end: datetime) -> str:
    """``$timeFilter`` as Grafana renders it for the range [start, end): epoch ms, end inclusive."""
    def ms(t: datetime) -> int:
        return int(t.astimezone(timezone.utc).timestamp() * 1000)
    return f"time >= {ms(start)}ms and time <= {ms(end) - 1}ms"


def regex_escape(value: str) -> str:
    """Escape a variable value for a ``=~ /^...$/`` InfluxQL regex (as Grafana does)."""
    return re.sub(r"([\\^$.|?*+()\[\]{}/-])", r"\\\1", value)


def interval_text(interval: timedelta) -> str:
    """``$__interval`` text: ``15m``, ``1h``, ``30s``."""
    s = int(interval.total_seconds())
    for unit, n in (("d", 86400), ("h", 3600), ("m", 60)):
        if s % n == 0:
            return f"{s // n}{unit}"
    return f"{s}s"


def render(query: str, start: datetime, end: datetime, interval: timedelta,
           variables: Mapping[str, str | Sequence[str]]) -> str:
    """Expand Grafana's macros in ``query`` for a range, an interval and variable values.

    Parameters
    ----------
    query : str
        Panel InfluxQL with ``$timeFilter``, ``$__interval``, ``$__range_s`` and ``$name``.
    start, end : datetime
        The dashboard's time range, aware UTC; ``end`` exclusive.
    interval : timedelta
        What Grafana picked for ``$__interval``.
    variables : Mapping[str, str or sequence of str]
        Template variable values; ``site`` is regex-escaped (it is used in ``=~``); a sequence is a
        multi-value variable, written as Grafana writes one in a regex: ``(a|b)``, each escaped.
    """
    out = query.replace("$timeFilter", time_filter(start, end))
    out = out.replace("$__interval", interval_text(interval))
    out = out.replace("$__range_s", str(int((end - start).total_seconds())))
    for name in sorted(variables, key=len, reverse=True):
        value = variables[name]
        if not isinstance(value, str):
            text = "(" + "|".join(regex_escape(v) for v in value) + ")"
        else:
            text = regex_escape(value) if name == "site" else value
        out = out.replace(f"${name}", text)
    left = re.findall(r"\$\w+", out)
    if left:
        raise ValueError(f"unrendered variables {left} in query {query!r}")
    return out
