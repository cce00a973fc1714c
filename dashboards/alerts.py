"""Grafana alert rules as code: one per alarm of docs/architecture.md §12, provisioned with the
dashboards (``provisioning/alerting/camp-alerts.yaml``, Grafana's unified-alerting file format:
``apiVersion: 1``, ``groups`` of ``rules`` with ``data`` queries and expressions).

The service evaluates every alarm rule itself and writes the ``alarm`` measurement (tags
``site``, ``device``, ``code``; ``active`` 0/1), rewriting an active alarm at least every 5 min;
so each Grafana rule mirrors one code: ``last("active")`` over the last :data:`WINDOW_S` per
site, device and code (query A), reduced to its last value (B) and firing above
:data:`FIRING_ABOVE` (C). A cleared alarm's last point is ``active = 0``; an alarm not written
for the whole window is no data, which is OK. The rule thresholds themselves are the site's, in
the service (one implementation); Grafana only notifies.

One more rule has no alarm behind it, since a dead service cannot raise one: ``service_silent``
fires when no ``camp`` totals arrived for :data:`SILENT_S` (no data is alerting).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dashboards.common import DATASOURCE, FOLDER_TITLE
from dashboards.queries import regex_escape
from microgrid.site import Site
from telemetry.register_profile import PROFILE_DIR, load_profile

__all__ = ["ALERTING_FILE", "FIRING_ABOVE", "SILENT_S", "WINDOW_S", "AlertRule", "alert_rules",
           "alerting_file", "device_alarm_sources"]

ALERTING_FILE = "camp-alerts.yaml"
#: Each alarm rule looks back this far (the service rewrites an active alarm every 5 min). [s]
WINDOW_S = 900
#: No ``camp`` totals for this long: the service (or its store) is silent. [s]
SILENT_S = 300
#: The reduced value fires above this (``active`` is 0 or 1).
FIRING_ABOVE = 0.5
GROUP, INTERVAL = "camp-alarms", "1m"


@dataclass(frozen=True)
class AlertRule:
    """One Grafana-managed alert rule.

    Attributes
    ----------
    uid, title : str
    query : str
        InfluxQL with ``$timeFilter`` (Grafana fills it from ``window_s``).
    severity : str
        ``warning`` or ``critical`` (a label for routing); ``device`` when the device's alarm says.
    summary : str
        The notification's summary (Grafana template: ``{{ $labels.device }}``).
    window_s : int
        The query's relative time range. [s]
    fires_when : str
        ``above`` (:data:`FIRING_ABOVE`) or ``below`` (1: nothing counted).
    no_data : str
        Grafana's ``noDataState``: ``OK`` or ``Alerting``.
    """

    uid: str
    title: str
    query: str
    severity: str
    summary: str
    window_s: int = WINDOW_S
    fires_when: str = "above"
    no_data: str = "OK"

    def to_yaml(self) -> dict[str, Any]:
        """The rule in Grafana's provisioning format."""
        threshold = ({"type": "gt", "params": [FIRING_ABOVE]} if self.fires_when == "above"
                     else {"type": "lt", "params": [1]})
        return {
            "uid": self.uid, "title": self.title, "condition": "C",
            "data": [
                {"refId": "A", "relativeTimeRange": {"from": self.window_s, "to": 0},
                 "datasourceUid": DATASOURCE.uid,
                 "model": {"refId": "A", "query": self.query, "rawQuery": True,
                           "resultFormat": "time_series", "intervalMs": 60000, "maxDataPoints": 43200}},
                {"refId": "B", "datasourceUid": "__expr__",
                 "model": {"refId": "B", "type": "reduce", "expression": "A", "reducer": "last",
                           "settings": {"mode": "dropNN"}}},
                {"refId": "C", "datasourceUid": "__expr__",
                 "model": {"refId": "C", "type": "threshold", "expression": "B",
                           "conditions": [{"evaluator": threshold}]}}],
            "noDataState": self.no_data, "execErrState": "Error", "for": "0s",
            "labels": {"severity": self.severity, "camp_microgrid": "alarm"},
            "annotations": {"summary": self.summary}, "isPaused": False}


