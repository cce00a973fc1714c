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
