"""Evaluate a provisioned Grafana alert rule the way Grafana does, on a real influxd.

Query A is the rule's InfluxQL with ``$timeFilter`` rendered for ``[at - window, at]`` as Grafana
renders it; B reduces each series to its last non-null value (``dropNN``); C is the threshold.
No series at all is the rule's ``noDataState``. The result is the set of firing instances, as
``(site, device, code)`` tags (missing tags are "").
"""

from __future__ import annotations

from datetime import datetime, timedelta

import requests

from dashboards.alerts import FIRING_ABOVE, AlertRule
from dashboards.queries import time_filter

NO_DATA = ("no data",)


def rule_query(rule: AlertRule, at: datetime) -> str:
    return rule.query.replace("$timeFilter", time_filter(at - timedelta(seconds=rule.window_s), at))


def firing(url: str, db: str, rule: AlertRule, at: datetime) -> set[tuple[str, ...]]:
    """The rule's firing instances at ``at`` (``{NO_DATA}`` when no data and noDataState
    Alerting; empty when not firing)."""
    resp = requests.get(f"{url}/query", params={"db": db, "q": rule_query(rule, at), "epoch": "ms"}, timeout=30)
    resp.raise_for_status()
    result = resp.json()["results"][0]
    assert "error" not in result, (result, rule.query)
    out: set[tuple[str, ...]] = set()
    series = result.get("series", [])
    for s in series:
        values = [row[1] for row in s["values"] if row[1] is not None]
        if not values:
            continue
        last = values[-1]
        fires = last > FIRING_ABOVE if rule.fires_when == "above" else last < 1
        if fires:
            tags = s.get("tags", {})
            out.add((tags.get("site", ""), tags.get("device", ""), tags.get("code", "")))
    if not series and rule.no_data == "Alerting":
        return {NO_DATA}
    return out
