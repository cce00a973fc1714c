"""Grafana provisioning: the InfluxDB datasource (InfluxQL) and the dashboard provider.

Grafana reads ``provisioning/datasources/*.yaml`` and ``provisioning/dashboards/*.yaml`` at start
(format: ``apiVersion: 1`` with ``datasources:`` / ``providers:`` lists), so a Grafana started
with the exported tree shows every dashboard with no clicks.

Two datasource flavours, one uid (``camp-influxdb``) so the dashboards do not care which:

- InfluxDB 1.x: InfluxQL natively; ``database`` (also as ``jsonData.dbName``), optional
  user/password from ``$MICROGRID_INFLUX_USER`` / ``$MICROGRID_INFLUX_PASSWORD``.
- InfluxDB 2.x: InfluxQL through the v1-compatible ``/query`` endpoint. The bucket needs a DBRP
  mapping to the database name the queries use (:func:`dbrp_script`), and Grafana authenticates
  with the header ``Authorization: Token $MICROGRID_INFLUX_TOKEN`` (``httpHeaderName1`` in
  ``jsonData``, its value in ``secureJsonData``).

Secrets are never written into files: the YAML holds ``${VAR}`` references that Grafana expands
from its environment; :func:`datasource_model` with ``resolve_env`` fills them for publishing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Mapping

from dashboards.common import DATASOURCE, FOLDER_TITLE, FOLDER_UID

ENV_USER = "MICROGRID_INFLUX_USER"
ENV_PASSWORD = "MICROGRID_INFLUX_PASSWORD"
ENV_TOKEN = "MICROGRID_INFLUX_TOKEN"
DATASOURCE_NAME = "Camp InfluxDB"


@dataclass(frozen=True)
class InfluxSettings:
    """Where Grafana finds the camp's InfluxDB.

    Attributes
    ----------
    version : 1 or 2
        InfluxDB generation (2 also covers 3.x / Cloud through the v1 API with a DBRP mapping).
    url : str
        Base URL as seen from the Grafana server, e.g. ``http://influxdb:8086``.
    database : str
        InfluxQL database (1.x) or the DBRP database name mapped to the bucket (2.x).
    bucket : str
        2.x bucket holding the readings (for the DBRP mapping).
    retention_policy : str
        Retention policy name of the DBRP mapping.
    """

    version: Literal[1, 2] = 1
    url: str = "http://localhost:8086"
    database: str = "microgrid"
    bucket: str = "microgrid"
    retention_policy: str = "autogen"


def _env_ref(name: str) -> str:
    return "${" + name + "}"


def datasource_model(settings: InfluxSettings, resolve_env: Mapping[str, str] | None = None
                     ) -> dict[str, Any]:
    """The datasource as Grafana's provisioning file and HTTP API both take it.

    Parameters
    ----------
    settings : InfluxSettings
    resolve_env : Mapping[str, str], optional
        An environment to take the secrets from, for publishing through the API (which does
        not expand ``${VAR}``): secrets unset there are left out, so an update keeps what
        Grafana stores, and the datasource does not become the org default. None keeps
        ``${VAR}`` references (provisioning files) and makes it the default datasource.
    """
    def secret(name: str) -> str:
        return _env_ref(name) if resolve_env is None else resolve_env.get(name, "")

    ds: dict[str, Any] = {"name": DATASOURCE_NAME, "uid": DATASOURCE.uid, "type": DATASOURCE.type,
                          "access": "proxy", "url": settings.url,
                          "isDefault": resolve_env is None,
                          "database": settings.database, "editable": False}
    json_data: dict[str, Any] = {"dbName": settings.database, "httpMode": "POST",
                                 "version": "InfluxQL", "timeInterval": "10s"}
    secure: dict[str, str] = {}
    if settings.version == 1:
        if secret(ENV_USER):
            ds["user"] = secret(ENV_USER)
        if secret(ENV_PASSWORD):
            secure["password"] = secret(ENV_PASSWORD)
    else:
        json_data["httpHeaderName1"] = "Authorization"
        if secret(ENV_TOKEN):
            secure["httpHeaderValue1"] = "Token " + secret(ENV_TOKEN)
    ds["jsonData"] = json_data
    if secure:
        ds["secureJsonData"] = secure
    return ds


def datasources_file(settings: InfluxSettings) -> dict[str, Any]:
    """``provisioning/datasources/camp-influxdb.yaml``."""
    return {"apiVersion": 1,
            "deleteDatasources": [],
            "datasources": [{"orgId": 1, **datasource_model(settings)}]}


def dashboards_provider_file(dashboards_path: str) -> dict[str, Any]:
    """``provisioning/dashboards/camp-microgrid.yaml``: load every JSON under ``dashboards_path``."""
    return {"apiVersion": 1,
            "providers": [{"name": "camp-microgrid", "orgId": 1, "type": "file",
                           "folder": FOLDER_TITLE, "folderUid": FOLDER_UID,
                           "disableDeletion": False, "allowUiUpdates": False,
                           "updateIntervalSeconds": 60,
                           "options": {"path": dashboards_path,
                                       "foldersFromFilesStructure": False}}]}


def dbrp_script(settings: InfluxSettings) -> str:
    """Shell script mapping the 2.x bucket to the InfluxQL database the dashboards query."""
    return f"""#!/bin/sh
# InfluxDB 2.x: Grafana's InfluxQL queries go to the v1-compatible /query endpoint, which finds
# the bucket through a DBRP mapping. Run once (needs the `influx` CLI configured with an
# all-access or operator token, e.g. INFLUX_HOST / INFLUX_ORG / INFLUX_TOKEN in the environment).
set -eu
BUCKET_ID=$(influx bucket list --name {settings.bucket} --hide-headers | cut -f 1)
influx v1 dbrp create --db {settings.database} --rp {settings.retention_policy} \\
  --bucket-id "$BUCKET_ID" --default
influx v1 dbrp list --db {settings.database}
"""

