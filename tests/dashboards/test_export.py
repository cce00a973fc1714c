"""`microgrid dashboards export`: dashboard JSON and Grafana provisioning YAML."""

from __future__ import annotations

import json
import re
from itertools import combinations
from pathlib import Path

import pytest
import yaml
from testkit import EXAMPLE_SITE

from dashboards.common import DATASOURCE
from dashboards.model import GRID_COLUMNS, SCHEMA_VERSION, Dashboard, FieldConfig, Panel, Row, Target, layout
from dashboards.provisioning import InfluxSettings, datasource_model
from microgrid.cli import main
from microgrid.config import load_site

SITE_FILE = EXAMPLE_SITE
SITE = load_site(SITE_FILE)
#: Grafana 11 unit ids the dashboards use (from @grafana/data valueFormats/categories.ts),
#: plus custom "suffix:" units.
#: Keys Grafana's datasource / dashboard-provider provisioning format documents.
DATASOURCE_KEYS = {"name", "type", "access", "orgId", "uid", "url", "user", "database",
                   "basicAuth", "basicAuthUser", "withCredentials", "isDefault", "jsonData",
                   "secureJsonData", "version", "editable"}
PROVIDER_KEYS = {"name", "orgId", "folder", "folderUid", "type", "disableDeletion",
                 "updateIntervalSeconds", "allowUiUpdates", "options"}
KNOWN_UNITS = {"percent", "kwatt", "kwatth", "litre", "litreh", "masst", "masskg", "h", "s", "d",
               "short", "none", "hertz", "volt", "amp", "celsius", "pressurekpa", "kvoltampreact"}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    assert main(["dashboards", "export", "--out", str(out), "--site", str(SITE_FILE)]) == 0
    return out


def _dashboards(out: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted((out / "dashboards").glob("*.json"))}


