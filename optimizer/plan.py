"""Planner data: what goes in (:class:`PlanInputs`, :class:`PlanState`) and what comes out (:class:`Plan`).

Sign convention (docs/architecture.md §3): battery power positive = discharge. Every per-step array has one
value per planning step; steps may have different lengths (``dt_h``), fine near the start and
coarser far out. SOC values are at the *end* of the step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Literal, Mapping, Sequence

import numpy as np
import pandas as pd

from microgrid.errors import PlanError
from microgrid.plant import CampState
from microgrid.plant.battery import capacity_weighted_soc_pct
from microgrid.site import Site

PlanStatus = Literal["optimal", "feasible", "fallback"]


@dataclass(frozen=True)
class PlanInputs:
    """Forecast the planner works on.

    Attributes
    ----------
    time : tuple of datetime
        Start of each step, timezone-aware UTC, strictly increasing.
    dt_h : numpy.ndarray
        Length of each step. [h]
    load_kw : numpy.ndarray
        Mean camp load over each step. [kW]
    pv_available_kw : numpy.ndarray
        Mean PV power available over each step, all arrays as one pool. [kW]
    """

    time: tuple[datetime, ...]
    dt_h: np.ndarray
    load_kw: np.ndarray
    pv_available_kw: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.time)
        for name in ("dt_h", "load_kw", "pv_available_kw"):
            arr = np.asarray(getattr(self, name), dtype=float)
            if arr.shape != (n,):
                raise PlanError(f"PlanInputs.{name} has {arr.size} values for {n} steps")
            if not np.all(np.isfinite(arr)):
                raise PlanError(f"PlanInputs.{name} has missing values (NaN)")
            object.__setattr__(self, name, arr)
        if n == 0:
            raise PlanError("PlanInputs has no steps")
        if any(t.tzinfo is None for t in self.time):
            raise PlanError("PlanInputs.time must be timezone-aware UTC")
        if np.any(self.dt_h <= 0) or np.any(self.load_kw < 0) or np.any(self.pv_available_kw < 0):
            raise PlanError("PlanInputs: dt_h must be > 0, load_kw and pv_available_kw >= 0")

    @classmethod
    def regular(cls, start: datetime, step_min: float, load_kw: Sequence[float] | np.ndarray,
                pv_available_kw: Sequence[float] | np.ndarray) -> "PlanInputs":
        """Inputs on a regular grid of ``step_min`` minutes starting at ``start`` (UTC)."""
        n = len(load_kw)
        times = tuple(start + timedelta(minutes=step_min * i) for i in range(n))
        return cls(times, np.full(n, step_min / 60.0), np.asarray(load_kw, float),
                   np.asarray(pv_available_kw, float))

    @property
    def start_h(self) -> np.ndarray:
        """Start of each step in hours from the first step. [h]"""
        return np.concatenate([[0.0], np.cumsum(self.dt_h)[:-1]])

    def __len__(self) -> int:
        return len(self.time)


@dataclass(frozen=True)
class PlanState:
    """Camp state at the start of the plan.

    Attributes
    ----------
    soc_pct : Mapping[str, float]
        State of charge per battery. [%]
    genset_on : Mapping[str, bool]
        Whether each genset is running.
    genset_state_min : Mapping[str, float]
        Minutes each genset has been in its current state (running or stopped). [min]
    """

    soc_pct: Mapping[str, float]
    genset_on: Mapping[str, bool]
    genset_state_min: Mapping[str, float]

    @classmethod
    def initial(cls, site: Site, soc_pct: float | None = None) -> "PlanState":
        """Batteries at their configured initial SOC (or ``soc_pct``), gensets stopped long ago."""
        return cls({b.name: b.initial_soc_pct if soc_pct is None else soc_pct for b in site.batteries},
                   {g.name: False for g in site.gensets},
                   {g.name: math.inf for g in site.gensets})

    @classmethod
    def from_camp_state(cls, camp_state: CampState) -> "PlanState":
        """From the virtual camp's ``CampState`` (``soc_pct``, ``genset_running``, ``genset_state_min``)."""
        return cls(dict(camp_state.soc_pct), dict(camp_state.genset_running), dict(camp_state.genset_state_min))

    def missing(self, site: Site) -> list[str]:
        """Device names the state says nothing about (``soc_pct`` / ``genset_*`` entries)."""
        out = [b.name for b in site.batteries if b.name not in self.soc_pct]
        return out + [g.name for g in site.gensets
                      if g.name not in self.genset_on or g.name not in self.genset_state_min]

    def filled(self, site: Site) -> "PlanState":
        """This state with missing devices at their defaults (initial SOC; stopped long ago)."""
        base = PlanState.initial(site)
        return PlanState({**base.soc_pct, **self.soc_pct}, {**base.genset_on, **self.genset_on},
                         {**base.genset_state_min, **self.genset_state_min})


