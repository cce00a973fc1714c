"""Typed errors of camp-microgrid.

Every error carries the context a camp engineer needs to fix the cause: the file, the key
or field, the device, the row. Secrets never appear in messages.
"""

from __future__ import annotations


class MicrogridError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(MicrogridError):
    """A site file (or another configuration input) is invalid.

    Parameters
    ----------
    message : str
        What is wrong and, where possible, how to fix it.
    path : str, optional
        The file the error is in.
    key : str, optional
        The dotted key path inside the file, e.g. ``genset[1].min_load_pct``.
    """

    def __init__(self, message: str, *, path: str | None = None, key: str | None = None):
        self.path = path
        self.key = key
        self.detail = message
        where = ": ".join(p for p in (path, key) if p)
        super().__init__(f"{where}: {message}" if where else message)


class DeviceError(MicrogridError):
    """A device did not answer, answered garbage, or refused a request."""

    def __init__(self, message: str, *, device: str | None = None):
        self.device = device
        super().__init__(f"device {device!r}: {message}" if device else message)


class InputError(MicrogridError):
    """A data input file (CSV of loads, PV, ...) is invalid at a named row and column."""

    def __init__(self, message: str, *, path: str | None = None, row: int | None = None,
                 column: str | None = None):
        self.path, self.row, self.column = path, row, column
        parts = [p for p in (path, f"row {row}" if row is not None else None,
                             f"column {column!r}" if column else None) if p]
        super().__init__(f"{', '.join(parts)}: {message}" if parts else message)


class PlanError(MicrogridError):
    """The optimizer could not produce a plan (the caller falls back to a rule-based plan)."""


class HistorianError(MicrogridError):
    """The historian (SQLite or InfluxDB) refused or failed a read or write."""


class ReportError(MicrogridError):
    """A report cannot be produced (unknown period, no data, missing store)."""
