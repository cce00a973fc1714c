"""Report charts (matplotlib, Agg; no pyplot state): daily energy by source, renewable fraction
by day, genset loading histogram. Each returns a :class:`matplotlib.figure.Figure`."""

from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from microgrid.reports.summary import ReportSummary
from microgrid.reports.tables import loading_band_labels

COLORS = {"pv": "#f2b701", "battery": "#3b7dd8", "genset": "#7f7f7f", "charge": "#9ecae1",
          "curtailed": "#fdd49e", "load": "#000000", "rf": "#2ca02c", "below": "#d62728"}


def _new(figsize=(8.0, 3.2)) -> Figure:
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _vals(rows, key) -> np.ndarray:
    return np.array([np.nan if getattr(r, key) is None else getattr(r, key) for r in rows], float)


def daily_energy_figure(s: ReportSummary, figsize=(8.0, 3.2)) -> Figure:
    """Stacked daily supply by source (PV used, battery out, genset), charge below zero. [kWh]"""
    fig = _new(figsize)
    plot_daily_energy(fig.add_subplot(), s)
    return fig


def plot_daily_energy(ax, s: ReportSummary) -> None:
    """Draw the daily energy chart on ``ax``."""
    x = np.arange(len(s.daily))
    pv, dis, gen = (_vals(s.daily, k) for k in ("pv_kwh", "battery_discharge_kwh", "genset_kwh"))
    chg = _vals(s.daily, "battery_charge_kwh")
    z = lambda a: np.nan_to_num(a)  # noqa: E731 - stacking base only; bars stay absent on NaN
    ax.bar(x, pv, color=COLORS["pv"], label="PV used")
    ax.bar(x, dis, bottom=z(pv), color=COLORS["battery"], label="Battery out")
    ax.bar(x, gen, bottom=z(pv) + z(dis), color=COLORS["genset"], label="Genset")
    ax.bar(x, -chg, color=COLORS["charge"], label="Battery in (negative)")
    ax.plot(x, _vals(s.daily, "load_kwh"), color=COLORS["load"], lw=1.2, marker=".", label="Load")
    _day_axis(ax, s)
    ax.set_ylabel("Energy [kWh/day]")
    ax.set_title("Daily energy by source")
    ax.axhline(0, color="black", lw=0.5)
    top = np.nanmax(np.concatenate([z(pv) + z(dis) + z(gen), z(_vals(s.daily, "load_kwh")), [1.0]]))
    ax.set_ylim(top=top * 1.25)
    ax.legend(fontsize=7, ncol=5, loc="upper center")


def renewable_fraction_figure(s: ReportSummary, figsize=(8.0, 2.6)) -> Figure:
    """Renewable fraction per day and for the period. [%]"""
    fig = _new(figsize)
    plot_renewable_fraction(fig.add_subplot(), s)
    return fig


def plot_renewable_fraction(ax, s: ReportSummary) -> None:
    """Draw the renewable-fraction-by-day chart on ``ax``."""
    x = np.arange(len(s.daily))
    ax.bar(x, _vals(s.daily, "renewable_fraction_pct"), color=COLORS["rf"])
    if s.renewable_fraction_pct is not None:
        ax.axhline(s.renewable_fraction_pct, color="black", ls="--", lw=1,
                   label=f"period {s.renewable_fraction_pct:.1f} %")
        ax.legend(fontsize=7, loc="upper right")
    ax.set_ylim(0, 100)
    _day_axis(ax, s)
    ax.set_ylabel("Renewable fraction [%]")
    ax.set_title("Renewable fraction by day (1 - genset kWh / load kWh)")


def loading_histogram_figure(s: ReportSummary, figsize=(8.0, 2.8)) -> Figure:
    """Run hours per loading band, stacked by genset. [h]"""
    fig = _new(figsize)
    plot_loading_histogram(fig.add_subplot(), s)
    return fig


def plot_loading_histogram(ax, s: ReportSummary) -> None:
    """Draw the genset loading histogram on ``ax``."""
    labels = loading_band_labels()
    x = np.arange(len(labels))
    bottom = np.zeros(len(labels))
    cmap = ["#4c4c4c", "#8c8c8c", "#bdbdbd", "#6b8e23", "#8b4513", "#483d8b"]
    for i, g in enumerate(s.gensets):
        h = np.array(g.loading_h, float)
        ax.bar(x, h, bottom=bottom, color=cmap[i % len(cmap)], label=g.name, edgecolor="white")
        bottom += h
    ax.set_xticks(x, labels, rotation=30, fontsize=7, ha="right")
    ax.set_ylabel("Run hours [h]")
    below = sum(g.below_min_h or 0.0 for g in s.gensets)
    ax.set_title(f"Genset loading (share of rated power); {below:,.1f} h below minimum load")
    if s.gensets:
        ax.legend(fontsize=7)


def _day_axis(ax, s: ReportSummary) -> None:
    n = len(s.daily)
    step = max(1, int(np.ceil(n / 16)))
    ticks = np.arange(0, n, step)
    fmt = "%d %b" if n > 40 else "%d"
    ax.set_xticks(ticks, [s.daily[i].day.strftime(fmt) for i in ticks], fontsize=7)
    ax.set_xlim(-0.6, n - 0.4)
    ax.set_xlabel(f"Day ({s.timezone})", fontsize=8)


def png_bytes(fig: Figure, dpi: int = 110) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


PLOTTERS = (plot_daily_energy, plot_renewable_fraction, plot_loading_histogram)


def all_figures(s: ReportSummary) -> list[Figure]:
    """The three report charts, in report order."""
    return [daily_energy_figure(s), renewable_fraction_figure(s), loading_histogram_figure(s)]
