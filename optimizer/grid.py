"""The planning time grid: fine steps near the start, coarser blocks far in the horizon."""

from __future__ import annotations

import math

import numpy as np

from optimizer.plan import PlanInputs

_EPS = 1e-9


def coarsen(inputs: PlanInputs, fine_horizon_h: float, block_h: float = 1.0) -> PlanInputs:
    """Keep the steps within ``fine_horizon_h``, merge the rest into ``block_h`` blocks.

    Blocks are aligned to the clock (whole UTC hours for 1 h blocks), and the fine part runs to
    the first block boundary at or after ``fine_horizon_h``: so a plan re-solved one step later
    has the same blocks as the previous one (an exact warm start), and the grid comes in only
    ``block_h / step`` shapes (the planner keeps one model per shape). Load and PV of a block are
    the duration-weighted means of its steps, so energy is kept. Steps already as long as
    ``block_h`` are left alone.

    Parameters
    ----------
    inputs : PlanInputs
        Forecast on its own (usually regular) grid.
    fine_horizon_h : float
        Least part of the horizon kept at the input resolution. [h]
    block_h : float
        Length of the coarse blocks. [h]
    """
    t0_h = inputs.time[0].timestamp() / 3600.0
    abs_h = t0_h + inputs.start_h
    fine_end_h = math.ceil((t0_h + fine_horizon_h) / block_h - _EPS) * block_h
    groups: list[list[int]] = []
    last_key = None
    for i, (s, dt) in enumerate(zip(abs_h, inputs.dt_h)):
        key = math.floor((s + _EPS) / block_h)
        if s < fine_end_h - _EPS or dt >= block_h - _EPS:
            groups.append([i])
            last_key = None
        elif key == last_key:
            groups[-1].append(i)
        else:
            groups.append([i])
            last_key = key
    if len(groups) == len(inputs):
        return inputs
    dt = np.array([inputs.dt_h[g].sum() for g in groups])
    load = np.array([np.dot(inputs.load_kw[g], inputs.dt_h[g]) for g in groups]) / dt
    pv = np.array([np.dot(inputs.pv_available_kw[g], inputs.dt_h[g]) for g in groups]) / dt
    return PlanInputs(tuple(inputs.time[g[0]] for g in groups), dt, load, pv)


def planning_grid(inputs: PlanInputs, fine_horizon_h: float, hourly_horizon_h: float | None = None) -> PlanInputs:
    """The optimizer's grid: the input step up to ``fine_horizon_h``, hourly blocks up to
    ``hourly_horizon_h`` (default: to the end), 2-h blocks (aligned to even UTC hours) after.
    Rolled forward one hour, the grid alternates between two shapes."""
    grid = coarsen(inputs, fine_horizon_h, 1.0)
    return grid if hourly_horizon_h is None else coarsen(grid, hourly_horizon_h, 2.0)
