"""Helpers every test package shares: the example camp and loopback ports.

Tests import it as ``testkit`` (``tests/`` is on the path through ``tests/conftest.py``); no test
module imports another test module.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

from microgrid.config import load_site
from microgrid.simulator.settings import SimulatorSettings, load_simulator_settings
from microgrid.site import Site
from telemetry.testing import free_port, free_ports

__all__ = ["EXAMPLE_SITE", "ROOT", "example_camp", "example_site", "free_port", "free_ports", "on_free_ports",
           "write_site_file"]

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_SITE = ROOT / "sites" / "example-camp.toml"


def on_free_ports(site: Site, **modbus_changes: Any) -> Site:
    """``site`` with every device on its own loopback port free right now (plus ``modbus_changes``)."""
    ports = iter(free_ports(len(site.devices)))

    def move(d: Any) -> Any:
        m = dataclasses.replace(d.modbus, host="127.0.0.1", port=next(ports), **modbus_changes)
        return dataclasses.replace(d, modbus=m)
    return site.with_devices(move)


def example_site(**modbus_changes: Any) -> Site:
    """The example camp (dg-1/dg-2 400 kW, dg-3 250 kW, bess-1 1 MWh / 500 kW, 600 kWp) on free ports."""
    return on_free_ports(load_site(EXAMPLE_SITE), **modbus_changes)


def example_camp() -> tuple[Site, SimulatorSettings]:
    """The example camp as its file says (ports unchanged) and its virtual camp's knobs."""
    return load_site(EXAMPLE_SITE), load_simulator_settings(EXAMPLE_SITE)


def write_site_file(path: Path, *, control_mode: str | None = None,
                    replace: dict[str, str] | None = None) -> Path:
    """The example site file with every Modbus port moved to a free one (nothing listens on
    them until a camp is served), optionally its control mode and other text changed."""
    text = EXAMPLE_SITE.read_text()
    old = sorted(set(int(p) for p in re.findall(r"port = (\d+)", text)))
    for o, n in zip(old, free_ports(len(old))):
        text = text.replace(f"port = {o},", f"port = {n},")
    if control_mode:
        text = text.replace('control_mode = "dry_run"', f'control_mode = "{control_mode}"')
    for a, b in (replace or {}).items():
        assert a in text, a
        text = text.replace(a, b)
    path.write_text(text)
    return path
