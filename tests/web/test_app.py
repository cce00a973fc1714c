"""The camp page over HTTP on loopback (the service's status server), and `microgrid view`'s
command line: GET only, a 400 naming the bad parameter, safe headers, loopback by default, a bad
store or address is one line and exit 2."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest
from web_testkit import EXAMPLE_SITE, ROOT

from microgrid.cli.view import DEFAULT_ADDR, is_loopback, parse_addr
from microgrid.config import load_site
from microgrid.errors import ConfigError
from microgrid.readings import Reading
from microgrid.service.status import StatusServer
from microgrid.web import CampPage
from telemetry.historian import open_historian

T = datetime(2026, 11, 1, 10, tzinfo=timezone.utc)


@pytest.fixture
def page(tmp_path):
    site = load_site(EXAMPLE_SITE)
    with open_historian(f"sqlite:///{tmp_path / 'h.db'}", tiered=True) as h:
        h.write([Reading(T + timedelta(minutes=m), "camp", {"site": site.name}, {"load_kw": 300.0 + m})
                 for m in range(60)])
    reader = open_historian(f"sqlite:///{tmp_path / 'h.db'}", tiered=True, readonly=True)
    p = CampPage([site], reader, owns_store=True)
    yield p
    p.close()


@pytest.mark.parametrize("query, message", [
    ("foo=1", "unknown parameter 'foo'; this page takes range and site"),
    ("range=1y", "range '1y' is not one of 24h, 7d, 30d"),
    ("site=juba", "site 'juba' is not shown here; sites: malakal"),
    ("range=7d&range=30d", "parameter 'range' is given 2 times"),
    ("range=", "range '' is not one of"),
    ("range", "cannot read the query string 'range'"),
])
def test_bad_query_parameters_are_a_400_that_says_why(page, query, message):
    for path in ("/", "/fragment", "/report.pdf"):
        status, ctype, body = page.handle(path, query)
        assert status == 400 and ctype.startswith("text/html")
        assert message.replace("'", "&#x27;") in body.decode(), body.decode()


def test_paths(page):
    assert page.handle("/", "")[0] == 200
    assert page.handle("/", "range=30d&site=malakal")[0] == 200
    assert page.handle("/nope", "")[0] == 404
    status, ctype, body = page.handle("/app.js", "")
    assert status == 200 and ctype.startswith("text/javascript") and b"fetch(" in body
    # the only hour of data has no energy roll-up: the report says so, the page does not fail
    assert page.handle("/report.html", "")[0] == 404
    assert "no energy data" in page.handle("/", "")[2].decode()


def _request(url: str, method: str = "GET") -> tuple[int, dict, bytes]:
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


@pytest.mark.integration
def test_served_read_only_on_loopback_with_safe_headers(page):
    async def scenario():
        server = StatusServer(lambda: {"healthy": True, "reasons": []}, page=page)
        await server.start()
        base = f"http://127.0.0.1:{server.port}"
        try:
            got = {}
            for method, path in [("GET", "/"), ("GET", "/?range=bad"), ("POST", "/"), ("PUT", "/status"),
                                 ("DELETE", "/"), ("GET", "/status"), ("GET", "/app.css")]:
                got[(method, path)] = await asyncio.to_thread(_request, base + path, method)
            return server.host, got
        finally:
            page.owns_store = False  # the fixture closes it
            await server.stop()

    host, got = asyncio.run(scenario())
    assert host == "127.0.0.1"
    status, headers, body = got[("GET", "/")]
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in headers["Content-Security-Policy"] and headers["Cache-Control"] == "no-store"
    assert b"<main id=\"live\"" in body and b"sqlite" not in body.lower()  # no store address
    assert got[("GET", "/?range=bad")][0] == 400
    for key in [("POST", "/"), ("PUT", "/status"), ("DELETE", "/")]:
        assert got[key][0] == 405 and got[key][1]["Allow"] == "GET"
    assert json.loads(got[("GET", "/status")][2]) == {"healthy": True, "reasons": []}
    assert got[("GET", "/app.css")][1]["Content-Type"].startswith("text/css")


def test_addresses():
    assert parse_addr(DEFAULT_ADDR) == ("127.0.0.1", 8788) and is_loopback("127.0.0.1")
    assert parse_addr("0.0.0.0:80") == ("0.0.0.0", 80) and not is_loopback("0.0.0.0")
    assert parse_addr("[::1]:8788") == ("::1", 8788) and is_loopback("::1")
    for bad in ("8788", "host:", ":8788", "host:99999", "host:http"):
        with pytest.raises(ConfigError, match="expected HOST:PORT"):
            parse_addr(bad)


def _view(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "microgrid.cli", "view", "--site", str(EXAMPLE_SITE), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_view_refuses_a_missing_store_or_a_bad_address_in_one_line(tmp_path):
    missing = _view("--store", f"sqlite:///{tmp_path / 'none.sqlite'}")
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
    assert "no file" in missing.stderr and not (tmp_path / "none.sqlite").exists()
    bad = _view("--store", f"sqlite:///{tmp_path / 'none.sqlite'}", "--addr", "everywhere")
    assert bad.returncode == 2 and "expected HOST:PORT" in bad.stderr


def test_a_store_with_several_camps_gets_a_camp_selector(tmp_path):
    import dataclasses

    malakal = load_site(EXAMPLE_SITE)
    juba = dataclasses.replace(malakal, name="juba", mission="UNMISS Juba")
    with open_historian(f"sqlite:///{tmp_path / 'h.db'}", tiered=True) as h:
        h.write([Reading(T + timedelta(minutes=m), "camp", {"site": s.name}, {"load_kw": 300.0 + m})
                 for m in range(30) for s in (malakal, juba)])
        page = CampPage([malakal, juba], h)
        status, _, body = page.handle("/", "site=juba&range=7d")
        html = body.decode()
        single_status, _, single = CampPage([malakal], h).handle("/", "")
    assert single_status == 200 and b"site-select" not in single
    assert status == 200 and '<select id="site-select" name="site">' in html
    assert '<option value="juba" selected>juba (UNMISS Juba)</option>' in html
    assert '<option value="malakal">malakal (UNMISS)</option>' in html
    assert "<h1>juba " in html and 'name="range" value="7d"' in html


@pytest.mark.integration
def test_demo_serve_keeps_the_page_up_until_stopped(tmp_path):
    import re
    import signal
    import time

    from web_testkit import free_port, wait_until

    port = free_port()
    log = tmp_path / "demo.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MICROGRID_")}
    env["PYTHONPATH"] = str(ROOT)
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "microgrid.cli", "demo", "--days", "0.1",
                                 "--strategy", "load-following", "--poll-interval", "60",
                                 "--out", str(tmp_path / "out"), "--serve", "--addr", f"127.0.0.1:{port}"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = wait_until(lambda: (m := re.search(r"camp page for malakal: (http://\S+)", log.read_text()))
                         and m.group(1), 300, "the demo's page")
        assert url == f"http://127.0.0.1:{port}/"
        status, _, body = _request(url)
        assert status == 200 and b"<h1>malakal" in body and b'data-device="dg-1"' in body
        time.sleep(1.0)
        assert proc.poll() is None  # still serving after the demo
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(30)
    assert code == 0, log.read_text()[-2000:]
