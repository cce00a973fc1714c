"""`microgrid check-config SITE [--json]`: validate a site file and show the effective model."""

from __future__ import annotations

import argparse
import dataclasses
import json
from importlib import resources
from typing import Any

from microgrid.errors import ConfigError
from microgrid.simulator.settings import SimulatorSettings, load_camp
from microgrid.site import Site, device_kind


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check-config", help="validate a site file and print a summary",
                       description="Validate a site file. Exit 0 and a summary (or the "
                       "normalised model as JSON); exit 2 and the error otherwise.")
    p.add_argument("site", metavar="SITE", help="site file (TOML)")
    p.add_argument("--json", action="store_true", help="print the normalised site model as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    site, sim = load_camp(args.site)  # the [simulator] table is checked too: the demo runs it
    check_profiles(site)
    print(json.dumps(site_to_json(site, sim), indent=2) if args.json else summary(site))
    return 0


def check_profiles(site: Site) -> None:
    """Every device's register profile must exist as a data file in telemetry/profiles/."""
    folder = resources.files("telemetry") / "profiles"
    for d in site.devices:
        if not (folder / f"{d.modbus.profile}.json").is_file():
            known = sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))
            kind = {"pv_inverter": "pv", "load_meter": "load_meter"}.get(device_kind(d), device_kind(d))
            raise ConfigError(f"unknown register profile {d.modbus.profile!r}; known: "
                              f"{', '.join(known)}", path=site.source,
                              key=f"{kind}[{d.name}].modbus.profile")


def site_to_json(site: Site, sim: SimulatorSettings | None = None) -> dict[str, Any]:
    """The normalised site model: every device with its parameters in the units of its keys, and
    the virtual camp's knobs (``simulator``) when given."""
    out = dataclasses.asdict(site)
    if sim is not None:
        out["simulator"] = dataclasses.asdict(sim)
    out["totals"] = {"pv_kwp": site.pv_kwp, "genset_rated_kw": site.genset_kw,
                     "battery_capacity_kwh": sum(b.capacity_kwh for b in site.batteries)}
    for g, raw in zip(site.gensets, out["gensets"]):
        raw["min_kw"] = g.min_kw
        raw["fuel_at_rated_lph"] = g.fuel_rate_lph(g.rated_kw)
    return out


def summary(site: Site) -> str:
    loc = site.location
    lines = [f"site {site.name!r} ({site.mission}), {site.headcount} people, "
             f"{loc.latitude:.2f}°N {loc.longitude:.2f}°E, {loc.altitude_m:g} m, {loc.timezone}",
             f"control: {site.control_mode}; reserve: {site.reserve.load_pct:g} % of load + "
             f"{site.reserve.pv_pct:g} % of PV; CO2 factor {site.emission_factor_kg_per_l:g} kg/L"]
    for a in site.pv_arrays:
        lines.append(f"  pv        {a.name:<12} {a.kwp:7.1f} kWp  inverter {a.inverter_kw:g} kW, "
                     f"tilt {a.tilt_deg:g}°, azimuth {a.azimuth_deg:g}°  {_ep(a)}")
    for b in site.batteries:
        lines.append(f"  battery   {b.name:<12} {b.capacity_kwh:7.1f} kWh  +{b.discharge_power_kw:g}/"
                     f"-{b.charge_power_kw:g} kW, SOC {b.soc_min_pct:g}-{b.soc_max_pct:g} %  {_ep(b)}")
    for g in site.gensets:
        lines.append(f"  genset    {g.name:<12} {g.rated_kw:7.1f} kW   min {g.min_load_pct:g} %, "
                     f"F0 {g.fuel_f0_l_per_kwh_rated:g} F1 {g.fuel_f1_l_per_kwh:g} L/kWh, "
                     f"up/down {g.min_up_min:g}/{g.min_down_min:g} min  {_ep(g)}")
    for m in site.load_meters:
        lines.append(f"  meter     {m.name:<12} {'':18}{_ep(m)}")
    lines.append(f"totals: PV {site.pv_kwp:g} kWp, gensets {site.genset_kw:g} kW, batteries "
                 f"{sum(b.capacity_kwh for b in site.batteries):g} kWh — OK")
    return "\n".join(lines)


def _ep(d) -> str:
    m = d.modbus
    return f"[{m.profile} @ {m.host}:{m.port} unit {m.unit_id}]"