@dataclass
class Plan:
    """A dispatch plan, one value per step; SOC at the end of each step.

    ``status`` is ``"optimal"`` (within the MIP gap), ``"feasible"`` (an incumbent at the time
    limit, or a rule-based strategy's plan) or ``"fallback"`` (the MILP failed; ``reason`` says
    why). ``objective_l`` is the objective in litres of diesel equivalent (fuel + start, wear and
    penalty terms); ``fuel_l`` per step is diesel only.
    """

    time: tuple[datetime, ...]
    dt_h: np.ndarray  #: [h]
    load_kw: np.ndarray  #: [kW]
    pv_used_kw: np.ndarray  #: [kW]
    pv_curtailed_kw: np.ndarray  #: [kW]
    battery_kw: dict[str, np.ndarray]  #: per battery, + discharge [kW]
    soc_pct: dict[str, np.ndarray]  #: per battery, end of step [%]
    genset_on: dict[str, np.ndarray]  #: per genset, 0/1
    genset_kw: dict[str, np.ndarray]  #: per genset [kW]
    fuel_l: np.ndarray  #: diesel burnt in each step [L]
    unserved_kw: np.ndarray  #: [kW]
    reserve_shortfall_kw: np.ndarray  #: [kW]
    status: PlanStatus
    strategy: str
    reason: str = ""
    objective_l: float = math.nan
    gap_pct: float = math.nan
    solve_s: float = math.nan
    extra: dict = field(default_factory=dict)

    @property
    def total_fuel_l(self) -> float:
        """Diesel over the plan. [L]"""
        return float(np.sum(self.fuel_l))

    @property
    def battery_total_kw(self) -> np.ndarray:
        """Sum over batteries, + discharge. [kW]"""
        return np.sum(list(self.battery_kw.values()), axis=0) if self.battery_kw else np.zeros(len(self.time))

    @property
    def genset_total_kw(self) -> np.ndarray:
        return np.sum(list(self.genset_kw.values()), axis=0) if self.genset_kw else np.zeros(len(self.time))

    def to_dataframe(self, site: Site | None = None) -> pd.DataFrame:
        """The PLAN.csv table: ``time, dt_h, load_kw, pv_used_kw, pv_curtailed_kw, battery_kw,
        soc_pct, genset_<name>_on, genset_<name>_kw..., fuel_l, unserved_kw, reserve_shortfall_kw``.

        With several batteries, ``battery_kw`` is their sum and ``soc_pct`` the capacity-weighted
        mean (``site`` gives the capacities), followed by ``battery_<name>_kw`` / ``soc_<name>_pct``.
        """
        cols: dict[str, object] = {
            "time": [t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") for t in self.time],
            "dt_h": self.dt_h, "load_kw": self.load_kw, "pv_used_kw": self.pv_used_kw,
            "pv_curtailed_kw": self.pv_curtailed_kw, "battery_kw": self.battery_total_kw,
            "soc_pct": self._mean_soc(site)}
        if len(self.battery_kw) > 1:
            for name in self.battery_kw:
                cols[f"battery_{name}_kw"] = self.battery_kw[name]
                cols[f"soc_{name}_pct"] = self.soc_pct[name]
        for name in self.genset_kw:
            cols[f"genset_{name}_on"] = self.genset_on[name].astype(int)
            cols[f"genset_{name}_kw"] = self.genset_kw[name]
        cols.update(fuel_l=self.fuel_l, unserved_kw=self.unserved_kw,
                    reserve_shortfall_kw=self.reserve_shortfall_kw)
        return pd.DataFrame(cols)

    def _mean_soc(self, site: Site | None) -> np.ndarray:
        if not self.soc_pct:
            return np.full(len(self.time), np.nan)
        if len(self.soc_pct) == 1 or site is None:
            return np.mean(list(self.soc_pct.values()), axis=0)
        mean = capacity_weighted_soc_pct([b for b in site.batteries if b.name in self.soc_pct], self.soc_pct)
        return np.full(len(self.time), np.nan) if mean is None else mean

    def summary(self) -> str:
        """One line: status, strategy, objective, fuel, gap, solve time (and reason if any)."""
        line = (f"status {self.status} ({self.strategy}), objective {self.objective_l:.3f} L-eq, "
                f"fuel {self.total_fuel_l:.3f} L, gap {self.gap_pct:.3f} %, solve {self.solve_s:.3f} s")
        return f"{line}; reason: {self.reason}" if self.reason else line
