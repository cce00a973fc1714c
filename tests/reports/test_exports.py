"""Every format states the same numbers as summarize(): CSV, XLSX (read back), HTML, PDF (text
extracted with pdftotext, page 1 rendered to PNG with pdftoppm)."""

from __future__ import annotations

import csv
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread
from openpyxl import load_workbook
from testkit import example_camp

from microgrid.reports.export import FORMATS, write_report
from microgrid.reports.period import parse_period
from microgrid.reports.summary import ReportSummary, summarize
from microgrid.reports.tables import NOT_MEASURED, display, headline_rows, summary_rows

SITE, SIM = example_camp()
POPPLER = shutil.which("pdftoppm") and shutil.which("pdftotext")


@pytest.fixture
def poppler() -> None:
    """A missing poppler FAILS the PDF check (never skips): ``bash scripts/test.sh`` installs it."""
    if not POPPLER:
        pytest.fail("poppler-utils (pdftoppm, pdftotext) not installed: bash scripts/test.sh installs "
                    "it (apt-get install poppler-utils)", pytrace=False)


def hand_made_summary() -> ReportSummary:
    """Two days of 15-min roll-ups in October 2026 with a hole and a half-covered bucket."""
    idx = pd.date_range("2026-10-01T00:00Z", periods=192, freq="15min", name="time")
    k = np.arange(len(idx))
    e = pd.DataFrame({"load_kwh": 100.0 + k % 7, "pv_kwh": 40.0 + k % 5, "genset_kwh": 50.0,
                      "battery_charge_kwh": 5.0, "battery_discharge_kwh": 15.0 + k % 7 - k % 5,
                      "fuel_l": 16.0, "fuel_estimated_l": 0.0, "diesel_only_fuel_l": 33.0,
                      "coverage_pct": 100.0}, index=idx)
    e = e.drop(idx[40:48])
    e.loc[idx[100], "coverage_pct"] = 50.0
    g = pd.DataFrame({"device": "dg-1", "genset_kwh": 50.0, "fuel_l": 16.0,
                      "fuel_estimated_l": 0.0, "run_h": 0.25, "starts": 0.0,
                      "below_min_h": 0.0}, index=e.index)
    g.iloc[0, g.columns.get_loc("starts")] = 1.0
    return summarize(SITE, parse_period("2026-10", "Africa/Juba"), e, g)


def read_csv(path: Path) -> dict[tuple[str, str, str], str]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return {(r["section"], r["item"], r["metric"]): r["value"] for r in rows}


