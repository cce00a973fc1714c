"""What the controller reports about its writes (docs/architecture.md §8): the state of every
device point, for the status endpoint and the camp page. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from microgrid.site import Site


@dataclass
class PointState:
    """What was last written to one device point."""

    value: Any
    writes: tuple
    attempted_at: datetime
    written_at: datetime | None  #: last confirmed write
    confirmed: bool
    dry_run: bool = False  #: decided in dry run: would have been written, never was


def control_status(site: Site, *, mode: str, dry_run: bool, last_apply: datetime | None, writes: int,
                   faults: Mapping[str, str], point_faults: Mapping[tuple[str, str], str],
                   state: Mapping[tuple[str, str], PointState]) -> dict[str, Any]:
    """The controller's status: mode, faults, and the last write of every device point.

    Returns
    -------
    dict
        ``{"mode", "dry_run", "last_apply", "writes", "faults": {device: message},
        "devices": {device: {"setpoint_fault": bool, "points": {point: {"value", "state",
        "confirmed", "attempted_at", "written_at"[, "fault"]}}}}}`` (times ISO 8601 UTC).
        ``state`` is ``"confirmed"``, ``"not confirmed"``, ``"would write"`` (dry run: never
        written, so never ``confirmed``) or ``"faulty"`` (the device's scaling refused the
        point; ``fault`` says why, naming device, point and register).
    """
    def iso(t: datetime | None) -> str | None:
        return None if t is None else t.isoformat().replace("+00:00", "Z")

    all_faults = dict(faults)
    for (name, point), why in point_faults.items():
        all_faults[name] = "; ".join(m for m in (all_faults.get(name), f"{point}: {why}") if m)
    devices: dict[str, Any] = {d.name: {"setpoint_fault": d.name in all_faults, "points": {}}
                               for d in site.devices}
    for (name, point), st in state.items():
        devices.setdefault(name, {"setpoint_fault": name in all_faults, "points": {}})
        label = "would write" if st.dry_run else "confirmed" if st.confirmed else "not confirmed"
        devices[name]["points"][point] = {
            "value": st.value, "state": label, "confirmed": st.confirmed and not st.dry_run,
            "attempted_at": iso(st.attempted_at), "written_at": None if st.dry_run else iso(st.written_at)}
    for (name, point), why in point_faults.items():
        entry = devices.setdefault(name, {"setpoint_fault": True, "points": {}})["points"]
        entry.setdefault(point, {"value": None, "confirmed": False, "attempted_at": None,
                                 "written_at": None})
        entry[point].update(state="faulty", fault=why)
    return {"mode": mode, "dry_run": dry_run, "last_apply": iso(last_apply),
            "writes": writes, "faults": all_faults, "devices": devices}
