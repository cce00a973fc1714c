"""The setpoint vocabulary: what control can ask of each device kind (docs/architecture.md §8).

:class:`Setpoints` is what the plan's current step becomes, what :mod:`telemetry.control` writes
to the controllers, and what the step model (:func:`microgrid.plant.step.dispatch_step`) obeys.
A device missing from a mapping is at its own default: gensets ``auto``, PV 100 %, batteries at
their rating.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from microgrid.site import Site

__all__ = ["GENSET_MODES", "GensetMode", "Setpoints"]

GensetMode = Literal["auto", "run", "stop"]
#: Genset controller modes: ``auto`` is the controller's own logic (its safe mode), ``run`` and
#: ``stop`` are supervisory commands.
GENSET_MODES: tuple[GensetMode, ...] = ("auto", "run", "stop")


@dataclass(frozen=True)
class Setpoints:
    """What control writes, per device name. A device missing from a mapping is at its default.

    Attributes
    ----------
    genset_mode : Mapping[str, str]
        ``"auto"`` (the controller's own safe mode), ``"run"`` or ``"stop"``.
    genset_kw : Mapping[str, float | None]
        Base-load setpoint of a running genset; None = share the residual. [kW]
    pv_limit_pct : Mapping[str, float]
        Inverter active-power limit, percent of its AC rating (0..100, default 100). [%]
    battery_charge_limit_kw, battery_discharge_limit_kw : Mapping[str, float | None]
        Power limits (positive numbers); None = rated. [kW]
    """

    genset_mode: Mapping[str, str] = field(default_factory=dict)
    genset_kw: Mapping[str, float | None] = field(default_factory=dict)
    pv_limit_pct: Mapping[str, float] = field(default_factory=dict)
    battery_charge_limit_kw: Mapping[str, float | None] = field(default_factory=dict)
    battery_discharge_limit_kw: Mapping[str, float | None] = field(default_factory=dict)

    @classmethod
    def default(cls, site: Site) -> Setpoints:
        """Every device in its own safe mode: gensets auto, no PV or battery limits."""
        return cls(genset_mode={g.name: "auto" for g in site.gensets},
                   genset_kw={g.name: None for g in site.gensets},
                   pv_limit_pct={a.name: 100.0 for a in site.pv_arrays},
                   battery_charge_limit_kw={b.name: None for b in site.batteries},
                   battery_discharge_limit_kw={b.name: None for b in site.batteries})

    def mode(self, genset: str) -> str:
        """Mode of a genset (``"auto"`` when not set)."""
        return self.genset_mode.get(genset, "auto")

    def with_(self, **changes: Mapping[str, Any]) -> Setpoints:
        """A copy with some mappings updated key by key, e.g. ``with_(genset_mode={"dg-1": "run"})``."""
        merged = {k: {**getattr(self, k), **v} for k, v in changes.items()}
        return replace(self, **merged)