def _overlap(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"]
            and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"])


def test_export_writes_the_camp_and_mission_dashboards_provisioning_and_alert_rules(exported):
    assert set(_dashboards(exported)) == {"camp-overview", "camp-generators", "camp-environment",
                                          "camp-plant-health", "camp-fuel", "mission-overview"}
    assert (exported / "provisioning" / "datasources" / "camp-influxdb.yaml").is_file()
    assert (exported / "provisioning" / "dashboards" / "camp-microgrid.yaml").is_file()
    assert (exported / "provisioning" / "alerting" / "camp-alerts.yaml").is_file()


#: Keys of Grafana's unified-alerting rule provisioning format (docs: "Create and manage alerting
#: resources using file provisioning").
GROUP_KEYS, RULE_KEYS = {"orgId", "name", "folder", "interval", "rules"}, {
    "uid", "title", "condition", "data", "dashboardUid", "panelId", "noDataState", "execErrState",
    "for", "annotations", "labels", "isPaused"}
QUERY_KEYS = {"refId", "relativeTimeRange", "datasourceUid", "model", "queryType"}


def test_alert_rules_are_grafana_provisioning_shaped(exported):
    doc = yaml.safe_load((exported / "provisioning" / "alerting" / "camp-alerts.yaml").read_text())
    assert doc["apiVersion"] == 1 and set(doc) == {"apiVersion", "groups"}
    [group] = doc["groups"]
    assert set(group) <= GROUP_KEYS and group["folder"] == "Camp microgrid"
    assert re.fullmatch(r"\d+[smh]", group["interval"])
    uids = [r["uid"] for r in group["rules"]]
    assert len(uids) == len(set(uids)) and all(re.fullmatch(r"[A-Za-z0-9_-]{1,40}", u) for u in uids)
    codes = set()
    for rule in group["rules"]:
        assert set(rule) <= RULE_KEYS and {"uid", "title", "condition", "data", "for"} <= set(rule)
        assert rule["noDataState"] in ("NoData", "Alerting", "OK")
        assert rule["execErrState"] in ("Error", "Alerting", "OK")
        refs = {q["refId"]: q for q in rule["data"]}
        assert all(set(q) <= QUERY_KEYS for q in rule["data"]) and rule["condition"] in refs
        a = refs["A"]
        assert a["datasourceUid"] == DATASOURCE.uid and a["relativeTimeRange"]["to"] == 0
        query = a["model"]["query"]
        assert a["model"]["rawQuery"] is True and "$timeFilter" in query
        assert re.findall(r"\$\w+", query) == ["$timeFilter"] and '/^malakal$/' in query
        assert refs["B"]["model"] == {"refId": "B", "type": "reduce", "expression": "A", "reducer": "last",
                                      "settings": {"mode": "dropNN"}}
        assert refs["C"]["model"]["type"] == "threshold" and refs["C"]["model"]["expression"] == "B"
        codes |= set(re.findall(r'"code" = \'(\w+)\'', query))
    assert codes == {"device_offline", "wet_stacking", "soc_below_floor", "fuel_autonomy_low",
                     "fuel_unexplained_loss", "optimizer_fallback", "plan_expired", "spool_backlog",
                     "frequency_out_of_band", "voltage_out_of_band"}
    titles = {r["title"] for r in group["rules"]}
    assert {"Alarm reported by a device", "No readings from the camp's service"} <= titles


def test_dashboard_json_is_grafana_11_shaped(exported):
    for uid, d in _dashboards(exported).items():
        assert d["uid"] == uid and d["id"] is None and d["schemaVersion"] == SCHEMA_VERSION == 39
        ids = [p["id"] for p in d["panels"]]
        assert len(ids) == len(set(ids)), uid
        grids = [p["gridPos"] for p in d["panels"]]
        for g in grids:
            assert g["x"] >= 0 and g["w"] >= 1 and g["x"] + g["w"] <= GRID_COLUMNS, (uid, g)
        for a, b in combinations(grids, 2):
            assert not _overlap(a, b), (uid, a, b)


def test_every_panel_has_a_unit_and_influxql_targets_on_the_datasource(exported):
    for uid, d in _dashboards(exported).items():
        for p in d["panels"]:
            if p["type"] == "row":
                continue
            unit = p["fieldConfig"]["defaults"]["unit"]
            assert unit in KNOWN_UNITS or unit.startswith("suffix:"), (uid, p["title"], unit)
            assert p["datasource"] == {"type": "influxdb", "uid": DATASOURCE.uid}
            assert p["targets"], (uid, p["title"])
            for t in p["targets"]:
                assert t["datasource"]["uid"] == DATASOURCE.uid
                assert t["rawQuery"] is True and t["query"].startswith("SELECT ")
                camps = '"site" =~ /^$camp$/' if uid == "mission-overview" else '"site" =~ /^$site$/'
                assert "$timeFilter" in t["query"] and camps in t["query"]
                assert t["resultFormat"] in ("time_series", "table")


def test_site_variable_and_constants_are_baked_from_the_site(exported):
    d = _dashboards(exported)["camp-environment"]
    variables = {v["name"]: v for v in d["templating"]["list"]}
    site = variables["site"]
    assert site["type"] == "query" and site["datasource"]["uid"] == DATASOURCE.uid
    assert site["query"] == 'SHOW TAG VALUES FROM "camp" WITH KEY = "site"'
    assert site["current"]["value"] == "malakal"
    assert variables["headcount"]["type"] == "constant"
    assert variables["headcount"]["query"] == "1000"
    assert variables["co2_factor"]["query"] == "2.68"
    assert d["time"] == {"from": "now/M", "to": "now"}


def test_without_a_site_headcount_is_an_editable_textbox(tmp_path):
    assert main(["dashboards", "export", "--out", str(tmp_path)]) == 0
    d = _dashboards(tmp_path)["camp-environment"]
    variables = {v["name"]: v for v in d["templating"]["list"]}
    assert variables["headcount"]["type"] == "textbox" and variables["headcount"]["hide"] == 0
    assert variables["site"]["current"] == {}


def test_datasource_yaml_v1(exported):
    doc = yaml.safe_load((exported / "provisioning/datasources/camp-influxdb.yaml").read_text())
    assert doc["apiVersion"] == 1
    (ds,) = doc["datasources"]
    for key in ("name", "type", "uid", "url", "access"):
        assert ds[key], key
    assert ds["type"] == "influxdb" and ds["uid"] == DATASOURCE.uid and ds["access"] == "proxy"
    assert set(ds) <= DATASOURCE_KEYS, set(ds) - DATASOURCE_KEYS
    assert set(doc) <= {"apiVersion", "datasources", "deleteDatasources"}
    assert ds["jsonData"]["dbName"] == ds["database"] == "microgrid"
    assert ds["jsonData"]["version"] == "InfluxQL"
    assert ds["user"] == "${MICROGRID_INFLUX_USER}"
    assert ds["secureJsonData"] == {"password": "${MICROGRID_INFLUX_PASSWORD}"}


def test_datasource_yaml_v2_uses_a_token_header_and_a_dbrp_script(tmp_path):
    assert main(["dashboards", "export", "--out", str(tmp_path), "--influx-version", "2",
                 "--influx-url", "http://influxdb:8086", "--database", "camp",
                 "--bucket", "camp-bucket"]) == 0
    doc = yaml.safe_load((tmp_path / "provisioning/datasources/camp-influxdb.yaml").read_text())
    (ds,) = doc["datasources"]
    assert ds["url"] == "http://influxdb:8086" and ds["jsonData"]["dbName"] == "camp"
    assert ds["jsonData"]["httpHeaderName1"] == "Authorization"
    assert ds["secureJsonData"] == {"httpHeaderValue1": "Token ${MICROGRID_INFLUX_TOKEN}"}
    assert "user" not in ds
    script = (tmp_path / "influxdb-v2-dbrp.sh").read_text()
    assert "influx v1 dbrp create --db camp --rp autogen" in script
    assert "influx bucket list --name camp-bucket" in script


def test_dashboard_provider_yaml_points_at_the_dashboards(exported):
    doc = yaml.safe_load((exported / "provisioning/dashboards/camp-microgrid.yaml").read_text())
    assert doc["apiVersion"] == 1
    (prov,) = doc["providers"]
    assert prov["name"] and prov["type"] == "file"
    assert set(prov) <= PROVIDER_KEYS, set(prov) - PROVIDER_KEYS
    assert set(prov["options"]) <= {"path", "foldersFromFilesStructure"}
    assert Path(prov["options"]["path"]) == (exported / "dashboards").resolve()
    assert prov["folderUid"] == "camp-microgrid"


def test_no_secret_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("MICROGRID_INFLUX_TOKEN", "s3cr3t-token")
    monkeypatch.setenv("MICROGRID_INFLUX_PASSWORD", "s3cr3t-pw")
    assert main(["dashboards", "export", "--out", str(tmp_path), "--influx-version", "2"]) == 0
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert "s3cr3t" not in path.read_text()


def test_api_datasource_model_resolves_secrets_from_the_environment():
    env = {"MICROGRID_INFLUX_TOKEN": "tok"}
    ds = datasource_model(InfluxSettings(version=2), resolve_env=env)
    assert ds["secureJsonData"] == {"httpHeaderValue1": "Token tok"}
    assert ds["isDefault"] is False          # publishing does not take over the org default


def test_api_datasource_model_leaves_unset_secrets_out():
    ds = datasource_model(InfluxSettings(version=1), resolve_env={})
    assert "secureJsonData" not in ds and "user" not in ds
    ds = datasource_model(InfluxSettings(version=1), resolve_env={
        "MICROGRID_INFLUX_USER": "grafana", "MICROGRID_INFLUX_PASSWORD": "pw"})
    assert ds["user"] == "grafana" and ds["secureJsonData"] == {"password": "pw"}


def test_layout_flows_rows_without_overlap():
    unit = FieldConfig("short")

    def p(w, h):
        return Panel("p", "stat", (Target("A", "SELECT 1"),), unit, w=w, h=h)
    placed = layout([Row("r1"), p(12, 4), p(12, 8), p(6, 3), Row("r2"), p(24, 2)])
    assert [(x, y) for _, x, y in placed] == [(0, 0), (0, 1), (12, 1), (0, 9), (0, 12), (0, 13)]


def test_panel_rejects_bad_sizes_and_duplicate_ref_ids():
    unit = FieldConfig("short")
    with pytest.raises(ValueError, match="outside the grid"):
        Panel("wide", "stat", (Target("A", "SELECT 1"),), unit, w=25)
    with pytest.raises(ValueError, match="unique refIds"):
        Panel("dup", "stat", (Target("A", "x"), Target("A", "y")), unit)


def test_uids_are_stable_across_sites():
    from dashboards.catalog import all_dashboards
    assert [d.uid for d in all_dashboards(None)] == [d.uid for d in all_dashboards(SITE)]
    assert all(isinstance(d, Dashboard) and re.fullmatch(r"[a-z0-9-]{1,40}", d.uid)
               for d in all_dashboards(SITE))
