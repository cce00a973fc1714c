"""Publish the folder, the datasource and the dashboards to a Grafana through its HTTP API.

Idempotent: the folder and the datasource are looked up by uid first and updated when they
exist (created otherwise); dashboards are saved with ``overwrite: true`` under their stable
uids. Publishing twice leaves one folder, one datasource and one copy of each dashboard.

The API token comes from the environment (``MICROGRID_GRAFANA_TOKEN``) and is never logged or
put in an error message.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import urlsplit

from grafana_api.grafana_api import GrafanaClientError, GrafanaException
from grafana_api.grafana_face import GrafanaFace

from dashboards.common import DATASOURCE, FOLDER_TITLE, FOLDER_UID
from dashboards.export import dashboard_json
from dashboards.provisioning import InfluxSettings, datasource_model
from microgrid.errors import ConfigError, MicrogridError
from microgrid.mission import Mission
from microgrid.site import Site

log = logging.getLogger(__name__)

ENV_TOKEN = "MICROGRID_GRAFANA_TOKEN"


class PublishError(MicrogridError):
    """Grafana refused a request (names the request, never the token)."""


@dataclass(frozen=True)
class PublishResult:
    """What publishing did: ``created`` / ``updated`` per object, and the dashboard uids."""

    folder: str
    datasource: str
    dashboards: tuple[str, ...]


def grafana_client(url: str, token: str, timeout_s: float = 10.0) -> GrafanaFace:
    """A grafana-api client for ``url`` (``http[s]://host[:port][/prefix]``) with a bearer token."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"Grafana URL must be http(s)://host[:port][/path], got {url!r}",
                          key="--url")
    prefix = parts.path.strip("/")
    return GrafanaFace(auth=token, host=parts.hostname, port=parts.port, protocol=parts.scheme,
                       url_path_prefix=f"{prefix}/" if prefix else "", timeout=timeout_s)


def token_from_env(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    token = env.get(ENV_TOKEN, "")
    if not token:
        raise ConfigError(f"set {ENV_TOKEN} to a Grafana service-account token (Editor or Admin)",
                          key=ENV_TOKEN)
    return token


def publish(url: str, site: Site | None = None, influx: InfluxSettings = InfluxSettings(),
            env: Mapping[str, str] | None = None, mission: Mission | None = None) -> PublishResult:
    """Create or update the folder, the datasource and every dashboard on the Grafana at ``url``.

    Parameters
    ----------
    url : str
        Grafana base URL, e.g. ``http://grafana:3000``.
    site : Site, optional
        Pre-selects ``$site`` and bakes headcount / CO2 factor into the dashboards.
    influx : InfluxSettings
        The datasource to create (InfluxDB 1.x or 2.x, InfluxQL).
    env : Mapping[str, str], optional
        Environment for the Grafana token and the InfluxDB secrets (default ``os.environ``).
    mission : Mission, optional
        Pre-selects the mission's camps in the mission dashboard.
    """
    env = os.environ if env is None else env
    api = grafana_client(url, token_from_env(env))
    folder = _ensure_folder(api)
    ds = _ensure_datasource(api, datasource_model(influx, resolve_env=env))
    uids = []
    for uid, model in dashboard_json(site, mission).items():
        _call(f"save dashboard {uid}", api.dashboard.update_dashboard,
              {"dashboard": model, "folderUid": FOLDER_UID, "overwrite": True,
               "message": "published by microgrid dashboards publish"})
        uids.append(uid)
    log.info("published folder %s (%s), datasource %s (%s), dashboards %s", FOLDER_UID, folder,
             DATASOURCE.uid, ds, ", ".join(uids))
    return PublishResult(folder, ds, tuple(uids))


def _ensure_folder(api: GrafanaFace) -> str:
    existing = _get_or_none(api, f"/folders/{FOLDER_UID}")
    if existing is None:
        _call("create folder", api.folder.create_folder, FOLDER_TITLE, FOLDER_UID)
        return "created"
    if existing.get("title") != FOLDER_TITLE:
        _call("update folder", api.folder.update_folder, FOLDER_UID, FOLDER_TITLE, None, True)
    return "updated"


def _ensure_datasource(api: GrafanaFace, model: dict[str, Any]) -> str:
    existing = _get_or_none(api, f"/datasources/uid/{DATASOURCE.uid}")
    if existing is None:
        _call("create datasource", api.datasource.create_datasource, model)
        return "created"
    body = {**model, "id": existing.get("id"), "version": existing.get("version")}
    body.pop("editable", None)
    _call("update datasource", api.api.PUT, f"/datasources/uid/{DATASOURCE.uid}", body)
    return "updated"


def _get_or_none(api: GrafanaFace, path: str) -> dict | None:
    try:
        return api.api.GET(path)
    except GrafanaClientError as exc:
        if exc.status_code == 404:
            return None
        raise PublishError(f"GET {path}: Grafana answered {exc.status_code}: "
                           f"{_message(exc)}") from None
    except Exception as exc:  # connection refused, timeout, bad JSON
        raise PublishError(f"GET {path}: {type(exc).__name__}: {exc}") from None


def _call(what: str, fn, *args) -> Any:
    try:
        return fn(*args)
    except GrafanaException as exc:
        raise PublishError(f"{what}: Grafana answered {exc.status_code}: {_message(exc)}") from None
    except Exception as exc:
        raise PublishError(f"{what}: {type(exc).__name__}: {exc}") from None


def _message(exc: GrafanaException) -> str:
    resp = exc.response
    return str(resp.get("message", resp)) if isinstance(resp, dict) else str(resp)[:200]
