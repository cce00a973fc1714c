"""Read a time-series CSV (``time`` plus numeric columns) the same way everywhere.

The planner's inputs (``microgrid plan``), the forecast's history and weather files
(``microgrid forecast``) all go through :func:`read_series_csv`: ``time`` in ISO 8601 UTC (``Z`` or
``+00:00``), the start of each row's interval; numbers in the other columns. Every problem raises
:class:`~microgrid.errors.InputError` naming the file, the row (the line in the file, the header
being row 1) and the column. A file saved by Excel (UTF-8 with a byte-order mark) reads like any
other.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from difflib import get_close_matches
from pathlib import Path

import numpy as np

from microgrid.errors import InputError

__all__ = ["SeriesCsv", "read_series_csv"]


@dataclass(frozen=True)
class SeriesCsv:
    """A parsed time-series CSV.

    Attributes
    ----------
    path : str
    times : tuple of datetime
        Aware UTC times, one per data row, in file order.
    lines : tuple of int
        Line in the file of each data row (header = 1).
    columns : dict[str, numpy.ndarray]
        Every numeric column but ``time``; missing cells are NaN where allowed.
    """

    path: str
    times: tuple[datetime, ...]
    lines: tuple[int, ...]
    columns: dict[str, np.ndarray]

    def regular_step(self, default: timedelta) -> timedelta:
        """The one step between consecutive rows (``default`` for a single row).

        Raises
        ------
        InputError
            A time that does not follow the one before, or a gap or irregular step, at its row.
        """
        if len(self.times) == 1:
            return default
        step = self.times[1] - self.times[0]
        for i in range(1, len(self.times)):
            d = self.times[i] - self.times[i - 1]
            if d <= timedelta(0):
                raise InputError(f"time {self.times[i].isoformat()} does not follow "
                                 f"{self.times[i - 1].isoformat()}", path=self.path, row=self.lines[i],
                                 column="time")
            if d != step:
                raise InputError(f"gap or irregular step: {d} after {self.times[i - 1].isoformat()}, "
                                 f"expected {step}", path=self.path, row=self.lines[i], column="time")
        return step


def read_series_csv(path: str | Path, required: Sequence[str], *, extra: str = "error",
                    missing_ok: bool = False, negative_ok: Collection[str] = (),
                    max_span: timedelta | None = None, max_rows: int | None = None,
                    limit_note: str = "") -> SeriesCsv:
    """Parse a CSV with a ``time`` column and the ``required`` numeric columns.

    Parameters
    ----------
    path : str or Path
    required : sequence of str
        Numeric columns the file must have (``time`` is always required).
    extra : {"error", "keep"}
        Other columns: an error (with a suggestion for a misspelt name), or kept when numeric
        and skipped when they hold text.
    missing_ok : bool
        Empty cells become NaN (else an error at their row).
    negative_ok : collection of str
        Required columns that may hold negative numbers (the other required ones must be ≥ 0;
        kept extra columns may be negative).
    max_span : timedelta, optional
        A row starting this long after the first one, or later, is an error at its row; the
        file is read no further (a 10-year file is refused in well under a second).
    max_rows : int, optional
        More data rows than this is an error at the first row too many.
    limit_note : str
        Appended to the message of either limit (e.g. what the limit is for).

    Raises
    ------
    InputError
        Unreadable or not UTF-8, empty, a missing, unknown or repeated column, a row with the
        wrong number of fields, an unparsable or non-UTC time, a non-numeric, infinite, missing
        or negative value, a row beyond ``max_span`` or ``max_rows``.
    """
    path = str(path)
    rows = _rows(path)
    header = [h.strip() for h in next(rows, None) or []]
    if not header:
        raise InputError("empty file; expected a header row", path=path, row=1)
    _check_header(path, header, ("time", *required), extra)
    numeric = [c for c in header if c != "time"]
    cells: dict[str, list[str]] = {c: [] for c in numeric}
    times: list[datetime] = []
    lines: list[int] = []
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise InputError(f"{len(row)} fields, header has {len(header)}", path=path, row=line)
        if max_rows is not None and len(times) >= max_rows:
            raise InputError(f"more than {max_rows} data rows{limit_note}", path=path, row=line)
        t = _parse_time(path, line, row[header.index("time")])
        if max_span is not None and times and t - times[0] >= max_span:
            raise InputError(f"{t.isoformat()} is {_span(t - times[0])} after the first row "
                             f"({times[0].isoformat()}): beyond {_span(max_span)}{limit_note}",
                             path=path, row=line, column="time")
        lines.append(line)
        times.append(t)
        for c in numeric:
            cells[c].append(row[header.index(c)])
    if not times:
        raise InputError("no data rows", path=path, row=2)
    columns = {}
    for c in numeric:
        values = _parse_column(path, c, cells[c], lines, missing_ok, c in negative_ok, strict=c in required)
        if values is not None:
            columns[c] = values
    return SeriesCsv(path, tuple(times), tuple(lines), columns)


def _span(d: timedelta) -> str:
    days = d.total_seconds() / 86400.0
    return f"{days:g} days" if days >= 2 else f"{d.total_seconds() / 3600.0:g} h"


def _rows(path: str) -> Iterator[list[str]]:
    """The CSV rows, read lazily; every problem as an :class:`InputError` naming the file."""
    done = 0  # rows read whole
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            for row in csv.reader(f):
                yield row
                done += 1
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text" + (f" (after row {done})" if done else "")
                         + "; save the file as CSV UTF-8", path=path) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a CSV file", path=path) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=path) from exc
    except csv.Error as exc:
        raise InputError(f"not a CSV file: {exc}", path=path) from None


def _check_header(path: str, header: list[str], wanted: Sequence[str], extra: str) -> None:
    seen: set[str] = set()
    for col in header:
        if col in seen:
            raise InputError("column appears twice", path=path, row=1, column=col)
        seen.add(col)
        if col not in wanted and extra == "error":
            hint = get_close_matches(col, list(wanted), n=1, cutoff=0.4)
            raise InputError(f"unknown column{f'; did you mean {hint[0]!r}?' if hint else ''} "
                             f"(expected {', '.join(wanted)})", path=path, row=1, column=col)
    for col in wanted:
        if col not in header:
            raise InputError(f"missing column (expected {', '.join(wanted)})", path=path, row=1, column=col)


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


def _parse_column(path: str, column: str, texts: list[str], lines: list[int], missing_ok: bool,
                  negative_ok: bool, strict: bool) -> np.ndarray | None:
    """The column as floats; None for an extra column holding text (skipped)."""
    out = np.empty(len(texts))
    for i, text in enumerate(texts):
        t = text.strip()
        if not t and missing_ok:
            out[i] = math.nan
            continue
        try:
            value = float(t)
        except ValueError:
            if not strict:
                return None
            raise InputError(f"not a number: {t!r}", path=path, row=lines[i], column=column) from None
        if not math.isfinite(value):
            raise InputError(f"missing or infinite value: {t!r}", path=path, row=lines[i], column=column)
        if value < 0 and strict and not negative_ok:
            raise InputError(f"negative value {value:g}", path=path, row=lines[i], column=column)
        out[i] = value
    return out
