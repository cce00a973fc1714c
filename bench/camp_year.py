"""A camp's history at the live rate and layout, generated fast (shared by the store benches).

The layout (which series, which fields, how often, at which resolution) is measured, not
assumed: :func:`live_layout` runs the real service against the virtual camp over Modbus for a
while (5-s polls, the MILP, control) and reads back what it stored. A longer history is then
written in the same layout at the same rate, as column blocks
(:meth:`~telemetry.historian.tiered.TieredHistorian.write_columns`, the bulk path the live
writes end up in after compaction):

- device readings and ``camp`` totals every poll (5 s): the camp's physics at 60-s steps
  (:func:`~microgrid.simulator.history.simulate_history`), linearly interpolated, with meter
  noise (0.3 % of the value, at least one resolution step, on power, fuel-rate, voltage,
  temperature and loading fields; none on counters, flags and state of charge) and rounded to
  the resolution each field had in the live run (registers carry fixed decimals), or finer for
  the noisy fields (1 W, 0.01 L/h, 0.1 V, 0.1 °C, 0.1 %) as a real meter reports them. The
  virtual camp itself holds its values for a whole 60-s physics step at coarse register
  resolutions, which packs far better than a real meter: the noise and the fine resolution
  make the figure a conservative one;
- ``energy`` and ``genset_energy`` from the same physics every 15 min;
- the other records (setpoints every control period, plan, forecast, optimizer every 15 min) at
  their live cadence, their values cycled from the live run.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from microgrid.simulator.settings import SimulatorSettings, load_camp
from microgrid.site import Site
from telemetry.historian import SQLiteHistorian

EXAMPLE = Path(__file__).resolve().parents[1] / "sites" / "example-camp.toml"
TELEMETRY = ("pv_inverter", "battery", "genset", "load_meter", "camp")
_NOISY = ("_kw", "_lph", "_v", "_c", "load_pct")
#: Resolution of the noisy fields as a real meter reports them (decimal places).
_FINE = {"_kw": 3, "_lph": 2, "_v": 1, "_c": 1, "load_pct": 1}
_STEADY = ("soc_pct", "soh_pct", "limit", "rated", "capacity", "revert", "total", "hours", "starts",
           "online", "running", "status", "mode")


@dataclass
class SeriesLayout:
    measurement: str
    tags: dict[str, str]
    step_s: float  #: median interval between points. [s]
    decimals: dict[str, int]  #: resolution of each field (decimal places)
    sample: pd.DataFrame  #: the live run's points (index time), for cycling


def site() -> Site:
    return load_camp(EXAMPLE)[0]


def camp_settings() -> SimulatorSettings:
    return load_camp(EXAMPLE)[1]


def live_layout(hours: float = 1.0, poll_s: float = 5.0) -> tuple[list[SeriesLayout], float]:
    """Run the service against the virtual camp for ``hours`` (event clock) and measure what it
    stores: the layout, and the rate in values per second."""
    from microgrid.demo import DemoOptions, run_demo

    with tempfile.TemporaryDirectory(prefix="live-layout-") as tmp:
        asyncio.run(run_demo(*load_camp(EXAMPLE), DemoOptions(days=hours / 24, out=Path(tmp), poll_interval_s=poll_s)))
        with SQLiteHistorian(Path(tmp) / "microgrid.sqlite", readonly=True) as h:
            readings = list(h.readings())
    by_series: dict[tuple, list] = {}
    for r in readings:
        by_series.setdefault((r.measurement, tuple(sorted(r.tags.items()))), []).append(r)
    layouts = []
    for (m, tags), rs in sorted(by_series.items()):
        df = pd.DataFrame([r.fields for r in rs], index=pd.DatetimeIndex([r.time for r in rs]))
        df = df[~df.index.duplicated(keep="last")].sort_index()
        step = float(np.median(np.diff(df.index.asi8))) / 1e9 if len(df) > 1 else 900.0
        layouts.append(SeriesLayout(m, dict(tags), step, {c: _decimals(df[c]) for c in df.columns}, df))
    values = sum(len(r.fields) for r in readings)
    span_s = hours * 3600
    return layouts, values / span_s


def _decimals(s: pd.Series) -> int:
    v = s.dropna().to_numpy(dtype=float)
    for k in range(7):
        if np.allclose(v * 10**k, np.round(v * 10**k), rtol=0, atol=1e-6):
            return k
    return 6


def physics(camp: Site, start: datetime, days: float, seed: int = 7) -> dict[tuple, pd.DataFrame]:
    """The camp's physics at 60-s steps: ``{(measurement, device or None): frame}`` of the
    device readings, ``camp``, and the 15-min ``energy``/``genset_energy``."""
    from microgrid.simulator.history import simulate_history

    out: dict[tuple, list] = {}
    for r in simulate_history(camp, camp_settings(), start, days, seed=seed, sample_s=60):
        out.setdefault((r.measurement, r.tags.get("device")), []).append((r.time, r.fields))
    return {k: pd.DataFrame([f for _, f in v], index=pd.DatetimeIndex([t for t, _ in v])).sort_index()
            for k, v in out.items()}


def _noisy(field: str) -> bool:
    return field.endswith(_NOISY) and not any(s in field for s in _STEADY)


def telemetry_block(layout: SeriesLayout, phys: dict[tuple, pd.DataFrame], start: datetime, end: datetime,
                    rng: np.random.Generator) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One series' points in [start, end) at its live step, from the physics (module docstring)."""
    step = pd.Timedelta(seconds=layout.step_s)
    times = pd.date_range(start, end, freq=step, inclusive="left").as_unit("ns")
    src = phys.get((layout.measurement, layout.tags.get("device")))
    t = times.asi8.astype(float)
    cols = {}
    for field, k in layout.decimals.items():
        if src is not None and field in src.columns:
            s = src[field].dropna()
            v = np.interp(t, s.index.as_unit("ns").asi8.astype(float), s.to_numpy(dtype=float))
            if set(np.unique(s.to_numpy())) <= {0.0, 1.0, 2.0}:  # a flag or mode: hold, no ramp
                idx = np.searchsorted(s.index.as_unit("ns").asi8, times.asi8, side="right") - 1
                v = s.to_numpy(dtype=float)[np.clip(idx, 0, len(s) - 1)]
            elif _noisy(field):
                k = max(k, next(d for suffix, d in _FINE.items() if field.endswith(suffix)))
                live = v != 0.0
                v = v + live * rng.normal(0.0, 1.0, len(v)) * np.maximum(0.003 * np.abs(v), 10.0 ** -k)
        else:  # not in the physics (ratings, flags): the live run's last value
            v = np.full(len(times), float(layout.sample[field].dropna().iloc[-1]))
        cols[field] = np.round(v, k)
    return times.asi8, cols


