"""Weather and PV output of the virtual camp (pure, vectorised, offline).

Clear-sky irradiance from pvlib (Ineichen with the Linke turbidity climatology shipped with
pvlib) times a stochastic clear-sky index (the same clouds over every array), split into
beam and diffuse (Erbs), transposed to each array's plane (Hay-Davies), then PVWatts DC with
a Faiman cell temperature, system losses and the PVWatts inverter clipped at its AC rating.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pvlib

from microgrid.simulator.stochastic import STREAM_CLOUDS, standard_ar1
from microgrid.site import PvArray, Site

CSI_MIN, CSI_MAX = 0.05, 1.1  #: clip of the clear-sky index. [-]
CLOUD_TAU_MIN = 90.0  #: correlation time of the clear-sky index. [min]
TEMP_SWING_C = 6.0  #: half the daily air-temperature range. [°C]
TEMP_PEAK_HOUR = 15.0  #: local solar hour of the warmest air. [h]
WIND_SPEED_MS = 1.5  #: wind speed for the cell temperature. [m/s]
INVERTER_EFF_NOM = 0.96  #: PVWatts nominal inverter efficiency. [-]


def solar_hour(times: pd.DatetimeIndex, longitude_deg: float) -> np.ndarray:
    """Local mean solar time of day (UTC + longitude/15), in [0, 24). [h]"""
    utc = times.tz_convert("UTC")
    h = utc.hour + utc.minute / 60.0 + utc.second / 3600.0 + utc.microsecond / 3.6e9
    return np.mod(np.asarray(h, dtype=float) + longitude_deg / 15.0, 24.0)


def clear_sky_index(site: Site, times: pd.DatetimeIndex, seed: int) -> np.ndarray:
    """Stochastic clear-sky index around the site's mean, clipped to [0.05, 1.1]. [-]"""
    climate = site.climate
    x = standard_ar1(times, seed, STREAM_CLOUDS, CLOUD_TAU_MIN)
    return np.clip(climate.clear_sky_index_mean + climate.cloud_variability * x, CSI_MIN, CSI_MAX)


def air_temperature_c(site: Site, times: pd.DatetimeIndex) -> np.ndarray:
    """Air temperature: the site's mean plus a daily cosine peaking mid-afternoon. [°C]"""
    h = solar_hour(times, site.location.longitude)
    return site.climate.ambient_temp_c + TEMP_SWING_C * np.cos(2 * np.pi * (h - TEMP_PEAK_HOUR) / 24.0)


def weather(site: Site, times: pd.DatetimeIndex, seed: int) -> pd.DataFrame:
    """Horizontal irradiance and air temperature at ``times``: the seeded clear-sky index and
    the site's air temperature through :func:`sky`.

    Returns
    -------
    pd.DataFrame
        As :func:`sky`.
    """
    return sky(site, times, clear_sky_index(site, times, seed), air_temperature_c(site, times))


def sky(site: Site, times: pd.DatetimeIndex, csi: np.ndarray, temp_air_c: np.ndarray) -> pd.DataFrame:
    """Irradiance at ``times`` for a clear-sky index: pvlib's clear sky at the site times ``csi``,
    split into beam and diffuse (Erbs). The one sky model of the virtual camp, whether the index
    is the seeded cloud process or comes from a weather file.

    Parameters
    ----------
    site : Site
    times : pd.DatetimeIndex
        Aware instants.
    csi : array
        Clear-sky index at ``times``. [-]
    temp_air_c : array
        Air temperature at ``times``. [°C]

    Returns
    -------
    pd.DataFrame
        ``ghi_clear_wm2``, ``clear_sky_index``, ``ghi_wm2``, ``dni_wm2``, ``dhi_wm2`` [W/m²],
        ``zenith_deg``, ``azimuth_deg`` (apparent zenith and azimuth) [°], ``dni_extra_wm2``,
        ``temp_air_c`` [°C].
    """
    solpos, clear, dni_extra = _clear_sky(site, times)
    ghi = clear["ghi"].to_numpy() * csi
    zenith = solpos["zenith"].to_numpy()
    split = pvlib.irradiance.erbs(ghi, zenith, np.asarray(times.day_of_year, float))
    day = solpos["apparent_zenith"].to_numpy() < 90.0
    return pd.DataFrame({
        "ghi_clear_wm2": clear["ghi"].to_numpy(),
        "clear_sky_index": csi,
        "ghi_wm2": np.where(day, ghi, 0.0),
        "dni_wm2": np.where(day, np.nan_to_num(np.asarray(split["dni"], float)), 0.0),
        "dhi_wm2": np.where(day, np.nan_to_num(np.asarray(split["dhi"], float)), 0.0),
        "zenith_deg": solpos["apparent_zenith"].to_numpy(),
        "azimuth_deg": solpos["azimuth"].to_numpy(),
        "dni_extra_wm2": dni_extra,
        "temp_air_c": np.asarray(temp_air_c, float),
    }, index=times)


def clear_sky_ghi_wm2(site: Site, times: pd.DatetimeIndex) -> np.ndarray:
    """pvlib's clear-sky GHI at the site (Ineichen, Linke turbidity climatology). [W/m²]"""
    return _clear_sky(site, times)[1]["ghi"].to_numpy()


def _clear_sky(site: Site, times: pd.DatetimeIndex) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    loc = site.location
    location = pvlib.location.Location(loc.latitude, loc.longitude, tz="UTC", altitude=loc.altitude_m)
    with warnings.catch_warnings():  # pvlib 0.16 on pandas 3 warns about its own dayofyear use
        warnings.simplefilter("ignore", getattr(pd.errors, "Pandas4Warning", FutureWarning))
        solpos = location.get_solarposition(times)
        clear = location.get_clearsky(times, model="ineichen", solar_position=solpos)
        dni_extra = np.asarray(pvlib.irradiance.get_extra_radiation(times), float)
    return solpos, clear, dni_extra


def pv_ac_kw(array: PvArray, wx: pd.DataFrame) -> np.ndarray:
    """AC power an array can feed under weather ``wx`` (from :func:`weather`). [kW]"""
    poa = pvlib.irradiance.get_total_irradiance(
        array.tilt_deg, array.azimuth_deg, wx["zenith_deg"].to_numpy(), wx["azimuth_deg"].to_numpy(),
        wx["dni_wm2"].to_numpy(), wx["ghi_wm2"].to_numpy(), wx["dhi_wm2"].to_numpy(),
        dni_extra=wx["dni_extra_wm2"].to_numpy(), model="haydavies")
    poa_global = np.clip(np.nan_to_num(np.asarray(poa["poa_global"], float)), 0.0, None)
    temp_cell = pvlib.temperature.faiman(poa_global, wx["temp_air_c"].to_numpy(), WIND_SPEED_MS)
    dc_kw = pvlib.pvsystem.pvwatts_dc(poa_global, temp_cell, array.kwp, array.gamma_pdc_per_c)
    dc_kw = np.asarray(dc_kw, float) * (1.0 - array.losses_pct / 100.0)
    ac_kw = pvlib.inverter.pvwatts(dc_kw, array.inverter_kw / INVERTER_EFF_NOM, INVERTER_EFF_NOM)
    return np.clip(np.nan_to_num(np.asarray(ac_kw, float)), 0.0, array.inverter_kw)
