"""`microgrid plan`: writes PLAN.csv for every strategy; bad input exits 2 naming row and column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from testkit import EXAMPLE_SITE

from microgrid.cli import main

SITE = str(EXAMPLE_SITE)


def _inputs(tmp_path, hours=6):
    t = pd.date_range("2026-03-01T06:00:00Z", periods=hours * 4, freq="15min")
    h = np.arange(hours * 4) / 4 + 6
    df = pd.DataFrame({"time": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                       "load_kw": 300 + 300 * np.exp(-((h - 13) / 3.5) ** 2),
                       "pv_available_kw": np.clip(np.sin((h - 6) / 12 * np.pi), 0, None) * 480})
    path = tmp_path / "IN.csv"
    df.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("strategy", ["milp", "load-following", "cycle-charging"])
def test_plan_writes_the_plan_csv(tmp_path, capsys, strategy):
    out = tmp_path / "PLAN.csv"
    rc = main(["plan", "--site", SITE, "--inputs", str(_inputs(tmp_path)), "--out", str(out),
               "--strategy", strategy, "--soc-pct", "50"])
    assert rc == 0
    text = capsys.readouterr().out
    for word in ("objective", "fuel", "status", "gap", "solve time"):
        assert word in text
    plan = pd.read_csv(out)
    assert list(plan.columns) == [
        "time", "dt_h", "load_kw", "pv_used_kw", "pv_curtailed_kw", "battery_kw", "soc_pct",
        "genset_dg-1_on", "genset_dg-1_kw", "genset_dg-2_on", "genset_dg-2_kw", "genset_dg-3_on",
        "genset_dg-3_kw", "fuel_l", "unserved_kw", "reserve_shortfall_kw"]
    assert len(plan) == 24 and plan["time"][0] == "2026-03-01T06:00:00Z"
    supply = plan.pv_used_kw + plan.battery_kw + plan.filter(regex=r"genset_.*_kw").sum(axis=1) + plan.unserved_kw
    np.testing.assert_allclose(supply, plan.load_kw, atol=1e-3)


def test_bad_input_exits_2_with_row_and_column(tmp_path, capsys):
    path = _inputs(tmp_path)
    path.write_text(path.read_text().replace("2026-03-01T07:00:00Z", "2026-03-01T07:05:00Z"))
    rc = main(["plan", "--site", SITE, "--inputs", str(path), "--out", str(tmp_path / "P.csv")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "row 6" in err and "column 'time'" in err and "IN.csv" in err


def test_soc_out_of_range_is_rejected(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["plan", "--site", SITE, "--inputs", str(_inputs(tmp_path)), "--out", str(tmp_path / "P.csv"),
              "--soc-pct", "120"])
    assert exc.value.code == 2 and "--soc-pct" in capsys.readouterr().err
