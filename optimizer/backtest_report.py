"""What a backtest measured (:class:`BacktestResult`) and how it is printed (table / JSON dict).

Every figure is measured on the virtual camp's physics (``dispatch_step``), never taken from a
plan: a plan is what the strategy intended, the physics is what the camp did with the actual
load and PV. Pure (formatting returns strings; the CLI prints them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from microgrid.accounting import renewable_fraction_pct
from microgrid.plant import StepResult


def percentile_s(values: list[float], q: float) -> float:
    """``q``-th percentile of solve times, NaN for none. [s]"""
    return float(np.percentile(values, q)) if values else math.nan


@dataclass
class BacktestResult:
    """Figures of one rolling-horizon backtest.

    Attributes
    ----------
    site, strategy, forecast : str
        Site name, strategy (``milp``, ``load-following``, ``cycle-charging``) and forecast kind
        (``perfect`` / ``realistic``).
    start, end : datetime
        Simulated period ``[start, end)``, UTC.
    step_min, replan_every_min, horizon_h : float
        Physics step [min], re-plan interval [min], planning horizon [h].
    seed : int or None
        Seed of synthetic conditions (None for measured ones).
        Seed of the simulated weather and load.
    load_kwh : float
        Load demanded. [kWh]
    served_kwh, unserved_kwh : float
        Load served / not served. [kWh]
    pv_kwh, pv_available_kwh, curtailed_kwh : float
        PV fed, PV the arrays could give, PV not fed (curtailed or clipped). [kWh]
    genset_kwh, fuel_l : float
        Energy and diesel of all gensets. [kWh], [L]
    battery_charge_kwh, battery_discharge_kwh : float
        AC-side battery energy in / out. [kWh]
    soc_start_pct, soc_end_pct : float
        Capacity-weighted SOC at the start and end. [%]
    soc_change_l : float
        Diesel worth of the energy the run took out of the batteries (negative if it left them
        fuller): stored kWh lost × the lowest genset marginal rate ``F1`` / charge efficiency.
        Short runs compare strategies on ``fuel_soc_adjusted_l``. [L]
    genset_run_h, genset_starts, genset_below_min_h : dict
        Per genset: run hours [h], starts, hours below minimum load [h].
    reserve_shortfall_kwh, reserve_shortfall_h : float
        Operating reserve not held on the physics (online genset headroom + available battery
        discharge < reserve rule): energy [kWh] and duration [h].
    plans, fallbacks : int
        Plans made; plans that were the fallback plan.
    fallback_reasons : dict[str, int]
        Fallback reason -> count.
    statuses : dict[str, int]
        Plan status -> count.
    solve_s : list[float]
        Solve time of every plan. [s]
    wall_s : float
        Wall time of the whole backtest. [s]
    cpu_s : float
        CPU time the backtest's process(es) used, all threads (chunks: summed); on a shared
        machine the wall time says more about the others' load than about the backtest. [s]
    steps : list[StepResult]
        Per physics step, when asked for (``keep_steps``).
    step_times : list[datetime]
        Start of each kept step (UTC).
    """

    site: str
    strategy: str
    forecast: str
    start: datetime
    end: datetime
    step_min: float
    replan_every_min: float
    horizon_h: float
    seed: int | None
    load_kwh: float = 0.0
    served_kwh: float = 0.0
    unserved_kwh: float = 0.0
    pv_kwh: float = 0.0
    pv_available_kwh: float = 0.0
    curtailed_kwh: float = 0.0
    genset_kwh: float = 0.0
    fuel_l: float = 0.0
    battery_charge_kwh: float = 0.0
    battery_discharge_kwh: float = 0.0
    soc_start_pct: float = math.nan
    soc_end_pct: float = math.nan
    soc_change_l: float = 0.0
    genset_run_h: dict[str, float] = field(default_factory=dict)
    genset_starts: dict[str, int] = field(default_factory=dict)
    genset_below_min_h: dict[str, float] = field(default_factory=dict)
    reserve_shortfall_kwh: float = 0.0
    reserve_shortfall_h: float = 0.0
    plans: int = 0
    fallbacks: int = 0
    fallback_reasons: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    solve_s: list[float] = field(default_factory=list)
    wall_s: float = math.nan
    cpu_s: float = math.nan
    steps: list[StepResult] = field(default_factory=list)
    step_times: list[datetime] = field(default_factory=list)

    @property
    def days(self) -> float:
        """Length of the simulated period. [d]"""
        return (self.end - self.start).total_seconds() / 86400.0

    @property
    def renewable_fraction_pct(self) -> float:
        """HOMER ``100·(1 − genset_kwh / load served)``. [%]"""
        return renewable_fraction_pct(self.genset_kwh, self.served_kwh)

    @property
    def fuel_soc_adjusted_l(self) -> float:
        """Fuel plus the diesel worth of the SOC the run used up (``soc_change_l``). [L]"""
        return self.fuel_l + self.soc_change_l

    @property
    def genset_run_h_total(self) -> float:
        return float(sum(self.genset_run_h.values()))

    @property
    def genset_starts_total(self) -> int:
        return int(sum(self.genset_starts.values()))

    @property
    def below_min_h_total(self) -> float:
        return float(sum(self.genset_below_min_h.values()))

    @property
    def solve_p50_s(self) -> float:
        return percentile_s(self.solve_s, 50)

    @property
    def solve_p95_s(self) -> float:
        return percentile_s(self.solve_s, 95)

    @property
    def balance_error_kwh(self) -> float:
        """load − (PV + genset + battery net + unserved) over the run; ≈ 0. [kWh]"""
        return self.load_kwh - (self.pv_kwh + self.genset_kwh + self.battery_discharge_kwh
                                - self.battery_charge_kwh + self.unserved_kwh)

    def steps_frame(self) -> pd.DataFrame:
        """Kept physics steps as a table indexed by UTC step start: ``load_kw, pv_kw,
        pv_curtailed_kw, genset_kw, gensets_online, battery_kw`` (+ discharge), ``soc_<battery>_pct``
        (end of step), ``unserved_kw, fuel_l``. Empty without ``keep_steps``. [kW], [%], [L]"""
        rows = [{"load_kw": s.load_kw, "pv_kw": s.pv_kw, "pv_curtailed_kw": s.pv_curtailed_kw,
                 "genset_kw": s.genset_total_kw, "gensets_online": sum(map(bool, s.genset_on.values())),
                 "battery_kw": s.battery_total_kw,
                 **{f"soc_{name}_pct": v for name, v in s.soc_pct.items()},
                 "unserved_kw": s.unserved_kw, "fuel_l": sum(s.fuel_l.values())} for s in self.steps]
        return pd.DataFrame(rows, index=pd.DatetimeIndex(self.step_times, name="time"))

    def to_dict(self) -> dict:
        """The figures as JSON-ready values (no per-step data)."""
        return {
            "site": self.site, "strategy": self.strategy, "forecast": self.forecast,
            "start": self.start.isoformat(), "end": self.end.isoformat(), "days": self.days,
            "seed": self.seed, "step_min": self.step_min, "replan_every_min": self.replan_every_min,
            "horizon_h": self.horizon_h,
            "fuel_l": self.fuel_l, "fuel_soc_adjusted_l": self.fuel_soc_adjusted_l,
            "soc_change_l": self.soc_change_l, "renewable_fraction_pct": self.renewable_fraction_pct,
            "load_kwh": self.load_kwh, "served_kwh": self.served_kwh, "unserved_kwh": self.unserved_kwh,
            "pv_kwh": self.pv_kwh, "pv_available_kwh": self.pv_available_kwh,
            "curtailed_kwh": self.curtailed_kwh, "genset_kwh": self.genset_kwh,
            "battery_charge_kwh": self.battery_charge_kwh,
            "battery_discharge_kwh": self.battery_discharge_kwh,
            "soc_start_pct": self.soc_start_pct, "soc_end_pct": self.soc_end_pct,
            "genset_run_h": dict(self.genset_run_h), "genset_run_h_total": self.genset_run_h_total,
            "genset_starts": dict(self.genset_starts), "genset_starts_total": self.genset_starts_total,
            "genset_below_min_h": dict(self.genset_below_min_h),
            "below_min_h_total": self.below_min_h_total,
            "reserve_shortfall_kwh": self.reserve_shortfall_kwh,
            "reserve_shortfall_h": self.reserve_shortfall_h,
            "plans": self.plans, "fallbacks": self.fallbacks,
            "fallback_reasons": dict(self.fallback_reasons), "statuses": dict(self.statuses),
            "solve_p50_s": _finite(self.solve_p50_s), "solve_p95_s": _finite(self.solve_p95_s),
            "wall_s": self.wall_s, "cpu_s": self.cpu_s,
        }


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def format_table(r: BacktestResult) -> str:
    """Human-readable table of one backtest's figures."""
    rows = [
        ("site", r.site), ("strategy", r.strategy), ("forecast", r.forecast),
        ("period", f"{r.start:%Y-%m-%d %H:%M} .. {r.end:%Y-%m-%d %H:%M} UTC ({r.days:g} d)"),
        ("steps", f"physics {r.step_min:g} min, re-plan every {r.replan_every_min:g} min, "
                  f"horizon {r.horizon_h:g} h, seed {r.seed}"),
        ("fuel", f"{r.fuel_l:,.1f} L  (SOC-adjusted {r.fuel_soc_adjusted_l:,.1f} L)"),
        ("renewable fraction", f"{r.renewable_fraction_pct:.1f} %"),
        ("load / served / unserved", f"{r.load_kwh:,.0f} / {r.served_kwh:,.0f} / {r.unserved_kwh:,.2f} kWh"),
        ("PV fed / curtailed", f"{r.pv_kwh:,.0f} / {r.curtailed_kwh:,.0f} kWh"),
        ("genset energy", f"{r.genset_kwh:,.0f} kWh"),
        ("battery in / out", f"{r.battery_charge_kwh:,.0f} / {r.battery_discharge_kwh:,.0f} kWh"),
        ("SOC start / end", f"{r.soc_start_pct:.1f} / {r.soc_end_pct:.1f} %"),
        ("genset run hours", f"{r.genset_run_h_total:,.1f} h  ("
         + ", ".join(f"{k} {v:,.1f}" for k, v in r.genset_run_h.items()) + ")"),
        ("genset starts", f"{r.genset_starts_total}  ("
         + ", ".join(f"{k} {v}" for k, v in r.genset_starts.items()) + ")"),
        ("hours below min load", f"{r.below_min_h_total:,.2f} h"),
        ("reserve shortfall", f"{r.reserve_shortfall_kwh:,.2f} kWh over {r.reserve_shortfall_h:,.2f} h"),
        ("plans / fallbacks", f"{r.plans} / {r.fallbacks}"),
        ("solve time p50 / p95", f"{r.solve_p50_s:.3f} / {r.solve_p95_s:.3f} s"),
        ("wall time", f"{r.wall_s:,.1f} s  (CPU {r.cpu_s:,.1f} s)"),
    ]
    for reason, n in r.fallback_reasons.items():
        rows.append(("fallback reason", f"{n}x {reason}"))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def format_comparison(results: list[BacktestResult]) -> str:
    """One line per strategy: fuel, ratio to the best rule-based baseline, RF, unserved, reserve."""
    baselines = [r.fuel_l for r in results if r.strategy != "milp"]
    best = min(baselines) if baselines else math.nan
    head = (f"{'strategy':<16} {'forecast':<10} {'fuel_l':>12} {'/best rule':>10} {'RF %':>6} "
            f"{'unserved kWh':>12} {'reserve short h':>15} {'starts':>6} {'fallbacks':>9} {'wall s':>8}")
    lines = [head]
    for r in results:
        ratio = r.fuel_l / best if best and math.isfinite(best) else math.nan
        lines.append(f"{r.strategy:<16} {r.forecast:<10} {r.fuel_l:>12,.1f} {ratio:>10.3f} "
                     f"{r.renewable_fraction_pct:>6.1f} {r.unserved_kwh:>12.2f} "
                     f"{r.reserve_shortfall_h:>15.2f} {r.genset_starts_total:>6d} {r.fallbacks:>9d} "
                     f"{r.wall_s:>8.1f}")
    return "\n".join(lines)
