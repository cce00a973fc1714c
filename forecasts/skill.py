"""Forecast skill: MAE, RMSE, skill score against a reference, p10–p90 coverage, by lead time.

Skill score = 1 − MAE_model / MAE_reference (1 perfect, 0 no better than the reference,
negative worse). Pure.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

#: Lead-time buckets (lo, hi] in hours.
LEAD_BUCKETS_H: tuple[tuple[float, float], ...] = ((0, 1), (1, 3), (3, 6), (6, 24))


def mae(error: np.ndarray) -> float:
    """Mean absolute error over finite values (NaN if none). [unit of the error]"""
    e = np.asarray(error, dtype=float)
    e = e[np.isfinite(e)]
    return float(np.abs(e).mean()) if len(e) else float("nan")


def rmse(error: np.ndarray) -> float:
    """Root-mean-square error over finite values (NaN if none). [unit of the error]"""
    e = np.asarray(error, dtype=float)
    e = e[np.isfinite(e)]
    return float(np.sqrt((e ** 2).mean())) if len(e) else float("nan")


def skill_score(mae_model: float, mae_reference: float) -> float:
    """1 − MAE_model / MAE_reference; NaN when the reference MAE is 0 or unknown. [-]"""
    if not np.isfinite(mae_reference) or mae_reference == 0:
        return float("nan")
    return 1.0 - mae_model / mae_reference


@dataclass(frozen=True)
class SkillRow:
    """Skill over one lead-time bucket.

    Attributes
    ----------
    lead : str
        Bucket label, e.g. ``"1-3 h"``.
    n : int
        Number of (issue, target) pairs scored.
    mae_kw, rmse_kw : float
        Model p50 errors. [kW]
    mae_reference_kw, rmse_reference_kw : float
        Reference forecast errors. [kW]
    skill : float
        1 − mae_kw / mae_reference_kw. [-]
    coverage_pct : float
        Share of truths inside [p10, p90] (80 % if calibrated). [%]
    """

    lead: str
    n: int
    mae_kw: float
    rmse_kw: float
    mae_reference_kw: float
    rmse_reference_kw: float
    skill: float
    coverage_pct: float

    def to_dict(self) -> dict:
        return asdict(self)


def skill_row(label: str, truth: np.ndarray, p50: np.ndarray, reference: np.ndarray,
              p10: np.ndarray, p90: np.ndarray) -> SkillRow:
    """Score one set of (truth, forecast) pairs; pairs with any NaN are left out."""
    t, m, r, lo, hi = (np.asarray(a, dtype=float).ravel() for a in (truth, p50, reference, p10, p90))
    ok = np.isfinite(t) & np.isfinite(m) & np.isfinite(r) & np.isfinite(lo) & np.isfinite(hi)
    t, m, r, lo, hi = t[ok], m[ok], r[ok], lo[ok], hi[ok]
    mae_m, mae_r = mae(m - t), mae(r - t)
    cover = float(100.0 * ((t >= lo) & (t <= hi)).mean()) if len(t) else float("nan")
    return SkillRow(label, int(len(t)), mae_m, rmse(m - t), mae_r, rmse(r - t),
                    skill_score(mae_m, mae_r), cover)


def skill_by_lead(lead_h: np.ndarray, truth: np.ndarray, p50: np.ndarray, reference: np.ndarray,
                  p10: np.ndarray, p90: np.ndarray, mask: np.ndarray | None = None,
                  buckets: tuple[tuple[float, float], ...] = LEAD_BUCKETS_H) -> list[SkillRow]:
    """Skill per lead bucket, then over all buckets (label ``"all"``).

    Parameters
    ----------
    lead_h : numpy.ndarray
        Lead of each pair, broadcastable to ``truth``. [h]
    truth, p50, reference, p10, p90 : numpy.ndarray
        Same shape (e.g. issues × horizon). [kW]
    mask : numpy.ndarray of bool, optional
        Pairs to score (e.g. daytime only).
    """
    truth = np.asarray(truth, dtype=float)
    lead = np.broadcast_to(np.asarray(lead_h, dtype=float), truth.shape)
    keep = np.ones(truth.shape, bool) if mask is None else np.asarray(mask, bool)
    rows = []
    for lo, hi in buckets:
        sel = keep & (lead > lo) & (lead <= hi)
        rows.append(skill_row(f"{lo:g}-{hi:g} h", truth[sel], p50[sel], reference[sel],
                              p10[sel], p90[sel]))
    sel = keep & (lead > buckets[0][0]) & (lead <= buckets[-1][1])
    rows.append(skill_row("all", truth[sel], p50[sel], reference[sel], p10[sel], p90[sel]))
    return rows


def format_table(rows: list[SkillRow], reference_name: str) -> str:
    """A fixed-width text table of skill rows."""
    head = (f"{'lead':>8} {'n':>7} {'MAE model':>10} {'MAE ' + reference_name:>22} "
            f"{'RMSE model':>11} {'skill':>7} {'p10-p90 cover':>14}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r.lead:>8} {r.n:>7} {r.mae_kw:>8.2f}kW {r.mae_reference_kw:>20.2f}kW "
                     f"{r.rmse_kw:>9.2f}kW {r.skill:>7.3f} {r.coverage_pct:>13.1f}%")
    return "\n".join(lines)
