"""The virtual camp's knobs: the ``[simulator]`` table of a site file (docs/architecture.md §10).

They drive the physics behind the simulated devices (the seed of clouds and load noise, the
camp's load profile) and are not part of :class:`~microgrid.site.Site`: production code cannot
reach them. The site's climatology (``[climate]``) is part of the site; the virtual camp's
weather is drawn around it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from microgrid.config import Key, TableReader, floats, num, read_site_document, site_from_dict
from microgrid.site import Site

__all__ = ["SIMULATOR", "SimulatorSettings", "load_camp", "load_simulator_settings",
           "simulator_settings_from_dict"]


@dataclass(frozen=True)
class SimulatorSettings:
    """Knobs of the virtual camp."""

    seed: int = 1  #: seed of clouds and load noise
    load_base_kw: float = 300.0  #: night-time camp load. [kW]
    load_peak_kw: float = 600.0  #: afternoon air-conditioning peak. [kW]
    load_peak_hour: float = 15.0  #: local solar hour of the peak. [h]
    load_noise_pct: float = 3.0  #: standard deviation of the load noise. [%]
    fuel_tank_initial_pct: float = 60.0  #: bulk tanks' level at the start. [%]
    fuel_delivery_every_days: float = 7.0  #: a tanker comes this often (0: never). [d]
    fuel_delivery_first_h: float = 10.0  #: the first comes this long after the start. [h]
    fuel_delivery_l: float = 30000.0  #: litres a tanker brings. [L]
    fuel_delivery_l_per_min: float = 500.0  #: how fast it pumps. [L/min]
    fuel_gauge_noise_l: float = 10.0  #: standard deviation of a bulk gauge's reading. [L]
    fuel_leak_l_per_h: float = 0.0  #: a leak from the first bulk tank from the start. [L/h]


SIMULATOR = {"seed": Key(int, 1), "load_base_kw": num(0, 1e6, 300.0), "load_peak_kw": num(0, 1e6, 600.0),
             "load_peak_hour": num(0, 24, 15.0), "load_noise_pct": num(0, 50, 3.0),
             "fuel_tank_initial_pct": num(0, 100, 60.0), "fuel_delivery_every_days": num(0, 365, 7.0),
             "fuel_delivery_first_h": num(0, 24 * 365, 10.0), "fuel_delivery_l": num(0, 1e6, 30000.0),
             "fuel_delivery_l_per_min": num(0, 1e5, 500.0, low_open=True),
             "fuel_gauge_noise_l": num(0, 1e4, 10.0), "fuel_leak_l_per_h": num(0, 1e5, 0.0)}
#: Keys that used to be simulator knobs and now describe the site's climate.
MOVED_TO_CLIMATE = ("clear_sky_index_mean", "cloud_variability", "ambient_temp_c")


def simulator_settings_from_dict(raw: dict[str, Any], path: str = "<site>") -> SimulatorSettings:
    """The ``[simulator]`` table of a parsed site document (defaults where it is absent).

    Raises
    ------
    ConfigError
        An unknown or out-of-range key, naming the file and ``simulator.<key>``; a climate key
        left in ``[simulator]`` says where it moved.
    """
    r = TableReader(path)
    table = raw.get("simulator") or {}
    if isinstance(table, dict):
        for key in MOVED_TO_CLIMATE:
            if key in table:
                raise r.fail(f"simulator.{key}", f"'{key}' describes the site's climate: move it to [climate]")
    values = floats(r.table(table, SIMULATOR, "simulator"), keep=("seed",))
    settings = SimulatorSettings(**values)
    if settings.load_base_kw > settings.load_peak_kw:
        raise r.fail("simulator.load_base_kw", "must be ≤ simulator.load_peak_kw")
    return settings


def load_simulator_settings(path: str | Path) -> SimulatorSettings:
    """The ``[simulator]`` table of a site file."""
    return simulator_settings_from_dict(read_site_document(path), str(path))


def load_camp(path: str | Path) -> tuple[Site, SimulatorSettings]:
    """The site and the virtual camp's knobs of one site file (both validated)."""
    raw = read_site_document(path)
    return site_from_dict(raw, str(path)), simulator_settings_from_dict(raw, str(path))
