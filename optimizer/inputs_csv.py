"""Read and validate a planner input file (IN.csv): ``time, load_kw, pv_available_kw``.

``time`` is ISO 8601 in UTC (``Z`` or ``+00:00``), the start of each step, on a regular grid.
Every problem raises :class:`~microgrid.errors.InputError` naming the file, the row (the line
number in the file, header = 1) and the column.

For a site (:func:`read_plan_inputs`, what ``microgrid plan`` reads) the file must also be a plan
the optimizer can make: at most :data:`MAX_HORIZON_H` long (checked while reading, before any
model is built), on a step that divides an hour into whole minutes (1, 2, 3, 4, 5, 6, 10, 12,
15, 20, 30 or 60 min, as ``optimizer.step_min``), and with no load or PV beyond
:data:`MAGNITUDE_FACTOR` times what the site has installed.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np

from microgrid.errors import InputError
from microgrid.series_csv import SeriesCsv, read_series_csv
from microgrid.site import Site
from optimizer.plan import PlanInputs

__all__ = ["COLUMNS", "MAX_HORIZON_H", "MAGNITUDE_FACTOR", "read_inputs_csv", "read_plan_inputs"]

COLUMNS = ("time", "load_kw", "pv_available_kw")
#: The longest plan ``microgrid plan`` makes: 14 days (the longest ``optimizer.horizon_h``). [h]
MAX_HORIZON_H = 14 * 24
#: A load or PV value above this many times the site's installed capacity is an input error.
MAGNITUDE_FACTOR = 10.0
#: The finest step a plan input may have. [min]
_MIN_STEP_MIN = 1


def read_inputs_csv(path: str | Path, default_step_min: float = 15.0) -> PlanInputs:
    """Parse IN.csv into :class:`PlanInputs` (:func:`microgrid.series_csv.read_series_csv`).

    Parameters
    ----------
    path : str or Path
        The CSV file.
    default_step_min : float
        Step length when the file has a single row. [min]

    Raises
    ------
    InputError
        Naming the file, row and column (see :func:`~microgrid.series_csv.read_series_csv`); also
        a gap or irregular step.
    """
    table = read_series_csv(path, COLUMNS[1:])
    return _inputs(table, table.regular_step(timedelta(minutes=default_step_min)))


def read_plan_inputs(path: str | Path, site: Site) -> PlanInputs:
    """Parse IN.csv for a plan of ``site``: :func:`read_inputs_csv` plus the horizon, step and
    magnitude checks of the module docstring.

    Raises
    ------
    InputError
        Naming the file, row and column: a row :data:`MAX_HORIZON_H` or more after the first
        (the file is read no further), a step that does not divide an hour into whole minutes,
        a load or PV value beyond :data:`MAGNITUDE_FACTOR` × the site's installed capacity.
    """
    note = f" (microgrid plan plans at most {MAX_HORIZON_H // 24} days; cut the file)"
    table = read_series_csv(path, COLUMNS[1:], max_span=timedelta(hours=MAX_HORIZON_H),
                            max_rows=MAX_HORIZON_H * 60 // _MIN_STEP_MIN, limit_note=note)
    step = table.regular_step(timedelta(minutes=site.optimizer.step_min))
    minutes = step.total_seconds() / 60.0
    if len(table.times) > 1 and (minutes != int(minutes) or 60 % int(minutes)):
        raise InputError(f"step of {step} between rows; a plan's step must divide an hour into whole "
                         f"minutes (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 or 60 min)",
                         path=table.path, row=table.lines[1], column="time")
    _check_magnitudes(table, site)
    return _inputs(table, step)


def _check_magnitudes(table: SeriesCsv, site: Site) -> None:
    """Load beyond MAGNITUDE_FACTOR × (gensets + PV + battery discharge), PV beyond
    MAGNITUDE_FACTOR × the PV's kWp: an error at the first such row."""
    installed_kw = site.genset_kw + site.pv_kwp + sum(b.discharge_power_kw for b in site.batteries)
    for column, limit_kw, what in (
            ("load_kw", MAGNITUDE_FACTOR * installed_kw,
             f"the {installed_kw:g} kW of gensets, PV and battery the site has installed"),
            ("pv_available_kw", MAGNITUDE_FACTOR * site.pv_kwp, f"the site's {site.pv_kwp:g} kWp of PV")):
        values = table.columns[column]
        over = np.flatnonzero(values > limit_kw)
        if over.size:
            i = int(over[0])
            raise InputError(f"{values[i]:g} kW is more than {MAGNITUDE_FACTOR:g} × {what} "
                             f"(site {site.name!r}); is the unit W instead of kW?",
                             path=table.path, row=table.lines[i], column=column)


def _inputs(table: SeriesCsv, step: timedelta) -> PlanInputs:
    n = len(table.times)
    return PlanInputs(table.times, np.full(n, step.total_seconds() / 3600.0),
                      table.columns["load_kw"], table.columns["pv_available_kw"])
