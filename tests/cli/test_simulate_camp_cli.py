"""`microgrid simulate-camp` as a newcomer runs it: a subprocess served over real Modbus TCP."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from pymodbus.client import AsyncModbusTcpClient
from service.service_testkit import write_site_file  # tests/ is on sys.path (rootdir conftest)

from microgrid.config import load_site

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def site_file(tmp_path) -> Path:
    return write_site_file(tmp_path / "camp.toml")


async def _exercise(site) -> dict:
    pv, dg = site.device("pv-north").modbus, site.device("dg-1").modbus
    out = {}
    inv = AsyncModbusTcpClient(pv.host, port=pv.port, timeout=2)
    gen = AsyncModbusTcpClient(dg.host, port=dg.port, timeout=2)
    assert await inv.connect() and await gen.connect()
    try:
        r = await inv.read_holding_registers(40000, count=2, device_id=pv.unit_id)
        out["marker"] = bytes.fromhex("".join(f"{x:04x}" for x in r.registers))
        # run dg-1 via the DSE control keys (manual, then start), key + complement at 4104
        for key in (35702, 35705):
            w = await gen.write_registers(4104, [key, 65535 - key], device_id=dg.unit_id)
            assert not w.isError(), w
        await asyncio.sleep(1.5)
        r = await gen.read_holding_registers(1536, count=2, device_id=dg.unit_id)
        out["dg1_w_after_start"] = r.registers[0] << 16 | r.registers[1]
        w = await gen.write_registers(4104, [35700, 65535 - 35700], device_id=dg.unit_id)
        assert not w.isError(), w
        await asyncio.sleep(1.5)
        r = await gen.read_holding_registers(1536, count=2, device_id=dg.unit_id)
        out["dg1_w_after_stop"] = r.registers[0] << 16 | r.registers[1]
    finally:
        inv.close()
        gen.close()
    return out


@pytest.mark.integration
def test_simulate_camp_serves_sunspec_and_obeys_a_genset_start_and_stop(site_file):
    site = load_site(site_file)
    proc = subprocess.Popen(
        [sys.executable, "-m", "microgrid.cli", "simulate-camp", "--site", str(site_file),
         "--speed", "60", "--start", "2026-10-01T10:00:00Z", "--print-every", "0",
         "--duration", "30"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    try:
        for line in proc.stdout:  # wait until it says it serves
            lines.append(line)
            if line.startswith("serving"):
                break
        out = asyncio.run(_exercise(site))
    finally:
        proc.terminate()
        log = "".join(lines) + proc.communicate(timeout=10)[0]
    assert proc.returncode == 0, log
    assert "pv-north" in log and "serving" in log
    assert out["marker"] == b"SunS"
    assert out["dg1_w_after_start"] >= 120_000      # running, at least its 30 % minimum [W]
    assert out["dg1_w_after_stop"] == 0
