"""The camp page in a real browser (headless Chromium) over `microgrid view`: on the demo's SQLite
store and on a real influxd holding the same day, it shows the report's own figures for the
range, draws every chart with data, lists every device, refreshes without reloading, and links
the report of the range. Screenshots at desktop and phone widths go to ``build/screenshots/``.
"""

from __future__ import annotations

import urllib.request
from datetime import datetime, timedelta

import pytest
from web_testkit import ViewServer, read_page, screenshot, wait_until

from microgrid.reports.source import summarize_range
from microgrid.reports.summary import ReportSummary
from microgrid.reports.tables import display
from telemetry.alarms.history import alarm_history
from telemetry.historian import open_historian

#: the first test pays for the demo day behind the page (tests/web/conftest.py): see test_demo_e2e
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

#: Headline figures that come from the report: (key, unit of the report's display).
REPORT_FIGURES = (("renewable_fraction_pct", "%"), ("fuel_l", "L"), ("fuel_avoided_l", "L"), ("co2_t", "t"))


def summary_of(spec: str, site, view) -> ReportSummary:
    """The report's figures for the page's range, computed apart from the page."""
    start, end = datetime.fromisoformat(view.start), datetime.fromisoformat(view.end)
    with open_historian(spec, readonly=True) as h:
        return summarize_range(h, site, start, end)


def ledger_of(spec: str, site, view) -> tuple[float, int | None]:
    """The service's last days-of-autonomy figure and the alarms active at the page's end (None:
    the store holds no alarm at all), read apart from the page (``microgrid alarms``' history)."""
    end = datetime.fromisoformat(view.end)
    with open_historian(spec, readonly=True) as h:
        df = h.query("fuel", ["autonomy_days"], end - timedelta(hours=1), end + timedelta(seconds=1),
                     tags={"site": site.name})
        history = alarm_history(h, site.name, end - timedelta(days=1), end + timedelta(seconds=1))
    known = bool(history.transitions or history.active_at_start)
    return float(df["autonomy_days"].dropna().iloc[-1]), len(history.active_at_end) if known else None


def check_page(view, summary: ReportSummary, site, ledger: tuple[float, int | None]) -> None:
    for key, unit in REPORT_FIGURES:
        value, text = view.figures[key]
        expected = getattr(summary, key)
        assert expected is not None and float(value) == expected, (key, value, expected)
        assert text.startswith(display(expected, unit)), (key, text)
    # the service's fuel ledger and alarms (docs/architecture.md §12)
    autonomy_days, active = ledger
    value, text = view.figures["fuel_autonomy_days"]
    assert 0 < autonomy_days < 100 and float(value) == autonomy_days and text.startswith(display(autonomy_days, "d"))
    if active is None:   # no alarm ever raised: not known, and said so (never 0)
        assert view.figures["active_alarms"][0] == "" and view.figures["active_alarms"][1].startswith("\u2014")
    else:
        assert float(view.figures["active_alarms"][0]) == active
    charts = view.charts
    assert all(charts["power"][s] > 0 for s in ("load", "pv", "genset", "battery")), charts["power"]
    assert charts["soc"]["soc"] > 0 and charts["soc"]["plan"] > 0, charts["soc"]
    assert sum(charts["loading"][g.name] for g in site.gensets) > 0, charts["loading"]
    assert charts["pv"]["pv"] > 0 and charts["pv"]["forecast"] > 0, charts["pv"]
    assert view.plan_spans > 0
    assert view.devices == {d.name: "online" for d in site.devices}


def test_page_on_the_demo_sqlite_store(chromium, demo_store, site, tmp_path):
    spec = f"sqlite:///{demo_store}"
    view_server = ViewServer(spec, log=tmp_path / "view.log", refresh_s=1.0)
    try:
        chromium.get(view_server.url)
        view = read_page(chromium)
        check_page(view, summary_of(spec, site, view), site, ledger_of(spec, site, view))
        # the live part refreshes in place: no reload (a marker set in the page survives)
        chromium.execute_script("window.notReloaded = 42;")
        wait_until(lambda: int(chromium.execute_script(
            "return document.getElementById('live').dataset.generation")) >= 2, 30, "two refreshes")
        assert chromium.execute_script("return window.notReloaded") == 42
        assert read_page(chromium).figures == view.figures
        for rng in ("7d", "30d"):  # longer ranges: the same report figures over their range
            chromium.get(f"{view_server.url}?range={rng}")
            longer = read_page(chromium)
            s = summary_of(spec, site, longer)
            assert float(longer.figures["fuel_l"][0]) == s.fuel_l
            assert s.completeness_pct < 50.0  # one day of data in a week or a month, said so
            assert chromium.find_element("css selector", ".notice").text.startswith("data completeness")
        # the report link is the report of the range: its headline says the same litres
        chromium.get(view_server.url)
        chromium.find_element("link text", "HTML").click()
        wait_until(lambda: "Renewable fraction" in chromium.page_source, 30, "the report")
        assert display(summary_of(spec, site, view).fuel_l, "L") in chromium.page_source
        with urllib.request.urlopen(view_server.url + "report.pdf?range=24h", timeout=60) as r:
            assert r.headers["Content-Type"] == "application/pdf" and r.read(5) == b"%PDF-"
        shots = screenshot(chromium, view_server.url, "camp-page")
        assert all(p.stat().st_size > 20_000 for p in shots)
    finally:
        view_server.stop()


def test_page_on_a_real_influxd(chromium, influx_demo, demo_store, site, tmp_path):
    secret = "s3cret-never-shown"
    view_server = ViewServer(influx_demo, log=tmp_path / "view.log",
                             env={"MICROGRID_INFLUX_USER": "camp", "MICROGRID_INFLUX_PASSWORD": secret})
    try:
        chromium.get(view_server.url)
        view = read_page(chromium)
        check_page(view, summary_of(influx_demo, site, view), site, ledger_of(influx_demo, site, view))
        # the same day on the embedded store gives the same figures
        on_sqlite = summary_of(f"sqlite:///{demo_store}", site, view)
        for key, _ in REPORT_FIGURES:
            assert float(view.figures[key][0]) == pytest.approx(getattr(on_sqlite, key), rel=1e-12)
        # no credential, no store address in what the browser gets
        source = chromium.page_source
        port = influx_demo.split(":")[2].split("/")[0]
        assert secret not in source and "influx" not in source.lower() and port not in source
        screenshot(chromium, view_server.url, "camp-page-influx")
    finally:
        view_server.stop()
