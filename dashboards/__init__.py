"""Grafana dashboards as code (InfluxQL), provisioning files, and publishing.

- :mod:`dashboards.model`: a small typed layer over Grafana 11 dashboard JSON.
- :mod:`dashboards.queries`: every InfluxQL query, named; Grafana macro rendering.
- :mod:`dashboards.overview`, :mod:`dashboards.generators`, :mod:`dashboards.plant_health`,
  :mod:`dashboards.environment`, :mod:`dashboards.fuel` (one camp) and :mod:`dashboards.mission`
  (every camp): the dashboards; :func:`dashboards.catalog.all_dashboards` lists them.
- :mod:`dashboards.alerts`: one Grafana alert rule per camp alarm (docs/architecture.md §12).
- :mod:`dashboards.provisioning`: datasource (InfluxDB 1.x, or 2.x with a DBRP mapping) and
  dashboard-provider YAML; :mod:`dashboards.export` writes them and the alert rules; :mod:`dashboards.publish`
  pushes folder, datasource and dashboards through Grafana's HTTP API (grafana-api).

CLI: ``microgrid dashboards export --out DIR [--site SITE]`` and
``microgrid dashboards publish --url URL [--site SITE]`` (token in ``MICROGRID_GRAFANA_TOKEN``).
"""