def record_block(layout: SeriesLayout, phys: dict[tuple, pd.DataFrame], start: datetime, end: datetime
                 ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A record series in [start, end): energy roll-ups from the physics, the others at their
    live cadence with their live values cycled."""
    src = phys.get((layout.measurement, layout.tags.get("device")))
    if layout.measurement in ("energy", "genset_energy") and src is not None:
        part = src[(src.index >= start) & (src.index < end)]
        return part.index.as_unit("ns").asi8, {c: part[c].to_numpy(dtype=float) for c in part.columns}
    times = pd.date_range(start, end, freq=pd.Timedelta(seconds=max(layout.step_s, 1.0)),
                          inclusive="left").as_unit("ns")
    sample = layout.sample.to_numpy(dtype=float)
    rows = sample[np.arange(len(times)) % len(sample)]
    return times.asi8, {c: rows[:, i] for i, c in enumerate(layout.sample.columns)}


def months(start: datetime, days: float) -> list[tuple[datetime, datetime]]:
    """[start, end) blocks of at most 30 days covering ``days`` from ``start``."""
    end = start + timedelta(days=days)
    out, t = [], start
    while t < end:
        out.append((t, min(t + timedelta(days=30), end)))
        t = out[-1][1]
    return out


START = datetime(2025, 11, 1, tzinfo=timezone.utc)


def write_history(path: Path, days: float, layouts: list[SeriesLayout], start: datetime = START,
                  progress=print) -> int:
    """``days`` of the camp from ``start`` into a tiered SQLite store at ``path``, month by
    month, with retention applied as it goes (raw readings past 30 days deleted once rolled
    up). Returns the values written (what the live service would have written)."""
    from telemetry.historian import open_historian

    camp = site()
    written = 0
    rng = np.random.default_rng(17)
    with open_historian(f"sqlite:///{path}", tiered=True) as store:
        for m0, m1 in months(start, days):
            phys = physics(camp, m0, (m1 - m0).total_seconds() / 86400)
            for lay in layouts:
                if lay.measurement in TELEMETRY:
                    times, cols = telemetry_block(lay, phys, m0, m1, rng)
                else:
                    times, cols = record_block(lay, phys, m0, m1)
                written += int(sum((~np.isnan(v)).sum() for v in cols.values()))
                store.write_columns(lay.measurement, lay.tags, times, cols)
            store.set_marks(camp.name, int(pd.Timestamp(start).value), int(pd.Timestamp(m1).value))
            store.apply_retention()
            progress(f"  {m1:%Y-%m-%d}: {written / 1e6:,.0f} M values written, file "
                     f"{path.stat().st_size / 2**20:,.0f} MiB")
    return written
