"""Every provisioned alert rule's InfluxQL on the real influxd: raised while its alarm is active,
cleared when the service cleared it, nothing from another site; the silent-service rule fires
when the camp totals stop (docs/architecture.md §12). The virtual camp raises and clears each
alarm in tests/service/test_alarms_e2e.py, evaluating these same rules."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from alert_testkit import NO_DATA, firing
from testkit import EXAMPLE_SITE

from dashboards.alerts import DERIVED, alert_rules
from microgrid.config import load_site
from microgrid.readings import Reading
from telemetry.historian.influx import InfluxV1Historian

pytestmark = pytest.mark.integration

SITE = load_site(EXAMPLE_SITE)
T0 = datetime(2026, 10, 1, 6, 0, tzinfo=timezone.utc)
RULES = {r.uid.removesuffix("-malakal"): r for r in alert_rules(SITE)}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def alarm(minutes: float, code: str, device: str, active: float, site: str = "malakal") -> Reading:
    return Reading(at(minutes), "alarm", {"site": site, "device": device, "code": code},
                   {"active": active, "severity": 2.0, "value": 1.0})


@pytest.fixture(scope="module")
def db(influx_url):
    """Each code raised at 0:10, rewritten at 0:15 and 0:20, cleared at 0:22; a device alarm; a
    camp total every minute until 0:30; another site's alarm active throughout."""
    name = "alert_rules"
    readings = []
    for code in DERIVED:
        readings += [alarm(10, code, "dev-x", 1.0), alarm(15, code, "dev-x", 1.0), alarm(20, code, "dev-x", 1.0),
                     alarm(22, code, "dev-x", 0.0), alarm(10, code, "dev-y", 1.0, site="other-camp")]
    readings += [alarm(10, "dse_low_oil_pressure", "dg-1", 1.0), alarm(22, "dse_low_oil_pressure", "dg-1", 0.0),
                 alarm(10, "sunspec_over_temp", "pv-north", 1.0)]
    readings += [Reading(at(m), "camp", {"site": "malakal"}, {"load_kw": 400.0}) for m in range(31)]
    with InfluxV1Historian(influx_url, name) as h:
        h.raw_influxql(f'DROP DATABASE "{name}"')
        h.create_database()
        h.write(readings)
    return influx_url, name


@pytest.mark.parametrize("code", sorted(DERIVED))
def test_each_alarm_rule_raises_and_clears(db, code):
    rule = RULES[f"camp-{code.replace('_', '-')}"]
    assert firing(*db, rule, at(9)) == set()
    assert firing(*db, rule, at(10.5)) == {("malakal", "dev-x", code)}
    assert firing(*db, rule, at(21)) == {("malakal", "dev-x", code)}      # still within the window
    assert firing(*db, rule, at(23)) == set()                              # cleared: last active = 0
    assert firing(*db, rule, at(40)) == set()                              # nothing written: no data, OK


def test_device_alarms_rule_covers_every_profiles_codes(db):
    rule = RULES["camp-device-alarm"]
    assert firing(*db, rule, at(11)) == {("malakal", "dg-1", "dse_low_oil_pressure"),
                                         ("malakal", "pv-north", "sunspec_over_temp")}
    assert firing(*db, rule, at(23)) == {("malakal", "pv-north", "sunspec_over_temp")}
    assert '"code" =~ /^(dse|sunspec|victron|victron_tank)_/' in rule.query     # every profile's source


def test_silent_service_rule(db):
    rule = RULES["camp-service-silent"]
    assert firing(*db, rule, at(20)) == set()
    assert firing(*db, rule, at(40)) == {NO_DATA}                         # no camp totals for 5 min