def pdf_text(path: Path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return subprocess.run(["pdftotext", "-layout", *pages, str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


def render_page_png(pdf: Path, page: int, out_stem: Path) -> Path:
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", str(page), "-l", str(page),
                    "-singlefile", str(pdf), str(out_stem)], check=True, capture_output=True)
    return out_stem.with_suffix(".png")


def assert_formats_agree(s: ReportSummary, files: dict[str, Path], tmp_path: Path) -> None:
    """The numbers of every format equal summarize()'s (CSV to its 3 decimals)."""
    figures = read_csv(files["csv"])
    wb = load_workbook(files["xlsx"])
    xlsx = {(r[0], r[1]): r[3] for r in wb["Summary"].iter_rows(min_row=2, values_only=True)}
    html = files["html"].read_text(encoding="utf-8")
    numeric = [r for r in summary_rows(s) if isinstance(r.value, float)]
    assert len(numeric) >= 25
    for r in numeric:
        assert float(figures[(r.section, "", r.key)]) == pytest.approx(r.value, abs=6e-4), r
        assert xlsx[(r.section, r.key)] == pytest.approx(r.value, rel=1e-12), r
    for r in [r for r in summary_rows(s) if r.value is None]:
        assert figures[(r.section, "", r.key)] == "" and xlsx[(r.section, r.key)] is None
    # the daily rows: CSV and the Daily sheet against summarize()
    daily = list(wb["Daily"].iter_rows(min_row=2, values_only=True))
    assert len(daily) == len(s.daily)
    for d, row in zip(s.daily, daily):
        assert row[0].date() == d.day
        assert (row[1] is None) == (d.load_kwh is None)
        if d.load_kwh is not None:
            assert row[1] == pytest.approx(d.load_kwh)
            assert float(figures[("daily", d.day.isoformat(), "load_kwh")]) == pytest.approx(
                d.load_kwh, abs=6e-4)
    gens = list(wb["Gensets"].iter_rows(min_row=2, values_only=True))
    assert [g[0] for g in gens] == [g.name for g in s.gensets]
    for g, row in zip(s.gensets, gens):
        assert row[2] == (None if g.run_h is None else pytest.approx(g.run_h))
        assert row[3] == (None if g.starts is None else pytest.approx(g.starts))
    assert len(list(wb["Gaps"].iter_rows(min_row=2))) == max(1, len(s.gaps))
    # HTML and PDF page 1: every headline figure as an officer reads it
    page1 = pdf_text(files["pdf"], 1) if POPPLER else ""
    for r in headline_rows(s):
        shown = display(r.value, r.unit)
        assert shown in html, (r, shown)
        if POPPLER:
            assert shown in page1, (r, shown)
    assert ("No gaps" in html) == (not s.gaps)
    if POPPLER:
        assert s.period.title in page1 and s.mission in page1
        png = render_page_png(files["pdf"], 1, tmp_path / "page1")
        img = imread(png)
        assert img.shape[0] > 500 and img.shape[1] > 400
        ink = (img[..., :3].mean(axis=2) < 0.9).mean()  # share of non-white pixels
        assert 0.01 < ink < 0.6


def write_all(s: ReportSummary, folder: Path) -> dict[str, Path]:
    return {fmt: write_report(s, fmt, folder / f"report.{fmt}") for fmt in FORMATS}


def test_hand_made_summary_in_every_format(tmp_path):
    s = hand_made_summary()
    assert s.curtailed_kwh is None and len(s.gaps) == 4  # before, hole, half bucket, after
    files = write_all(s, tmp_path)
    assert_formats_agree(s, files, tmp_path)
    assert read_csv(files["csv"])[("energy", "", "curtailed_kwh")] == NOT_MEASURED
    assert "listed below" in files["html"].read_text()


def test_pdf_pages_and_gap_listing(tmp_path, poppler):
    s = hand_made_summary()
    pdf = write_report(s, "pdf", tmp_path / "r.pdf")
    text = pdf_text(pdf)
    assert text.count("\f") == 4  # summary, charts, gensets+gaps, one page of days
    assert "Gaps (missing or partial data" in text and "2026-10-01 10:00" in text
    assert math.isclose(float(pdf_text(pdf, 1).split("Data completeness")[1].split()[0]),
                        round(s.completeness_pct, 1))


# -- a simulated month through the SQLite historian and the CLI ----------------------------------

MONTH = parse_period("2026-10", SITE.location.timezone)


@pytest.fixture(scope="module")
def month_store(tmp_path_factory):
    """October 2026 (local) at 5-min samples, with a 6-h poller outage and a 2-h PV-meter
    outage, written to a SQLite historian."""
    from datetime import timedelta

    from microgrid.simulator.history import Outage, simulate_history
    from telemetry.historian import open_historian

    t = MONTH.start_utc
    outages = [Outage(t + timedelta(days=9, hours=3), t + timedelta(days=9, hours=9)),
               Outage(t + timedelta(days=20), t + timedelta(days=20, hours=2), "pv-north")]
    readings = simulate_history(SITE, SIM, t, 31, seed=11, sample_s=300, outages=outages,
                                measurements={"energy", "genset_energy"})
    path = tmp_path_factory.mktemp("store") / "microgrid.sqlite"
    with open_historian(f"sqlite:///{path}") as h:
        h.write(readings)
    return path, readings


def test_simulated_month_report_in_four_formats_agrees(month_store, tmp_path, capsys):
    from microgrid.cli import main
    from microgrid.reports.source import frames_from_readings, read_report_frames
    from telemetry.historian import open_historian

    path, readings = month_store
    files = {}
    for fmt in FORMATS:
        out = tmp_path / f"october.{fmt}"
        assert main(["report", "--site", str(SITE.source), "--period", "2026-10", "--format",
                     fmt, "--out", str(out), "--store", f"sqlite:///{path}"]) == 0
        assert "completeness" in capsys.readouterr().out
        files[fmt] = out
    with open_historian(f"sqlite:///{path}") as h:
        s = summarize(SITE, MONTH, *read_report_frames(h, SITE, MONTH))
    direct = summarize(SITE, MONTH, *frames_from_readings(readings))  # the store loses nothing
    assert s.fuel_l == pytest.approx(direct.fuel_l) and s.gaps == direct.gaps
    assert s.load_kwh == pytest.approx(direct.load_kwh)
    # partial data is stated: two gaps, completeness below 100 %
    assert len(s.gaps) == 2 and 98.0 < s.completeness_pct < 99.5
    assert s.fuel_basis == "metered" and s.renewable_fraction_pct > 5
    assert sum(g.run_h for g in s.gensets) > 100 and s.fuel_avoided_l > 0
    assert_formats_agree(s, files, tmp_path)


def test_budget_year_with_one_month_of_data_says_how_partial(month_store, tmp_path, capsys):
    from microgrid.cli import main

    path, _ = month_store
    out = tmp_path / "fy.csv"
    assert main(["report", "--site", str(SITE.source), "--period", "FY2027", "--out", str(out),
                 "--store", f"sqlite:///{path}"]) == 0
    figures = read_csv(out)
    assert figures[("report", "", "period")] == "FY2027"
    assert figures[("report", "", "first_day")] == "2026-07-01"
    assert 8.0 < float(figures[("data", "", "completeness_pct")]) < 8.5  # ~31 of 365 days
    assert float(figures[("data", "", "gap_count")]) == 4  # before October, 2 inside, after


def test_period_without_data_is_exit_2(month_store, tmp_path, capsys):
    from microgrid.cli import main

    path, _ = month_store
    code = main(["report", "--site", str(SITE.source), "--period", "2026-12", "--out",
                 str(tmp_path / "dec.pdf"), "--store", f"sqlite:///{path}"])
    assert code == 2
    assert "no energy data for site 'malakal' in 2026-12" in capsys.readouterr().err
    assert not (tmp_path / "dec.pdf").exists()


@pytest.mark.integration
def test_report_from_influxdb_equals_report_from_sqlite(month_store, influx_database, tmp_path,
                                                        capsys):
    from urllib.parse import urlsplit

    from microgrid.cli import main
    from telemetry.historian import open_historian

    path, readings = month_store
    url, db = influx_database
    spec = f"influx1://{urlsplit(url).netloc}/{db}"
    with open_historian(spec) as h:
        h.write(readings)
    for store, name in ((spec, "influx.csv"), (f"sqlite:///{path}", "sqlite.csv")):
        assert main(["report", "--site", str(SITE.source), "--period", "2026-10", "--out",
                     str(tmp_path / name), "--store", store]) == 0
    influx, sqlite = read_csv(tmp_path / "influx.csv"), read_csv(tmp_path / "sqlite.csv")
    assert influx.keys() == sqlite.keys()
    for key, v in sqlite.items():
        try:
            assert float(influx[key]) == pytest.approx(float(v), abs=2e-3), key
        except ValueError:
            assert influx[key] == v, key
