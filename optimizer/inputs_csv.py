"""Read and validate a planner input file (IN.csv): ``time, load_kw, pv_available_kw``.

``time`` is ISO 8601 in UTC (``Z`` or ``+00:00``), the start of each step, on a regular grid.
Every problem raises :class:`~microgrid.errors.InputError` naming the file, the row (the line
number in the file, header = 1) and the column.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np

from microgrid.series_csv import read_series_csv
from optimizer.plan import PlanInputs

COLUMNS = ("time", "load_kw", "pv_available_kw")


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
    step = table.regular_step(timedelta(minutes=default_step_min))
    n = len(table.times)
    return PlanInputs(table.times, np.full(n, step.total_seconds() / 3600.0),
                      table.columns["load_kw"], table.columns["pv_available_kw"])
