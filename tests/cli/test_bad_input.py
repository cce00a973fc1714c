"""Bad input never gives a traceback: every command exits 2 with one line naming the file, row,
column or option (issue 12). A plan that leaves load unserved exits 3; `poll --json` is strict
JSON whatever the registers hold.

Commands run in-process (``microgrid.cli.main``) as an operator types them; where a command needs
devices, the virtual camp is served over Modbus TCP on loopback from a background thread.
"""

from __future__ import annotations

import dataclasses
import json
import socket
from datetime import datetime, timezone

import pytest
from cli_testkit import CampWithOverrides, served_in_thread, write_inputs
from testkit import EXAMPLE_SITE, write_site_file

from microgrid.cli import main
from microgrid.clock import ManualClock
from microgrid.config import load_site
from microgrid.plant.nameplate import nameplate
from microgrid.simulator.camp import VirtualCamp
from microgrid.simulator.server import CampServers, DeviceImage, Endpoint, serve_camp
from microgrid.simulator.settings import load_simulator_settings
from telemetry.registers import load_profile

SITE = str(EXAMPLE_SITE)
T0 = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)  # 12:00 at Malakal: PV up


def _error_line(capsys) -> str:
    """The one line a failing command printed on stderr."""
    err = capsys.readouterr().err
    lines = [line for line in err.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _bad_bytes(path, good: bytes = b"", bad: bytes = b"\xff\xfe caf\xe9\n"):
    path.write_bytes(good + bad)
    return path


# ------------------------------------------------------------------------ files that are not UTF-8

@pytest.mark.parametrize("command", [["check-config", "{site}"], ["plan", "--site", "{site}", "--inputs", "{csv}",
                                                                 "--out", "{out}"]])
def test_a_site_file_that_is_not_utf8(tmp_path, capsys, command):
    site = _bad_bytes(tmp_path / "camp.toml", EXAMPLE_SITE.read_bytes()[:200])
    csv = write_inputs(tmp_path / "IN.csv", 4)
    args = [a.format(site=site, csv=csv, out=tmp_path / "P.csv") for a in command]
    assert main(args) == 2
    line = _error_line(capsys)
    assert str(site) in line and "not UTF-8" in line


def test_a_csv_that_is_not_utf8(tmp_path, capsys):
    csv = write_inputs(tmp_path / "IN.csv", 8)
    _bad_bytes(csv, csv.read_bytes(), b"2026-03-01T02:00:00Z,400\xe9,0\n")
    assert main(["plan", "--site", SITE, "--inputs", str(csv), "--out", str(tmp_path / "P.csv")]) == 2
    line = _error_line(capsys)
    assert str(csv) in line and "not UTF-8" in line


# ------------------------------------------------------------------------------- outputs

def test_out_that_is_a_directory(tmp_path, capsys):
    csv = write_inputs(tmp_path / "IN.csv", 4)
    assert main(["plan", "--site", SITE, "--inputs", str(csv), "--out", str(tmp_path)]) == 2
    assert f"--out {tmp_path}" in _error_line(capsys)
    hist = tmp_path / "history.csv"
    hist.write_text("time,load_kw,pv_kw\n" + "".join(
        f"2026-03-01T{h:02d}:00:00Z,400,0\n" for h in range(24)))
    assert main(["forecast", "--site", SITE, "--history", str(hist), "--out", str(tmp_path)]) == 2
    assert f"--out {tmp_path}" in _error_line(capsys)


# ------------------------------------------------------------------------------- stores

@pytest.mark.parametrize("spec, words", [
    ("influx1://u:p@:8086/db", "credentials do not go in the spec"),
    ("influx1://h:99999/db", "the port must be a number in 1..65535"),
    ("influx1://127.0.0.1:8086/db?timeout_s=-1", "timeout_s='-1' must be a number > 0"),
    ("influx2://127.0.0.1:8086?org=o&bucket=b&timeout_s=0", "timeout_s='0' must be a number > 0"),
])
def test_a_bad_store_spec(tmp_path, capsys, spec, words):
    rc = main(["run", "--site", SITE, "--store", spec, "--spool", str(tmp_path / "spool.db"),
               "--status-port", "0"])
    assert rc == 2
    line = _error_line(capsys)
    assert words in line and "u:p" not in line


def test_a_store_host_that_does_not_resolve(tmp_path, capsys):
    site = write_site_file(tmp_path / "camp.toml")  # nothing serves its ports
    store = "influx1://no-such-host.invalid:8086/camp"
    args = ["run", "--site", str(site), "--store", store, "--spool", str(tmp_path / "spool.db"),
            "--status-port", "0"]
    assert main(args) == 2
    line = _error_line(capsys)
    assert "'no-such-host.invalid' cannot be resolved" in line and "--spool-only-start" in line
    # told to start anyway, it gets past the store and stops only at the devices
    assert main(args + ["--spool-only-start"]) == 2
    line = _error_line(capsys)
    assert "no device of site 'malakal' answered at start-up" in line


# ------------------------------------------------------------------------------- status address

@pytest.mark.integration
def test_the_status_port_already_in_use(tmp_path, capsys):
    path = write_site_file(tmp_path / "camp.toml")
    site = load_site(path)

    async def serve():
        return await serve_camp(site, VirtualCamp(site, load_simulator_settings(path), ManualClock(T0)))

    with socket.socket() as taken, served_in_thread(serve):
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        rc = main(["run", "--site", str(path), "--store", f"sqlite:///{tmp_path / 'h.sqlite'}",
                   "--status-port", str(port)])
    assert rc == 2
    line = _error_line(capsys)
    assert f"cannot listen on 127.0.0.1:{port}" in line and "--status-addr" in line


@pytest.mark.parametrize("addr, words", [
    ("8787", "'8787' is not HOST:PORT"), ("localhost:", "'' is not a port number in 0..65535"),
    ("127.0.0.1:65536", "'65536' is not a port number"), ("127.0.0.1:http", "'http' is not a port number")])
def test_a_bad_status_address(capsys, addr, words):
    with pytest.raises(SystemExit) as exc:
        main(["run", "--site", SITE, "--status-addr", addr])
    assert exc.value.code == 2
    assert f"argument --status-addr: {words}" in capsys.readouterr().err


# ------------------------------------------------------------------------------- plan inputs

@pytest.fixture(scope="module")
def ten_years(tmp_path_factory):
    """Ten years of 15-min rows (350,400 of them)."""
    return write_inputs(tmp_path_factory.mktemp("plan") / "ten_years.csv", 10 * 365 * 96)


def test_a_ten_year_csv_is_refused_before_any_model_is_built(ten_years, tmp_path, capsys):
    rc = main(["plan", "--site", SITE, "--inputs", str(ten_years), "--out", str(tmp_path / "P.csv")])
    assert rc == 2
    line = _error_line(capsys)
    assert "row 1346" in line and "column 'time'" in line and "at most 14 days" in line
    assert not (tmp_path / "P.csv").exists()  # (how fast: bench/bench_plan_inputs.py)


@pytest.mark.parametrize("edit, row, words", [
    (lambda t: t.replace("00:30:00Z", "00:22:00Z"), 4, "irregular step"),
    ("7min", 3, "divide an hour into whole minutes"),
    ("1s", 3, "divide an hour into whole minutes"),
    (lambda t: t.replace("time,load_kw", "time,load_kw,time", 1), 1, "column appears twice"),
    (lambda t: t.replace(",400.0,", ",1e300,", 1), 2, "more than 10 × the 2150 kW"),
    (lambda t: t.replace(",400.0,", ",50000.0,", 1), 2, "more than 10 × the 2150 kW"),
    (lambda t: t.replace(",400.0,0.0\n", ",400.0,6001\n", 1), 2, "more than 10 × the site's 600 kWp"),
])
def test_plan_inputs_refused_naming_the_row(tmp_path, capsys, edit, row, words):
    csv = tmp_path / "IN.csv"
    if isinstance(edit, str):
        write_inputs(csv, 8, freq=edit)
    else:
        write_inputs(csv, 8)
        text = edit(csv.read_text())
        if "load_kw,time" in text:  # a second time column: every row gets one
            text = "\n".join(line + (f",{line.split(',')[0]}" if i else "")
                             for i, line in enumerate(text.strip().splitlines())) + "\n"
        csv.write_text(text)
    assert main(["plan", "--site", SITE, "--inputs", str(csv), "--out", str(tmp_path / "P.csv")]) == 2
    line = _error_line(capsys)
    assert f"row {row}" in line and words in line and str(csv) in line


def test_a_plan_that_leaves_load_unserved_exits_3_and_says_how_much(tmp_path, capsys):
    csv = write_inputs(tmp_path / "IN.csv", 8, load_kw=3000.0)  # 2150 kW installed, 1050 kW of gensets
    args = ["plan", "--site", SITE, "--inputs", str(csv), "--out", str(tmp_path / "P.csv"),
            "--strategy", "load-following"]
    assert main(args) == 3
    out = capsys.readouterr().out
    assert "UNSERVED" in out and "kWh" in out and "exit 3" in out
    assert main(args + ["--json"]) == 3
    summary = json.loads(capsys.readouterr().out, parse_constant=_no_constant)
    assert summary["served"] is False and summary["unserved_kwh"] > 1000.0
    assert summary["status"] == "feasible" and summary["gap_pct"] is None  # NaN is null
    # a plan that serves everything: exit 0
    write_inputs(csv, 8, load_kw=400.0)
    assert main(args[:-2] + ["--json"]) == 0
    summary = json.loads(capsys.readouterr().out, parse_constant=_no_constant)
    assert summary["served"] is True and summary["unserved_kwh"] == pytest.approx(0.0, abs=1e-3)


def _no_constant(name: str):
    raise AssertionError(f"not JSON: {name}")


def test_an_excel_csv_with_a_byte_order_mark_is_read_by_plan_and_forecast(tmp_path, capsys):
    csv = write_inputs(tmp_path / "IN.csv", 8)
    csv.write_bytes(b"\xef\xbb\xbf" + csv.read_bytes())
    assert main(["plan", "--site", SITE, "--inputs", str(csv), "--out", str(tmp_path / "P.csv"),
                 "--strategy", "load-following"]) == 0
    hist = tmp_path / "history.csv"
    hist.write_bytes(b"\xef\xbb\xbftime,load_kw,pv_kw\r\n" + "".join(
        f"2026-03-{1 + h // 24:02d}T{h % 24:02d}:00:00Z,400,0\r\n" for h in range(72)).encode())
    assert main(["forecast", "--site", SITE, "--history", str(hist), "--out", str(tmp_path / "F.csv"),
                 "--horizon-h", "6"]) == 0
    assert (tmp_path / "F.csv").read_text().startswith("time,")


# ------------------------------------------------------------------------------- poll --json

@pytest.mark.integration
def test_poll_json_is_strict_json_whatever_the_registers_hold(tmp_path, capsys):
    path = write_site_file(tmp_path / "camp.toml")
    site = load_site(path)
    pv = site.device("pv-north")
    # the meter serves +inf for its power and NaN for its energy; pv-north W_SF = 0x7FFF
    camp = CampWithOverrides(VirtualCamp(site, load_simulator_settings(path), ManualClock(T0)),
                             {"camp-main": {"power_kw": float("inf"), "energy_total_kwh": float("nan")}})
    inverter = load_profile(pv.modbus.profile)
    bad_sf = dataclasses.replace(inverter, points=tuple(
        dataclasses.replace(p, sf_value=0x7FFF) if p.field == "ac_power_kw" else p for p in inverter.points))

    async def serve():
        others = dataclasses.replace(site, pv_arrays=tuple(a for a in site.pv_arrays if a.name != pv.name))
        servers = await serve_camp(others, camp)
        endpoint = Endpoint(pv.modbus.host, pv.modbus.port,
                            [DeviceImage(pv.name, bad_sf, pv.modbus.unit_id, camp, nameplate(pv))])
        await endpoint.start()
        return CampServers({**servers.endpoints, (pv.modbus.host, pv.modbus.port): endpoint})

    with served_in_thread(serve):
        rc = main(["poll", "--site", str(path), "--once", "--json"])
    assert rc == 0
    readings = json.loads(capsys.readouterr().out, parse_constant=_no_constant)
    by_device = {r["device"]: r["fields"] for r in readings}
    assert set(by_device) == {d.name for d in site.devices}
    # the garbage is missing, never a number: the field is absent, the device still answers
    assert by_device["camp-main"]["online"] == 1 and "power_kw" not in by_device["camp-main"]
    assert "energy_total_kwh" not in by_device["camp-main"]
    assert by_device["pv-north"]["online"] == 1 and "ac_power_kw" not in by_device["pv-north"]
    assert by_device["pv-south"]["ac_power_kw"] > 0
