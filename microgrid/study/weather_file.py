"""Weather files for studies: a typical year of hourly irradiance and air temperature.

Read with ``pvlib.iotools``: TMY3 (``.csv``, NSRDB's typical meteorological year, as shipped with
pvlib), PVGIS TMY (``.json``, ``.csv`` or ``.epw`` from the PVGIS tool), EnergyPlus EPW
(``.epw``) and NSRDB PSM4 (``.csv`` from the NSRDB download). The year is reduced to the
file's hourly **clear-sky index** at the site (GHI over pvlib's clear sky at the middle of each
hour) and air temperature, indexed by the UTC start of each hour of one typical year
(:func:`read_weather_file`). :func:`weather_at` puts them on any instant of any year by its
position in the year (29 February repeats the 28th) and turns them into irradiance through the
virtual camp's sky model (:func:`microgrid.simulator.weather.sky`), so the sun's position is
the site's at the instant and only the clouds and the temperature come from the file.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pvlib

from forecasts.tmy import read_tmy
from microgrid.errors import InputError
from microgrid.simulator.weather import CSI_MAX, clear_sky_ghi_wm2, sky
from microgrid.site import Site

__all__ = ["FORMATS", "read_weather_file", "weather_at"]

FORMATS = ("tmy3", "pvgis", "epw", "nsrdb")
_HOURS = 8760
#: Below this clear-sky GHI the index of an hour is not defined (night, dawn). [W/m²]
_MIN_CLEAR_WM2 = 20.0


def read_weather_file(path: str | Path, site: Site) -> pd.DataFrame:
    """A weather file as a typical year at ``site``.

    Returns
    -------
    pandas.DataFrame
        8,760 rows indexed by hour of the year (0 = 1 January 00:00 UTC): ``clear_sky_index``
        [-] and ``temp_air`` [°C].

    Raises
    ------
    InputError
        Unknown format, unreadable file, or no ``ghi`` / ``temp_air`` in it, naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("weather file not found", path=str(path))
    hourly = _read(path)
    missing = [c for c in ("ghi", "temp_air") if c not in hourly.columns]
    if missing:
        raise InputError(f"no {missing[0]!r} column after reading it with pvlib.iotools", path=str(path),
                         column=missing[0])
    hourly = hourly[["ghi", "temp_air"]].astype(float)
    hourly = hourly.resample("1h").mean()
    year_hour = _hour_of_year(hourly.index)
    table = hourly.groupby(year_hour).mean().reindex(range(_HOURS))
    if table["ghi"].isna().mean() > 0.05:
        raise InputError(f"covers only {100 * table['ghi'].notna().mean():.0f} % of the hours of a year; "
                         "a typical-year file has 8,760", path=str(path))
    table = table.interpolate(limit_direction="both")
    mid = pd.date_range("2001-01-01 00:30", periods=_HOURS, freq="1h", tz="UTC")  # a non-leap year
    clear = clear_sky_ghi_wm2(site, mid)
    csi = np.where(clear > _MIN_CLEAR_WM2, table["ghi"].to_numpy() / np.maximum(clear, 1e-9), np.nan)
    csi_series = pd.Series(np.clip(csi, 0.0, CSI_MAX)).interpolate(limit_direction="both").fillna(1.0)
    return pd.DataFrame({"clear_sky_index": csi_series.to_numpy(), "temp_air": table["temp_air"].to_numpy()},
                        index=pd.RangeIndex(_HOURS, name="hour_of_year"))


def weather_at(site: Site, year: pd.DataFrame, times: pd.DatetimeIndex) -> pd.DataFrame:
    """Irradiance and air temperature at ``times`` from a typical year (:func:`read_weather_file`).

    The hourly values stand for the middle of their hour and are interpolated linearly between
    hours (wrapping from 31 December to 1 January).
    """
    pos = _position_h(times) - 0.5
    ring = np.arange(-1, _HOURS + 1)
    def interp(column: str) -> np.ndarray:
        v = year[column].to_numpy(dtype=float)
        return np.interp(pos, ring, np.concatenate([[v[-1]], v, [v[0]]]))
    return sky(site, times, interp("clear_sky_index"), interp("temp_air"))


def _position_h(times: pd.DatetimeIndex) -> np.ndarray:
    """Hours since 1 January 00:00 UTC of the instant's year, 29 February folded onto the 28th."""
    utc = times.tz_convert("UTC")
    year_start = pd.to_datetime(utc.year.astype(str) + "-01-01", utc=True)
    hours = np.asarray((utc - year_start) / pd.Timedelta(hours=1), dtype=float)
    leap = np.asarray(utc.is_leap_year)
    after_feb28 = hours >= 59 * 24
    hours = np.where(leap & after_feb28, hours - 24, hours)
    return np.mod(hours, _HOURS)


def _hour_of_year(index: pd.DatetimeIndex) -> np.ndarray:
    return np.floor(_position_h(index) + 1e-9).astype(int) % _HOURS


def _read(path: Path) -> pd.DataFrame:
    """Hourly data indexed by the UTC start of each hour (any year; coerced later)."""
    kind = _kind(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if kind == "tmy3":
                return read_tmy(str(path)).weather
            if kind == "epw" or (kind == "pvgis" and path.suffix.lower() == ".epw"):
                data, _ = pvlib.iotools.read_epw(str(path))
                return _hour_start_utc(data, hour_ending=True)
            if kind == "pvgis":
                data, _ = pvlib.iotools.read_pvgis_tmy(str(path), map_variables=True)
                return _hour_start_utc(data, hour_ending=False)
            data, _ = pvlib.iotools.read_nsrdb_psm4(str(path), map_variables=True)
            return _hour_start_utc(data, hour_ending=False)
    except InputError:
        raise
    except Exception as exc:  # pvlib's readers raise many kinds on a malformed file
        raise InputError(f"cannot read it as a {kind} weather file: {exc}", path=str(path)) from None


def _kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "pvgis"
    if suffix == ".epw":
        return "epw"
    if suffix != ".csv":
        raise InputError(f"unknown weather file type {suffix!r}; give a TMY3, PVGIS or NSRDB .csv, a PVGIS "
                         ".json or an .epw", path=str(path))
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        first = fh.readline()
    if first.startswith("Latitude"):
        return "pvgis"
    if first.startswith("Source"):
        return "nsrdb"
    return "tmy3"


def _hour_start_utc(data: pd.DataFrame, hour_ending: bool) -> pd.DataFrame:
    idx = pd.DatetimeIndex(data.index)
    idx = idx.tz_localize("UTC") if idx.tz is None else idx.tz_convert("UTC")
    if hour_ending:
        idx = idx - pd.Timedelta(hours=1)
    return data.set_axis(idx, axis=0).sort_index()
