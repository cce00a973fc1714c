"""Open a store to read only, for the commands that read what the service wrote (the camp page,
reports): a SQLite file must exist and is never changed."""

from __future__ import annotations

from pathlib import Path

from microgrid.errors import ConfigError, MicrogridError
from telemetry.historian.base import Historian


def open_reader(spec: str) -> Historian:
    """The store named by ``spec``, opened to read only (a SQLite file must exist; it is never
    changed). SQLite is read with its roll-ups; InfluxDB with them when the spec says
    ``raw_days=``/``tiers=``."""
    from telemetry.historian import open_historian
    if spec.startswith("sqlite:"):
        path = Path(spec.split("?")[0].removeprefix("sqlite:").removeprefix("///"))
        if not path.is_file():
            raise ConfigError(f"store {spec!r} not found: no file {str(path)!r} (run the demo or the service "
                              f"first, or give --store)")
    try:
        return open_historian(spec, tiered=spec.startswith("sqlite:"), readonly=True)
    except MicrogridError as exc:
        raise ConfigError(f"cannot open store {spec.split('?')[0]!r}: {exc}") from exc
