"""The status endpoint answers real HTTP on loopback."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

import pytest

from microgrid.service.status import StatusServer


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.mark.integration
def test_status_and_health_over_http():
    state = {"healthy": True, "reasons": [], "spool_points": 3}

    async def scenario():
        server = StatusServer(lambda: dict(state))
        await server.start()
        base = f"http://127.0.0.1:{server.port}"
        try:
            ok = await asyncio.to_thread(_get, base + "/status")
            health = await asyncio.to_thread(_get, base + "/health")
            state.update(healthy=False, reasons=["no poll for 60 s"])
            sick = await asyncio.to_thread(_get, base + "/health")
            missing = await asyncio.to_thread(_get, base + "/nope")
        finally:
            await server.stop()
        return ok, health, sick, missing

    ok, health, sick, missing = asyncio.run(scenario())
    assert ok == (200, {"healthy": True, "reasons": [], "spool_points": 3})
    assert health == (200, {"healthy": True, "reasons": []})
    assert sick == (503, {"healthy": False, "reasons": ["no poll for 60 s"]})
    assert missing[0] == 404


@pytest.mark.integration
def test_a_request_line_over_64_kib_gets_431_not_a_traceback(caplog):
    async def scenario():
        server = StatusServer(lambda: {"healthy": True, "reasons": []})
        await server.start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"GET /" + b"a" * 70_000 + b" HTTP/1.0\r\n\r\n")
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), timeout=5)
            writer.close()
            # the server still answers the next request
            ok = await asyncio.to_thread(_get, f"http://127.0.0.1:{server.port}/health")
        finally:
            await server.stop()
        return answer, ok

    with caplog.at_level("DEBUG"):
        answer, ok = asyncio.run(scenario())
    assert answer.startswith(b"HTTP/1.0 431 "), answer[:80]
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1]) == {"error": "request line or header too long"}
    assert ok == (200, {"healthy": True, "reasons": []})
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")], caplog.text
