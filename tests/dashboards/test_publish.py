"""`microgrid dashboards publish` against a stand-in for Grafana's HTTP API.

This is the one mock in the test suite: no Grafana server is installable here. The stand-in is a
small stateful HTTP server on a loopback port that implements the endpoints publishing uses the
way Grafana 11 documents them (``/api/folders``, ``/api/folders/<uid>``, ``/api/datasources``,
``/api/datasources/uid/<uid>``, ``/api/dashboards/db``): it checks methods, the
``Authorization: Bearer`` header, JSON bodies (dashboard + ``overwrite`` + ``folderUid``), refuses
duplicates the way Grafana does (409 / 412), and keeps state, so publishing twice must end with
one folder, one datasource and one copy of each dashboard.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from testkit import EXAMPLE_SITE

from dashboards.provisioning import InfluxSettings
from dashboards.publish import PublishError, publish
from microgrid.cli import main
from microgrid.config import load_site
from microgrid.errors import ConfigError

TOKEN = "glsa_test-token-123"
SITE_FILE = EXAMPLE_SITE


class FakeGrafana:
    """State of the stand-in: folders, datasources and dashboards by uid, and a request log."""

    def __init__(self):
        self.folders: dict[str, dict] = {}
        self.datasources: dict[str, dict] = {}
        self.dashboards: dict[str, dict] = {}
        self.requests: list[tuple[str, str, dict | None]] = []
        self.auth: list[str] = []
        self.next_id = 1

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    # -- endpoints: (status, body) --------------------------------------------------------
    def handle(self, method: str, path: str, body: dict | None) -> tuple[int, dict]:
        parts = path.strip("/").split("/")
        if parts[:2] == ["api", "folders"]:
            return self.folder(method, parts[2:], body)
        if parts[:2] == ["api", "datasources"]:
            return self.datasource(method, parts[2:], body)
        if parts == ["api", "dashboards", "db"] and method == "POST":
            return self.save_dashboard(body)
        return 404, {"message": "Not found"}

    def folder(self, method, rest, body):
        if method == "GET" and len(rest) == 1:
            f = self.folders.get(rest[0])
            return (200, f) if f else (404, {"message": "folder not found"})
        if method == "POST" and not rest:
            if not body.get("title"):
                return 400, {"message": "folder title cannot be empty"}
            if body.get("uid") in self.folders:
                return 409, {"message": "a folder with the same uid already exists"}
            f = {"id": self.new_id(), "uid": body["uid"], "title": body["title"], "version": 1}
            self.folders[f["uid"]] = f
            return 200, f
        if method == "PUT" and len(rest) == 1:
            f = self.folders.get(rest[0])
            if f is None:
                return 404, {"message": "folder not found"}
            if not body.get("overwrite") and body.get("version") != f["version"]:
                return 412, {"message": "the folder has been changed by someone else"}
            f.update(title=body["title"], version=f["version"] + 1)
            return 200, f
        return 405, {"message": "method not allowed"}

    def datasource(self, method, rest, body):
        if rest[:1] == ["uid"] and len(rest) == 2:
            ds = self.datasources.get(rest[1])
            if method == "GET":
                return (200, ds) if ds else (404, {"message": "Data source not found"})
            if method == "PUT":
                if ds is None:
                    return 404, {"message": "Data source not found"}
                missing = [k for k in ("name", "type", "access") if not body.get(k)]
                if missing:
                    return 400, {"message": f"missing {missing}"}
                secure = {**ds.get("secureJsonData", {}), **body.get("secureJsonData", {})}
                ds.update({**body, "id": ds["id"], "uid": ds["uid"], "version": ds["version"] + 1,
                           "secureJsonData": secure})
                return 200, {"datasource": ds, "id": ds["id"], "message": "Datasource updated"}
        if method == "POST" and not rest:
            missing = [k for k in ("name", "type", "access") if not body.get(k)]
            if missing:
                return 400, {"message": f"missing {missing}"}
            if body.get("uid") in self.datasources or any(
                    d["name"] == body["name"] for d in self.datasources.values()):
                return 409, {"message": "data source with the same name already exists"}
            ds = {**body, "id": self.new_id(), "version": 1}
            self.datasources[body["uid"]] = ds
            return 200, {"datasource": ds, "id": ds["id"], "message": "Datasource added"}
        return 405, {"message": "method not allowed"}

    def save_dashboard(self, body):
        dash = body.get("dashboard") or {}
        if not dash.get("uid") or not dash.get("title") or "panels" not in dash:
            return 400, {"message": "dashboard needs uid, title and panels"}
        if body.get("folderUid") not in self.folders:
            return 400, {"message": "folder not found"}
        old = self.dashboards.get(dash["uid"])
        if old is not None and not body.get("overwrite"):
            return 412, {"status": "name-exists", "message": "A dashboard with the same uid exists"}
        version = old["version"] + 1 if old else 1
        self.dashboards[dash["uid"]] = {"dashboard": dash, "folderUid": body["folderUid"],
                                        "version": version, "id": old["id"] if old else self.new_id()}
        saved = self.dashboards[dash["uid"]]
        return 200, {"id": saved["id"], "uid": dash["uid"], "status": "success",
                     "version": version, "url": f"/d/{dash['uid']}/x", "slug": "x"}


def _handler(state: FakeGrafana):
    class Handler(BaseHTTPRequestHandler):
        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            auth = self.headers.get("Authorization", "")
            state.auth.append(auth)
            body = None
            if raw:
                if "application/json" not in self.headers.get("Content-Type", ""):
                    return self._reply(415, {"message": "JSON expected"})
                body = json.loads(raw)
            state.requests.append((self.command, self.path, body))
            if auth != f"Bearer {TOKEN}":
                return self._reply(401, {"message": "invalid API key"})
            self._reply(*state.handle(self.command, self.path, body))

        def _reply(self, status: int, body: dict):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, *args):
            pass
    return Handler


@pytest.fixture
def grafana():
    state = FakeGrafana()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


ENV = {"MICROGRID_GRAFANA_TOKEN": TOKEN, "MICROGRID_INFLUX_TOKEN": "influx-tok"}


def test_publish_creates_folder_datasource_and_dashboards(grafana):
    url, state = grafana
    result = publish(url, load_site(SITE_FILE), InfluxSettings(version=2), env=ENV)
    assert (result.folder, result.datasource) == ("created", "created")
    assert list(state.folders) == ["camp-microgrid"]
    assert list(state.datasources) == ["camp-influxdb"]
    assert sorted(state.dashboards) == ["camp-environment", "camp-fuel", "camp-generators", "camp-overview",
                                        "camp-plant-health"]
    ds = state.datasources["camp-influxdb"]
    assert ds["type"] == "influxdb" and ds["jsonData"]["httpHeaderName1"] == "Authorization"
    assert ds["secureJsonData"]["httpHeaderValue1"] == "Token influx-tok"
    saves = [b for m, p, b in state.requests if p == "/api/dashboards/db"]
    assert all(m == "POST" for m, p, _ in state.requests if p == "/api/dashboards/db")
    assert all(b["overwrite"] is True and b["folderUid"] == "camp-microgrid" for b in saves)
    assert all(a == f"Bearer {TOKEN}" for a in state.auth)


def test_publishing_twice_updates_and_never_duplicates(grafana):
    url, state = grafana
    publish(url, None, env=ENV)
    second = publish(url, load_site(SITE_FILE), env=ENV)
    assert (second.folder, second.datasource) == ("updated", "updated")
    assert len(state.folders) == 1 and len(state.datasources) == 1 and len(state.dashboards) == 5
    assert all(d["version"] == 2 for d in state.dashboards.values())
    assert state.datasources["camp-influxdb"]["version"] == 2
    # the second run looked things up by uid and updated them in place
    methods = [(m, p) for m, p, _ in state.requests]
    assert ("PUT", "/api/datasources/uid/camp-influxdb") in methods
    assert methods.count(("POST", "/api/folders")) == 1
    assert methods.count(("POST", "/api/datasources")) == 1


def test_republishing_without_secrets_keeps_grafanas_stored_token(grafana):
    url, state = grafana
    publish(url, None, InfluxSettings(version=2), env=ENV)
    publish(url, None, InfluxSettings(version=2), env={"MICROGRID_GRAFANA_TOKEN": TOKEN})
    ds = state.datasources["camp-influxdb"]
    assert ds["secureJsonData"] == {"httpHeaderValue1": "Token influx-tok"}
    assert ds["version"] == 2


def test_renamed_folder_is_put_back(grafana):
    url, state = grafana
    publish(url, env=ENV)
    state.folders["camp-microgrid"]["title"] = "renamed by hand"
    publish(url, env=ENV)
    assert state.folders["camp-microgrid"]["title"] == "Camp microgrid"


def test_missing_token_is_a_clear_error_and_no_request(grafana, capsys, monkeypatch):
    url, state = grafana
    monkeypatch.delenv("MICROGRID_GRAFANA_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="MICROGRID_GRAFANA_TOKEN"):
        publish(url, env={})
    assert main(["dashboards", "publish", "--url", url]) == 2
    assert "MICROGRID_GRAFANA_TOKEN" in capsys.readouterr().err
    assert state.requests == []


def test_wrong_token_fails_without_leaking_it(grafana, caplog):
    url, _ = grafana
    caplog.set_level(logging.DEBUG)
    with pytest.raises(PublishError, match="401") as exc:
        publish(url, env={"MICROGRID_GRAFANA_TOKEN": "wrong-secret-xyz"})
    assert "wrong-secret-xyz" not in str(exc.value)
    assert "wrong-secret-xyz" not in caplog.text


def test_token_never_logged(grafana, caplog):
    url, _ = grafana
    caplog.set_level(logging.DEBUG)
    publish(url, env=ENV)
    assert TOKEN not in caplog.text and "published folder" in caplog.text


def test_cli_publish(grafana, monkeypatch, capsys):
    url, state = grafana
    monkeypatch.setenv("MICROGRID_GRAFANA_TOKEN", TOKEN)
    assert main(["dashboards", "publish", "--url", url + "/", "--site", str(SITE_FILE)]) == 0
    assert "camp-overview" in capsys.readouterr().out
    assert state.dashboards["camp-overview"]["dashboard"]["templating"]["list"][0][
        "current"]["value"] == "malakal"


def test_unreachable_grafana_is_a_publish_error():
    with pytest.raises(PublishError, match="GET /folders/camp-microgrid"):
        publish("http://127.0.0.1:9", env=ENV)


def test_bad_url_is_a_config_error():
    with pytest.raises(ConfigError, match="--url"):
        publish("grafana:3000", env=ENV)
