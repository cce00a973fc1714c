"""`microgrid study`: bad input is one line and exit 2; a study on the camp's measured load."""

from __future__ import annotations

import csv
import dataclasses
from datetime import datetime, timedelta, timezone

import pytest
from testkit import EXAMPLE_SITE, example_camp

from microgrid.cli import main
from microgrid.simulator.history import Outage, simulate_history
from telemetry.historian import open_historian

SITE = str(EXAMPLE_SITE)
START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def study(capsys, tmp_path, *args: str) -> tuple[int, str, str]:
    code = main(["study", "--site", SITE, "--days", "1", "--start", "2026-01-01", "--no-progress",
                 "--out", str(tmp_path / "out"), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("args,words", [
    (("--pv-kwp", "600,x", "--battery-kwh", "1000"), "error: --pv-kwp: 'x' is not a number"),
    (("--pv-kwp", "600", "--battery-kwh", "-1"), "error: --battery-kwh: '-1' must be a finite size >= 0"),
    (("--pv-kwp", "600", "--battery-kwh", "1000", "--strategy", "milp,greedy"),
     "error: --strategy: unknown strategy 'greedy'"),
    (("--pv-kwp", "600", "--battery-kwh", "1000", "--scheduler", "127.0.0.1:8786"),
     "error: --scheduler: '127.0.0.1:8786' is neither 'local' nor a Dask scheduler address tcp://HOST:PORT"),
    (("--pv-kwp", "600", "--battery-kwh", "1000", "--workers", "0"), "error: --workers: must be >= 1"),
    (("--pv-kwp", "600", "--battery-kwh", "1000", "--target-pct", "120"), "error: --target-pct: must be in (0, 100]"),
    (("--pv-kwp", "600", "--battery-kwh", "1000", "--weather", "nowhere.epw"), "weather file not found"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path, args, words):
    code, _, err = study(capsys, tmp_path, *args)
    assert code == 2 and words in err and err.count("\n") == 1
    assert not (tmp_path / "out" / "results.csv").exists()


def test_a_site_without_costs_is_refused(capsys, tmp_path):
    text = EXAMPLE_SITE.read_text()
    start, end = text.index("[costs]"), text.index("[logistics]")
    site = tmp_path / "camp.toml"
    site.write_text(text[:start] + text[end:])
    code = main(["study", "--site", str(site), "--pv-kwp", "600", "--battery-kwh", "1000", "--days", "1",
                 "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and f"error: {site}: costs: microgrid study needs the site's costs" in err


@pytest.mark.integration
@pytest.mark.slow
def test_a_study_on_the_measured_load_says_how_much_was_measured(capsys, tmp_path):
    """The store holds a camp whose load is 2/3 of the load model's, for the first 18 h of the day
    and the 14 days before (the forecasters' history); the study runs on it, the rest is filled."""
    site, sim = example_camp()
    measured_sim = dataclasses.replace(sim, load_base_kw=200.0, load_peak_kw=400.0)
    first = START - timedelta(days=15)
    readings = simulate_history(site, measured_sim, first, 16.0, seed=3, sample_s=300, measurements={"energy"},
                                outages=[Outage(START + timedelta(hours=18), START + timedelta(days=1))])
    db = tmp_path / "camp.sqlite"
    store = open_historian(f"sqlite:///{db}")
    store.write(readings)
    store.close()
    measured_kwh = sum(r.fields["load_kwh"] for r in readings if r.measurement == "energy"
                       and START <= r.time < START + timedelta(hours=18) and r.fields.get("coverage_pct", 100) >= 99.9)
    mission = EXAMPLE_SITE.parents[1] / "missions" / "example-mission.toml"
    code, out, err = study(capsys, tmp_path, "--pv-kwp", "600", "--battery-kwh", "1000", "--strategy",
                           "cycle-charging", "--load-from", f"sqlite:///{db}", "--mission", str(mission))
    assert code == 0, err
    assert "load: 75.0 % of the study's 15-min intervals measured" in err and "25.0 % from the load model" in err
    assert "mission UNMISS's target 80 %: no combination reaches 80 % renewable" in out
    with (tmp_path / "out" / "results.csv").open() as fh:
        (row,) = list(csv.DictReader(fh))
    model_kwh = _model_load_kwh(site, sim, START + timedelta(hours=18), 6 * 4)
    assert float(row["load_kwh"]) == pytest.approx(measured_kwh + model_kwh, abs=0.05)  # written with 1 decimal
    assert measured_kwh < 0.8 * _model_load_kwh(site, sim, START, 18 * 4)  # the measured camp's load, not the model's


def _model_load_kwh(site, sim, start: datetime, periods: int) -> float:
    from microgrid.simulator.conditions import SyntheticConditions
    return float(SyntheticConditions(site, sim).frame(start, periods, 15)["load_kw"].sum() * 0.25)
