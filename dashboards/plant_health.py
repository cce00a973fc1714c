"""Plant health: what a camp engineer checks before trusting any optimizer.

Per device, in its units, with sane thresholds drawn on every panel: the camp grid (frequency,
line voltages, phase currents, power factor, reactive power at the main meter and at the
grid-forming units), the gensets (oil pressure and frequency while running, coolant, starter
battery) and the batteries (state of health, module temperature and cell voltage extremes, DC
voltage and current, the BMS's limits). Fields are docs/architecture.md §4's health fields; a
device that does not report one simply has no series.

The thresholds are generic, for a 400 V / 50 Hz camp grid, 24 V engine starter batteries and an
LFP bank; set the engine's and the battery's own limits from their manuals where they differ.
"""

from __future__ import annotations

from dashboards import queries as q
from dashboards.common import per_device, series, variables
from dashboards.model import Dashboard, Row
from microgrid.site import Site

UID = "camp-plant-health"

#: 50 Hz grid: ±1 % normal, ±2 % out of bounds. [Hz]
FREQUENCY_HZ = ((49.0, "orange"), (49.5, "green"), (50.5, "orange"), (51.0, "red"))
#: 400 V line-to-line: ±10 % (EN 50160 supply voltage band). [V]
VOLTAGE_V = ((360.0, "green"), (440.0, "red"))
#: lagging power factor below 0.85 loads the gensets' alternators with reactive current. [-]
POWER_FACTOR = ((0.85, "green"),)
#: running diesel: warning below 200 kPa, typical low-oil-pressure shutdown near 150 kPa. [kPa]
OIL_PRESSURE_KPA = ((150.0, "orange"), (200.0, "green"))
#: coolant: high-temperature warning at 95 °C, typical shutdown at 100 °C. [°C]
COOLANT_C = ((95.0, "orange"), (100.0, "red"))
#: 24 V starter battery: below 24.0 V at rest it may not crank; above 29 V overcharged. [V]
ENGINE_BATTERY_V = ((24.0, "green"), (29.0, "orange"))
#: battery state of health: replacement is due around 70-80 %. [%]
SOH_PCT = ((70.0, "orange"), (80.0, "green"))
#: LFP modules: charge derates below 10 °C and above 40 °C, stop at 45 °C. [°C]
MODULE_TEMP_C = ((10.0, "green"), (40.0, "orange"), (45.0, "red"))
#: LFP cells: 2.9-3.6 V in use; 3.65 V is the usual charge cut-off. [V]
CELL_VOLTAGE_V = ((2.9, "green"), (3.6, "orange"), (3.65, "red"))


def plant_health_dashboard(site: Site | None = None) -> Dashboard:
    """The plant room on one page (``$site`` pre-selected when a site is given)."""
    items = (
        Row("Camp grid"),
        series("Frequency", ((q.METER_FREQUENCY_HZ, "meter $tag_device"),
                             (q.BATTERY_FREQUENCY_HZ, "battery $tag_device"),
                             (q.GENSET_FREQUENCY_HZ, "genset $tag_device")),
               "hertz", decimals=2, base_color="red", thresholds=FREQUENCY_HZ,
               description="At the main meter, the battery inverters and the running gensets."),
        series("Line voltages (meter)", ((q.METER_VOLTAGES_V, "$tag_device $col"),), "volt",
               decimals=1, base_color="red", thresholds=VOLTAGE_V),
        series("Phase currents (meter)", ((q.METER_CURRENTS_A, "$tag_device $col"),), "amp",
               decimals=0),
        series("Power factor", ((q.METER_POWER_FACTOR, "meter $tag_device"),
                                (q.BATTERY_POWER_FACTOR, "battery $tag_device"),
                                (q.GENSET_POWER_FACTOR, "genset $tag_device")),
               "none", decimals=2, base_color="orange", thresholds=POWER_FACTOR),
        series("Reactive power (meter)", ((q.METER_REACTIVE_KVAR, "$tag_device"),),
               "kvoltampreact", decimals=1),
        Row("Gensets"),
        per_device("Coolant temperature (last)", q.LATEST_COOLANT_C, "celsius", w=12, h=5,
                   thresholds=COOLANT_C),
        per_device("Starter battery (last)", q.LATEST_ENGINE_BATTERY_V, "volt", w=12, h=5,
                   base_color="red", thresholds=ENGINE_BATTERY_V),
        series("Oil pressure (running)", ((q.GENSET_OIL_PRESSURE_KPA, "$tag_device"),),
               "pressurekpa", decimals=0, min=0, base_color="red", thresholds=OIL_PRESSURE_KPA),
        series("Coolant temperature", ((q.GENSET_COOLANT_C, "$tag_device"),), "celsius",
               decimals=0, thresholds=COOLANT_C),
        series("Starter battery", ((q.GENSET_ENGINE_BATTERY_V, "$tag_device"),), "volt",
               decimals=1, base_color="red", thresholds=ENGINE_BATTERY_V),
        series("Line voltages (running)", ((q.GENSET_VOLTAGES_V, "$tag_device $col"),), "volt",
               decimals=1, base_color="red", thresholds=VOLTAGE_V),
        series("Phase currents (running)", ((q.GENSET_CURRENTS_A, "$tag_device $col"),), "amp",
               decimals=0, w=24),
        Row("Batteries"),
        per_device("State of health (last)", q.LATEST_BATTERY_SOH_PCT, "percent", w=12, h=5,
                   max=100, base_color="red", thresholds=SOH_PCT),
        per_device("Hottest module (last)", q.LATEST_MODULE_TEMP_MAX_C, "celsius", w=12, h=5,
                   base_color="orange", thresholds=MODULE_TEMP_C),
        series("State of health", ((q.BATTERY_SOH_PCT, "$tag_device"),), "percent",
               decimals=1, base_color="red", thresholds=SOH_PCT),
        series("Module temperature extremes", ((q.BATTERY_MODULE_TEMP_C, "$tag_device $col"),),
               "celsius", decimals=1, base_color="orange", thresholds=MODULE_TEMP_C),
        series("Cell voltage extremes", ((q.BATTERY_CELL_VOLTAGE_V, "$tag_device $col"),),
               "volt", decimals=3, base_color="red", thresholds=CELL_VOLTAGE_V),
        series("DC voltage", ((q.BATTERY_DC_VOLTAGE_V, "$tag_device"),), "volt", decimals=1),
        series("DC current (+ discharge)", ((q.BATTERY_DC_CURRENT_A, "$tag_device"),), "amp",
               decimals=0),
        series("Charge / discharge limits", ((q.BATTERY_LIMITS_KW, "$tag_device $col"),),
               "kwatt", decimals=0, min=0,
               description="The inverter's present limits (SunSpec 124); the BMS's current "
                           "limits are beside."),
        series("BMS current limits", ((q.BATTERY_CURRENT_LIMITS_A, "$tag_device $col"),), "amp",
               decimals=0, min=0),
    )
    return Dashboard(UID, "Camp plant health", items, variables(site),
                     description="Frequency, voltages, currents, engine and battery health per "
                                 "device, with thresholds.",
                     time_from="now-24h", refresh="1m")