#: The derived alarms and the service's own: code → (title, severity, summary).
DERIVED = {
    "device_offline": ("Device offline", "critical", "{{ $labels.device }} does not answer"),
    "wet_stacking": ("Genset below minimum load (wet stacking)", "warning",
                     "{{ $labels.device }} runs below its minimum load"),
    "soc_below_floor": ("Battery below its SOC floor", "critical", "{{ $labels.device }} SOC below the floor"),
    "fuel_autonomy_low": ("Few days of diesel left", "warning", "Diesel autonomy below the site's minimum"),
    "fuel_unexplained_loss": ("Unexplained fuel loss", "critical",
                              "Diesel gone beyond the gensets' burn and the gauges' tolerance: leak or theft?"),
    "optimizer_fallback": ("Optimizer in fallback", "warning", "Plans come from the fallback rule"),
    "plan_expired": ("Plan expired: plant on its own automatic mode", "warning",
                     "No fresh plan: the devices run on their own automatic mode"),
    "spool_backlog": ("Readings piling up in the spool", "warning",
                      "The spool holds many readings: store unreachable?"),
    "frequency_out_of_band": ("Frequency out of band", "critical", "{{ $labels.device }} frequency outside the band"),
    "voltage_out_of_band": ("Voltage out of band", "critical", "{{ $labels.device }} voltage outside the band"),
}


def device_alarm_sources() -> tuple[str, ...]:
    """The code prefixes of the device-reported alarms (every profile's ``alarm_source``)."""
    sources = {load_profile(p.stem).alarm_source for p in PROFILE_DIR.glob("*.json")}
    return tuple(sorted(s for s in sources if s))


def _site_match(site: Site | None) -> str:
    return f'"site" =~ /^{regex_escape(site.name)}$/' if site is not None else '"site" =~ /.+/'


def alert_rules(site: Site | None = None) -> tuple[AlertRule, ...]:
    """Every rule; ``site`` bakes its name into the queries (else every site, grouped by site)."""
    match = _site_match(site)
    suffix = f"-{site.name}" if site is not None else ""
    rules = []
    for code, (title, severity, summary) in DERIVED.items():
        query = (f'SELECT last("active") FROM "alarm" WHERE {match} AND "code" = \'{code}\' AND $timeFilter '
                 f'GROUP BY "site", "device", "code"')
        rules.append(AlertRule(f"camp-{code.replace('_', '-')}{suffix}"[:40], title, query, severity, summary))
    sources = "|".join(device_alarm_sources())
    rules.append(AlertRule(
        f"camp-device-alarm{suffix}"[:40], "Alarm reported by a device",
        f'SELECT last("active") FROM "alarm" WHERE {match} AND "code" =~ /^({sources})_/ AND $timeFilter '
        f'GROUP BY "site", "device", "code"', "critical",
        "{{ $labels.device }} reports {{ $labels.code }}"))
    rules.append(AlertRule(
        f"camp-service-silent{suffix}"[:40], "No readings from the camp's service",
        f'SELECT count("load_kw") FROM "camp" WHERE {match} AND $timeFilter GROUP BY "site"',
        "critical", "No camp totals for 5 min: is the service running?", window_s=SILENT_S,
        fires_when="below", no_data="Alerting"))
    return tuple(rules)


def alerting_file(site: Site | None = None) -> dict[str, Any]:
    """``provisioning/alerting/camp-alerts.yaml``: one rule group in the dashboards' folder."""
    return {"apiVersion": 1,
            "groups": [{"orgId": 1, "name": GROUP, "folder": FOLDER_TITLE, "interval": INTERVAL,
                        "rules": [r.to_yaml() for r in alert_rules(site)]}]}
