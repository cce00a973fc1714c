"""Read and validate a planner input file (IN.csv): ``time, load_kw, pv_available_kw``.

``time`` is ISO 8601 in UTC (``Z`` or ``+00:00``), the start of each step, on a regular grid.
Every problem raises :class:`~microgrid.errors.InputError` naming the file, the row (the line
number in the file, header = 1) and the column.
"""

from __future__ import annotations

import csv
import math
from datetime import datetime, timedelta
from difflib import get_close_matches
from pathlib import Path

import numpy as np

from microgrid.errors import InputError
from optimizer.plan import PlanInputs

COLUMNS = ("time", "load_kw", "pv_available_kw")


def read_inputs_csv(path: str | Path, default_step_min: float = 15.0) -> PlanInputs:
    """Parse IN.csv into :class:`PlanInputs`.

    Parameters
    ----------
    path : str or Path
        The CSV file.
    default_step_min : float
        Step length when the file has a single row. [min]
    """
    path = str(path)
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=path) from exc
    if not rows:
        raise InputError("empty file; expected a header: " + ",".join(COLUMNS), path=path, row=1)
    header = [h.strip() for h in rows[0]]
    _check_header(path, header)
    idx = {c: header.index(c) for c in COLUMNS}
    times, load, pv, lines = [], [], [], []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise InputError(f"{len(row)} fields, header has {len(header)}", path=path, row=line)
        lines.append(line)
        times.append(_parse_time(path, line, row[idx["time"]]))
        load.append(_parse_kw(path, line, "load_kw", row[idx["load_kw"]]))
        pv.append(_parse_kw(path, line, "pv_available_kw", row[idx["pv_available_kw"]]))
    if not times:
        raise InputError("no data rows", path=path, row=2)
    step = _check_grid(path, times, lines, default_step_min)
    return PlanInputs(tuple(times), np.full(len(times), step.total_seconds() / 3600.0),
                      np.array(load), np.array(pv))


def _check_header(path: str, header: list[str]) -> None:
    for col in header:
        if col not in COLUMNS:
            hint = get_close_matches(col, COLUMNS, n=1, cutoff=0.4)
            raise InputError(f"unknown column{f'; did you mean {hint[0]!r}?' if hint else ''} "
                             f"(expected {', '.join(COLUMNS)})", path=path, row=1, column=col)
    for col in COLUMNS:
        if col not in header:
            raise InputError(f"missing column (expected {', '.join(COLUMNS)})", path=path, row=1, column=col)


def _parse_time(path: str, line: int, text: str) -> datetime:
    text = text.strip()
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"not an ISO 8601 time: {text!r}", path=path, row=line, column="time") from None
    if t.tzinfo is None:
        raise InputError(f"time {text!r} has no UTC offset; write it as UTC with 'Z' or '+00:00'",
                         path=path, row=line, column="time")
    if t.utcoffset() != timedelta(0):
        raise InputError(f"time {text!r} is not UTC (offset {t.utcoffset()}); convert to UTC",
                         path=path, row=line, column="time")
    return t


def _parse_kw(path: str, line: int, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"not a number: {text.strip()!r}", path=path, row=line, column=column) from None
    if not math.isfinite(value):
        raise InputError(f"missing or infinite value: {text.strip()!r}", path=path, row=line, column=column)
    if value < 0:
        raise InputError(f"negative power {value:g} kW", path=path, row=line, column=column)
    return value


def _check_grid(path: str, times: list[datetime], lines: list[int], default_step_min: float) -> timedelta:
    """The regular step of the series; a gap or irregular step is an error at its row."""
    if len(times) == 1:
        return timedelta(minutes=default_step_min)
    step = times[1] - times[0]
    for i in range(1, len(times)):
        d = times[i] - times[i - 1]
        if d <= timedelta(0):
            raise InputError(f"time {times[i].isoformat()} does not follow {times[i - 1].isoformat()}",
                             path=path, row=lines[i], column="time")
        if d != step:
            raise InputError(f"gap or irregular step: {d} after {times[i - 1].isoformat()}, "
                             f"expected {step}", path=path, row=lines[i], column="time")
    return step
