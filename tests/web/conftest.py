"""Fixtures of the camp page's tests: one headless Chromium for the session, one demo day on
the embedded store, the same day copied into the session's influxd.

A missing chromium or chromium-driver FAILS the browser tests (never skips): ``bash
scripts/test.sh`` installs them.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from web_testkit import EXAMPLE_SITE, INSTALL_HINT, copy_store, quit_chromium, start_chromium

from microgrid.config import load_site
from microgrid.simulator.settings import load_camp


@pytest.fixture(scope="session")
def chromium():
    try:
        driver = start_chromium()
    except FileNotFoundError:
        pytest.fail(INSTALL_HINT, pytrace=False)
    try:
        yield driver
    finally:
        quit_chromium(driver)


@pytest.fixture(scope="session")
def site():
    return load_site(EXAMPLE_SITE)


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory, site) -> Path:
    """A simulated day of the example camp written by the service on the embedded store (the
    virtual camp over Modbus, load following for speed): the SQLite file."""
    from microgrid.demo import DemoOptions, run_demo

    out = tmp_path_factory.mktemp("demo")
    asyncio.run(run_demo(site, load_camp(EXAMPLE_SITE)[1], DemoOptions(days=1.0, out=out, poll_interval_s=60.0,
                                           strategy="load-following")))
    return out / "microgrid.sqlite"


@pytest.fixture(scope="session")
def influx_demo(influxd, demo_store) -> str:
    """The demo day copied into a database of the session's influxd through the tiered writer
    (raw, roll-up and default retention policies; the raw policy is long because the day is in
    the past and InfluxDB counts retention from the wall clock): the spec to view it."""
    from telemetry.historian import open_historian

    influxd.create_database("camp_page")
    spec = f"influx1://{influxd.url.removeprefix('http://')}/camp_page?raw_days=3650"
    with open_historian(spec) as h:
        copy_store(demo_store, h)
    return spec
