"""Ratings a device states about itself, as register-profile fields: what the virtual camp
serves and what control assumes when it cannot read the device (docs/architecture.md §8)."""

from __future__ import annotations

from microgrid.site import Battery, Device, FuelTank, Genset, PvArray

__all__ = ["nameplate"]


def nameplate(device: Device) -> dict[str, float]:
    """Rating fields of a device from the site file.

    Battery: ``capacity_kwh``, ``charge_rated_kw``, ``discharge_rated_kw``; PV: ``rated_kw`` (the
    inverter's AC rating); genset: ``rated_kw``; fuel tank: ``capacity_l``; a load meter has
    none. [kWh, kW, L]
    """
    if isinstance(device, Battery):
        return {"capacity_kwh": device.capacity_kwh, "charge_rated_kw": device.charge_power_kw,
                "discharge_rated_kw": device.discharge_power_kw}
    if isinstance(device, PvArray):
        return {"rated_kw": device.inverter_kw}
    if isinstance(device, Genset):
        return {"rated_kw": device.rated_kw}
    if isinstance(device, FuelTank):
        return {"capacity_l": device.capacity_l}
    return {}
