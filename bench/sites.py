"""Bench sites: the bench camps of the optimizer benches, and the example camp scaled to N devices
of each kind, one endpoint per device (for the poll benches).

The bench camps (:data:`CAMPS`) are site files: the example camp and the camps in ``bench/camps/``
(a mixed fleet of four unlike gensets, the example camp sized for 2030, a small camp with one
genset, a camp with six gensets). Scaled sites copy the example site's devices (same profiles and
ratings) with numbered names and the given loopback ports, so a benchmark and the virtual camp it
polls build the same site.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from microgrid.config import load_site
from microgrid.site import Site

EXAMPLE = Path(__file__).resolve().parents[1] / "sites" / "example-camp.toml"
_CAMPS_DIR = Path(__file__).resolve().parent / "camps"
#: Bench camps by short name -> site file.
CAMPS = {"example": EXAMPLE, "mixed-fleet": _CAMPS_DIR / "mixed-fleet.toml", "2030": _CAMPS_DIR / "2030-camp.toml",
         "small": _CAMPS_DIR / "small-camp.toml", "six-gensets": _CAMPS_DIR / "six-gensets.toml"}
#: 20 devices: 10 inverters, 2 batteries, 6 gensets, 2 meters.
MIX = {"pv_arrays": 10, "batteries": 2, "gensets": 6, "load_meters": 2}


def camp_names(text: str) -> list[str]:
    """Camp names from a comma-separated list (``all`` = every bench camp).

    Raises
    ------
    ValueError
        An unknown name.
    """
    names = list(CAMPS) if text == "all" else [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in CAMPS]
    if unknown:
        raise ValueError(f"unknown camp(s) {', '.join(unknown)}; choose from {', '.join(CAMPS)} or all")
    return names


def bench_site(ports: list[int], mix: dict[str, int] | None = None,
               poll_interval_s: float = 1.0) -> Site:
    """The example site with ``mix`` devices (default :data:`MIX`), device i on ``ports[i]``.

    Parameters
    ----------
    ports : list of int
        One loopback port per device, in kind order (PV, batteries, gensets, meters).
    mix : dict, optional
        Devices per kind (``Site`` attribute name -> count).
    poll_interval_s : float
        Poll interval of every device. [s]
    """
    mix = dict(MIX if mix is None else mix)
    base = load_site(EXAMPLE)
    if len(ports) < sum(mix.values()):
        raise ValueError(f"{sum(mix.values())} devices need as many ports, got {len(ports)}")
    it = iter(ports)
    kinds = {}
    for attr, n in mix.items():
        templates = getattr(base, attr)
        devices = []
        for i in range(n):
            t = templates[i % len(templates)]
            m = dataclasses.replace(t.modbus, host="127.0.0.1", port=next(it), unit_id=1,
                                    poll_interval_s=poll_interval_s)
            devices.append(dataclasses.replace(t, name=f"{t.name.split('-')[0]}-{i + 1:02d}",
                                               modbus=m))
        kinds[attr] = tuple(devices)
    kinds.setdefault("fuel_tanks", ())  # the example's bulk tank only when the mix asks for it
    return dataclasses.replace(base, **kinds)


def scaled_site(site: Site, pv_factor: float, battery_factor: float) -> Site:
    """``site`` with every PV array (kWp and inverter) scaled by ``pv_factor`` and every battery
    (capacity and power ratings) by ``battery_factor``: the same camp further along its way to a
    high renewable fraction."""
    pv = tuple(dataclasses.replace(a, kwp=a.kwp * pv_factor, inverter_kw=a.inverter_kw * pv_factor)
               for a in site.pv_arrays)
    bats = tuple(dataclasses.replace(b, capacity_kwh=b.capacity_kwh * battery_factor,
                                     charge_power_kw=b.charge_power_kw * battery_factor,
                                     discharge_power_kw=b.discharge_power_kw * battery_factor)
                 for b in site.batteries)
    return dataclasses.replace(site, pv_arrays=pv, batteries=bats)
