"""What drives the step model: the camp's load and the PV each array could feed.

A conditions frame is indexed by the UTC start of each step and has ``load_kw`` and one
``pv_available_kw__<array>`` column per PV array, each the mean over the step [kW]. The virtual
camp generates such frames from its weather and load models; the backtest and the forecast
evaluation take any :class:`ConditionsSource` (docs/architecture.md §1).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import pandas as pd

__all__ = ["PV_PREFIX", "ConditionsSource", "pv_column"]

PV_PREFIX = "pv_available_kw__"


def pv_column(array_name: str) -> str:
    """Column of an array's available PV in a conditions frame."""
    return PV_PREFIX + array_name


class ConditionsSource(Protocol):
    """Conditions on any window and step, the same values whatever window asks for an instant."""

    @property
    def seed(self) -> int | None:
        """Seed of a synthetic source (None for measured conditions)."""
        ...

    def frame(self, start: datetime, periods: int, step_min: float) -> pd.DataFrame:
        """``periods`` rows of ``step_min`` minutes from ``start`` (timezone-aware)."""
        ...
