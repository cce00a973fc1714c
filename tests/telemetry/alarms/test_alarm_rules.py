"""The derived rules, one hand-checked case each (telemetry.alarms.rules), on the example camp's
thresholds: offline after 60 s, wet stacking after 60 min, SOC floor = the battery's 15 % minimum,
7 days of autonomy, 3 fallback plans, 100,000 spooled readings, 49-51 Hz, 360-440 V."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

from testkit import EXAMPLE_SITE

from microgrid.config import load_site
from microgrid.plant.fuel_balance import Loss
from telemetry.alarms.rules import DurationTracker, Observation, below_min_load, evaluate

SITE = load_site(EXAMPLE_SITE)
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)


def active(obs: Observation, site=SITE) -> dict[str, list[tuple]]:
    return {g.split(":", 1)[1]: [(c.device, round(c.value, 3), c.severity) for c in conds]
            for g, conds in evaluate(site, obs).items() if conds}


def judged(obs: Observation) -> set[str]:
    return {g.split(":", 1)[1] for g in evaluate(SITE, obs)}


def test_nothing_known_nothing_judged():
    assert judged(Observation(NOW, {})) == {"device_offline", "wet_stacking"}  # both: nobody offline / below


def test_each_rule_raises_at_its_threshold():
    latest = {"bess-1": {"soc_pct": 14.9, "frequency_hz": 48.9, "voltage_l1_l2_v": 400.0},
              "camp-main": {"frequency_hz": 50.0, "voltage_l1_l2_v": 445.0, "voltage_l2_l3_v": 400.0},
              "dg-1": {"running": 0, "frequency_hz": 0.0, "voltage_l1_l2_v": 0.0},   # stopped: not judged
              "pv-north": {"ac_power_kw": 0.0, "frequency_hz": 40.0}}                # asleep: not judged
    obs = Observation(NOW, latest, offline_for_s={"dg-2": 61.0, "pv-south": 59.0},
                      below_min_for_min={"dg-3": 60.0, "dg-1": 59.0}, autonomy_days=3.4,
                      fuel_loss=Loss(500.0, 452.0, 12 * 3600.0), fallback_streak=3, spool_points=100_001)
    assert active(obs) == {
        "device_offline": [("dg-2", 61.0, 2)], "wet_stacking": [("dg-3", 60.0, 1)],
        "soc_below_floor": [("bess-1", 14.9, 2)], "fuel_autonomy_low": [("fuel", 3.4, 2)],  # < half: critical
        "fuel_unexplained_loss": [("fuel", 500.0, 2)], "optimizer_fallback": [("service", 3.0, 1)],
        "spool_backlog": [("service", 100001.0, 1)], "frequency_out_of_band": [("bess-1", 48.9, 2)],
        "voltage_out_of_band": [("camp-main", 445.0, 2)]}


def test_and_clears_below_it():
    latest = {"bess-1": {"soc_pct": 15.0, "frequency_hz": 49.0, "voltage_l1_l2_v": 360.0},
              "dg-1": {"running": 1, "frequency_hz": 51.0, "voltage_l1_l2_v": 440.0}}
    obs = Observation(NOW, latest, offline_for_s={"dg-2": 30.0}, autonomy_days=7.0,
                      fuel_loss=Loss(452.0, 452.0, 12 * 3600.0), fallback_streak=2, spool_points=100_000)
    assert active(obs) == {}
    assert judged(obs) >= {"soc_below_floor", "fuel_autonomy_low", "fuel_unexplained_loss",
                           "optimizer_fallback", "spool_backlog", "frequency_out_of_band", "voltage_out_of_band"}
    assert active(dataclasses.replace(obs, autonomy_days=6.9)) == {"fuel_autonomy_low": [("fuel", 6.9, 1)]}


def test_soc_and_autonomy_clear_only_past_a_margin():
    """A value hovering at the threshold raises once, not every other cycle."""
    was = frozenset({("bess-1", "soc_below_floor"), ("fuel", "fuel_autonomy_low")})
    at_edge = Observation(NOW, {"bess-1": {"soc_pct": 15.5}}, autonomy_days=7.2)
    assert active(at_edge) == {}                                                 # not raised at 15.5 % / 7.2 d
    assert active(dataclasses.replace(at_edge, active=was)) == {                 # but kept once raised
        "soc_below_floor": [("bess-1", 15.5, 2)], "fuel_autonomy_low": [("fuel", 7.2, 1)]}
    clear = Observation(NOW, {"bess-1": {"soc_pct": 16.0}}, autonomy_days=7.35, active=was)
    assert active(clear) == {}                                                   # 1 % point, 5 % past


def test_a_site_sets_its_own_bands():
    site = dataclasses.replace(SITE, alarms=dataclasses.replace(SITE.alarms, frequency_band_hz=(59.0, 61.0)))
    obs = Observation(NOW, {"camp-main": {"frequency_hz": 50.0}})
    assert active(obs, site) == {"frequency_out_of_band": [("camp-main", 50.0, 2)]}


def test_wet_stacking_is_timed_while_running_below_minimum_load():
    dg3 = SITE.gensets[2]                          # 250 kW, 30 % min: 75 kW
    assert below_min_load(dg3, {"running": 1, "power_kw": 74.9}) is True
    assert below_min_load(dg3, {"running": 1, "power_kw": 75.0}) is False
    assert below_min_load(dg3, {"running": 0, "power_kw": 0.0}) is False
    assert below_min_load(dg3, {"running": 1}) is None and below_min_load(dg3, None) is None
    track = DurationTracker()
    track.update(NOW, "dg-3", True)
    track.update(NOW + timedelta(minutes=30), "dg-3", None)        # unknown: keeps counting
    track.update(NOW + timedelta(minutes=45), "dg-3", True)
    assert track.minutes(NOW + timedelta(minutes=61)) == {"dg-3": 61.0}
    track.update(NOW + timedelta(minutes=62), "dg-3", False)
    assert track.minutes(NOW + timedelta(minutes=63)) == {}
