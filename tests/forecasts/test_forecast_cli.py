
"""`microgrid forecast`: evaluation tables and forecasts from a history file."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from testkit import EXAMPLE_SITE

from microgrid.cli import main
from microgrid.config import load_site

SITE = str(EXAMPLE_SITE)


def test_evaluate_pv_tmy_prints_a_table_by_lead_time(capsys):
    assert main(["forecast", "--site", SITE, "--evaluate", "pv-tmy", "--days", "3",
                 "--start-day", "120"]) == 0
    out = capsys.readouterr().out
    assert "72 issues" in out and "RELOCATED" in out and "GREENSBORO" in out
    for label in ("0-1 h", "1-3 h", "3-6 h", "6-24 h", "all"):
        assert label in out
    assert "MAE smart persistence" in out and "p10-p90 cover" in out


def test_evaluate_load_sim_json(capsys):
    assert main(["forecast", "--site", SITE, "--evaluate", "load-sim", "--days", "2",
                 "--warmup-days", "7", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["mode"] == "load-sim" and res["issues"] == 48
    assert [r["lead"] for r in res["rows"]] == ["0-1 h", "1-3 h", "3-6 h", "6-24 h", "all"]
    assert all(r["n"] > 0 and r["mae_kw"] > 0 for r in res["rows"])
    assert "same time" in res["reference"]


def test_evaluate_pv_sim_json(capsys):
    assert main(["forecast", "--site", SITE, "--evaluate", "pv-sim", "--days", "2",
                 "--warmup-days", "3", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["mode"] == "pv-sim" and 0 <= res["rows"][-1]["coverage_pct"] <= 100


def _history(path: Path, hours: int = 72) -> pd.DatetimeIndex:
    t = pd.date_range("2025-03-03", periods=hours * 4, freq="15min", tz="UTC")
    h = np.asarray(t.hour + t.minute / 60, dtype=float)
    pv = np.clip(500 * np.sin(np.pi * (h - 4) / 12), 0, None)
    pd.DataFrame({"time": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "load_kw": 400 + 0 * h,
                  "pv_kw": pv}).to_csv(path, index=False)
    return t


def test_forecast_from_history_writes_quantiles(tmp_path, capsys):
    hist, out = tmp_path / "h.csv", tmp_path / "f.csv"
    t = _history(hist)
    assert main(["forecast", "--site", SITE, "--history", str(hist), "--out", str(out),
                 "--horizon-h", "24"]) == 0
    fc = pd.read_csv(out)
    assert list(fc.columns) == ["time", "load_p10_kw", "load_p50_kw", "load_p90_kw",
                                "pv_p10_kw", "pv_p50_kw", "pv_p90_kw"]
    first = (t[-1] + pd.Timedelta("15min")).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert len(fc) == 96 and fc["time"].iloc[0] == first
    assert np.allclose(fc["load_p50_kw"], 400.0)
    assert (fc["pv_p10_kw"] <= fc["pv_p50_kw"]).all() and (fc["pv_p50_kw"] <= fc["pv_p90_kw"]).all()
    assert fc["pv_p50_kw"].max() > 100


@pytest.mark.parametrize("edit, message", [
    (lambda df: df.drop(columns="pv_kw"), r"column 'pv_kw': missing column"),
    (lambda df: df.assign(load_kw=df["load_kw"].where(df.index != 5, -3)), r"row 7, column 'load_kw'"),
    (lambda df: df.assign(time=df["time"].str.replace("Z", "+02:00")),
     r"row 2, column 'time': time '\S+' is not UTC"),
])
def test_bad_history_is_an_error_naming_row_and_column(tmp_path, capsys, edit, message):
    hist = tmp_path / "h.csv"
    _history(hist, 24)
    edit(pd.read_csv(hist)).to_csv(hist, index=False)
    assert main(["forecast", "--site", SITE, "--history", str(hist), "--out",
                 str(tmp_path / "f.csv")]) == 2
    assert re.search(message, capsys.readouterr().err)


def test_without_mode_or_history_is_an_error(capsys):
    assert main(["forecast", "--site", SITE]) == 2
    assert "--evaluate" in capsys.readouterr().err


def test_forecast_with_an_irradiance_forecast_file(tmp_path):
    from forecasts.clearsky import clearsky_weather

    hist, wx, out = tmp_path / "h.csv", tmp_path / "w.csv", tmp_path / "f.csv"
    t = _history(hist)
    wt = pd.date_range(t[-1], periods=30, freq="1h")
    w = clearsky_weather(wt, load_site(SITE).location) * 0.5
    w.insert(0, "time", wt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    w["temp_air"] = -2.0  # negative air temperatures are valid
    w.to_csv(wx, index=False)
    assert main(["forecast", "--site", SITE, "--history", str(hist), "--out", str(out),
                 "--horizon-h", "24", "--weather", str(wx)]) == 0
    fc = pd.read_csv(out)
    assert len(fc) == 96 and fc["pv_p50_kw"].max() > 50
    assert (fc["pv_p10_kw"] <= fc["pv_p50_kw"]).all()
