"""`microgrid run` cannot start: a bad site file, no device answering, InfluxDB refusing the
credentials. Each time a message naming the cause (and never the password) and exit code 2.

`microgrid run` runs as a subprocess, as an operator or systemd runs it.
"""

from __future__ import annotations

import pytest
from service_testkit import create_admin, run_cli, write_site_file

pytestmark = pytest.mark.integration

PASSWORD = "s3cret-Pa55word"
WRONG = "not-the-Pa55word"


def test_misspelt_key_in_the_site_file(tmp_path):
    site = write_site_file(tmp_path / "camp.toml",
                           replace={"headcount = 1000": "headcont = 1000"})
    done = run_cli("run", "--site", str(site), "--store", f"sqlite:///{tmp_path / 'h.sqlite'}",
                   "--status-port", "0")
    assert done.returncode == 2, done.stderr
    assert str(site) in done.stderr
    assert "headcont" in done.stderr and "did you mean 'headcount'" in done.stderr
    assert "Traceback" not in done.stderr


def test_no_device_answers_at_start_up(tmp_path):
    site = write_site_file(tmp_path / "camp.toml")  # free ports: nothing serves them
    done = run_cli("run", "--site", str(site), "--store", f"sqlite:///{tmp_path / 'h.sqlite'}",
                   "--status-port", "0")
    assert done.returncode == 2, done.stderr
    error = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1, done.stderr
    assert "no device of site 'malakal' answered at start-up" in error[0]
    for name in ("pv-north", "pv-south", "pv-carport", "bess-1", "dg-1", "dg-2", "dg-3",
                 "camp-main"):
        assert f"{name}: " in error[0] and "cannot connect" in error[0], name
    assert "Traceback" not in done.stderr
    assert "stopped" not in done.stdout  # it never ran


def test_influxdb_refuses_the_credentials(influxd_factory, tmp_path):
    server = influxd_factory(auth_enabled=True)
    create_admin(server.url, "admin", PASSWORD)
    site = write_site_file(tmp_path / "camp.toml")
    store = f"influx1://127.0.0.1:{server.http_port}/camp"
    done = run_cli("run", "--site", str(site), "--store", store,
                   "--spool", str(tmp_path / "spool.db"), "--status-port", "0",
                   MICROGRID_INFLUX_USER="admin", MICROGRID_INFLUX_PASSWORD=WRONG)
    assert done.returncode == 2, done.stderr
    assert "credentials refused" in done.stderr and "HTTP 401" in done.stderr
    assert f"127.0.0.1:{server.http_port}" in done.stderr
    assert WRONG not in done.stderr + done.stdout and PASSWORD not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr

    # the same with no credentials at all: refused too, and said so
    done = run_cli("run", "--site", str(site), "--store", store,
                   "--spool", str(tmp_path / "spool.db"), "--status-port", "0")
    assert done.returncode == 2, done.stderr
    assert "credentials refused" in done.stderr and "HTTP 401" in done.stderr
