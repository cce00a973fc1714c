"""Read the TMY3 files that ship with pvlib (``pvlib/data``), offline.

TMY3 rows are hourly values for the hour *ending* at the stamp, in local standard time; this
reader returns them indexed by the UTC *start* of each hour, on a regular grid (the typical
months come from different years; ``coerce_year`` puts them in one).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pvlib
from pvlib import iotools

from microgrid.errors import InputError
from microgrid.site import Location

#: TMY3 files shipped with pvlib.
SHIPPED = {"greensboro": "723170TYA.CSV", "sand-point": "703165TY.csv"}
COLUMNS = ["ghi", "dni", "dhi", "temp_air", "wind_speed"]


@dataclass(frozen=True)
class Tmy:
    """A typical meteorological year.

    Attributes
    ----------
    name : str
        Station name from the file header.
    location : Location
        Station coordinates (timezone ``UTC``: data are UTC).
    weather : pandas.DataFrame
        Hourly ``ghi``, ``dni``, ``dhi`` [W/m²], ``temp_air`` [°C], ``wind_speed`` [m/s], indexed
        by the UTC start of each hour.
    """

    name: str
    location: Location
    weather: pd.DataFrame


def pvlib_data_path(filename: str) -> Path:
    """Path of a data file shipped with pvlib."""
    return Path(pvlib.__file__).parent / "data" / filename


def read_tmy(name_or_path: str = "greensboro", year: int = 2021) -> Tmy:
    """Read a TMY3 file: a key of :data:`SHIPPED`, a file name in ``pvlib/data`` or a path.

    Raises
    ------
    InputError
        The file does not exist or lacks irradiance columns.
    """
    fname = SHIPPED.get(name_or_path, name_or_path)
    path = Path(fname) if Path(fname).is_file() else pvlib_data_path(fname)
    if not path.is_file():
        raise InputError(f"no TMY3 file {name_or_path!r} (shipped: {', '.join(SHIPPED)})",
                         path=str(path))
    data, meta = iotools.read_tmy3(str(path), coerce_year=year, map_variables=True)
    missing = [c for c in COLUMNS if c not in data]
    if missing:
        raise InputError(f"TMY3 file lacks {missing}", path=str(path), column=missing[0])
    w = data[COLUMNS].astype(float)
    w.index = (w.index - pd.Timedelta(hours=1)).tz_convert("UTC")
    w = w.sort_index()
    loc = Location(latitude=float(meta["latitude"]), longitude=float(meta["longitude"]),
                   altitude_m=float(meta["altitude"]), timezone="UTC")
    return Tmy(str(meta.get("Name", path.name)).strip('"'), loc, w)
