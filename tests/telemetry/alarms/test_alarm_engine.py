"""The alarm state machine: raised once, refreshed while active, cleared once; groups apart;
a group not evaluated keeps its alarms (telemetry.alarms.engine)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

from telemetry.alarms import AlarmEngine, Condition

T0 = datetime(2026, 11, 1, 6, 0, tzinfo=timezone.utc)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def low_soc(soc: float) -> Condition:
    return Condition("bess-1", "soc_below_floor", 2, soc, f"bess-1 at {soc} %")


def test_raise_refresh_clear():
    engine = AlarmEngine("malakal", refresh_s=300)
    up = engine.update(at(0), "rule:soc_below_floor", [low_soc(19.0)])
    assert [a.code for a in up.raised] == ["soc_below_floor"] and not up.cleared
    [r] = up.readings
    assert r.measurement == "alarm"
    assert dict(r.tags) == {"site": "malakal", "device": "bess-1", "code": "soc_below_floor"}
    assert dict(r.fields) == {"active": 1.0, "severity": 2.0, "value": 19.0}
    assert engine.update(at(1), "rule:soc_below_floor", [low_soc(18.5)]).readings == []   # no news
    again = engine.update(at(5), "rule:soc_below_floor", [low_soc(18.0)])
    assert [r.fields["value"] for r in again.readings] == [18.0] and not again.raised      # refreshed
    assert engine.get("bess-1", "soc_below_floor").value == 18.0
    down = engine.update(at(6), "rule:soc_below_floor", [])
    [r] = down.readings
    assert r.fields["active"] == 0.0 and r.time == at(6) and [a.code for a in down.cleared] == ["soc_below_floor"]
    assert engine.active() == [] and engine.get("bess-1", "soc_below_floor").since == at(6)
    assert engine.update(at(7), "rule:soc_below_floor", []).readings == []                # cleared once


def test_a_group_only_clears_its_own_and_an_unevaluated_group_keeps_its_state():
    engine = AlarmEngine("malakal")
    engine.update(at(0), "rule:soc_below_floor", [low_soc(10.0)])
    engine.update(at(0), "device:dg-1:alarm_conditions_1",
                  [Condition("dg-1", "dse_low_oil_pressure", 2, 3.0, "dg-1: Low oil pressure")])
    assert engine.update(at(1), "rule:wet_stacking", []).readings == []
    assert [(a.device, a.code) for a in engine.active()] == [("bess-1", "soc_below_floor"),
                                                              ("dg-1", "dse_low_oil_pressure")]
    engine.update(at(2), "device:dg-1:alarm_conditions_1", [])
    assert [a.code for a in engine.active()] == ["soc_below_floor"]


def test_severity_change_is_written_at_once_and_json_is_strict():
    engine = AlarmEngine("malakal", refresh_s=3600)
    engine.update(at(0), "rule:fuel_autonomy_low", [Condition("fuel", "fuel_autonomy_low", 1, 6.0, "6 days")])
    up = engine.update(at(1), "rule:fuel_autonomy_low", [Condition("fuel", "fuel_autonomy_low", 2, 3.0, "3 days")])
    assert [r.fields["severity"] for r in up.readings] == [2.0]
    nan = engine.update(at(2), "service:plan", [Condition("service", "plan_expired", 1, math.nan, "old")], refresh_s=0)
    assert "value" not in nan.readings[0].fields and engine.get("service", "plan_expired").to_json()["value"] is None
    assert len(engine.update(at(3), "service:plan", [Condition("service", "plan_expired", 1, 60.0, "old")],
                             refresh_s=0).readings) == 1                                  # every tick
