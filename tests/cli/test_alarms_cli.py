"""`microgrid alarms` and the leak option: bad input is one line and exit 2; a store with
alarm transitions lists them in order with a closing count (the end-to-end listing from influxd
and the embedded store: tests/service/test_alarms_e2e.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from testkit import EXAMPLE_SITE

from microgrid.cli import main
from microgrid.cli.alarms import parse_when
from microgrid.readings import Reading
from telemetry.historian import open_historian

T0 = datetime(2026, 11, 1, 6, 0, tzinfo=timezone.utc)


def alarm(minutes: float, device: str, code: str, active: float) -> Reading:
    return Reading(T0 + timedelta(minutes=minutes), "alarm", {"site": "malakal", "device": device, "code": code},
                   {"active": active, "severity": 2.0, "value": 61.0})


@pytest.mark.parametrize("args, words", [
    (["--since", "yesterday"], "--since: 'yesterday' is neither a duration"),
    (["--since", "2026-11-02T00:00Z", "--until", "2026-11-01T00:00Z"], "must be before --until"),
    (["--store", "sqlite:///no/such/file.sqlite"], "no file 'no/such/file.sqlite'"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, args, words):
    assert main(["alarms", "--site", str(EXAMPLE_SITE), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err, err


def test_a_negative_leak_is_refused(capsys):
    assert main(["demo", "--leak-l-per-h", "-5", "--out", "/nonexistent/x"]) == 2
    assert "--leak-l-per-h must be in [0, 100000]" in capsys.readouterr().err


def test_durations_and_times():
    now = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)
    assert parse_when("24h", now, "--since") == now - timedelta(hours=24)
    assert parse_when("30m", now, "--since") == now - timedelta(minutes=30)
    assert parse_when("1.5d", now, "--since") == now - timedelta(hours=36)
    assert parse_when("2026-11-01T06:00", now, "--since") == T0                 # no offset: UTC


def test_lists_raised_and_cleared_in_order(tmp_path, capsys):
    spec = f"sqlite:///{tmp_path / 'store.sqlite'}"
    with open_historian(spec) as store:
        store.write([alarm(-30, "dg-1", "dse_low_oil_pressure", 1.0),       # active before the range
                     alarm(10, "pv-carport", "device_offline", 1.0), alarm(15, "pv-carport", "device_offline", 1.0),
                     alarm(20, "pv-carport", "device_offline", 0.0), alarm(25, "dg-1", "dse_low_oil_pressure", 0.0),
                     alarm(40, "bess-1", "soc_below_floor", 1.0)])
    window = ["--since", T0.isoformat(), "--until", (T0 + timedelta(hours=1)).isoformat()]
    assert main(["alarms", "--site", str(EXAMPLE_SITE), "--store", spec, *window]) == 0
    lines = capsys.readouterr().out.splitlines()
    events = [line.split()[2:5] for line in lines[2:-1]]
    assert events == [["raised", "critical", "pv-carport"], ["cleared", "critical", "pv-carport"],
                      ["cleared", "critical", "dg-1"], ["raised", "critical", "bess-1"]]
    assert lines[-1] == "2 raised, 2 cleared; active at the end: bess-1 soc_below_floor"
