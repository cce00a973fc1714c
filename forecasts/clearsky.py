"""Clear-sky and weather-driven PV power per array with pvlib's PVWatts ModelChain.

One :class:`pvlib.modelchain.ModelChain` per array (``ModelChain.with_pvwatts``): DC nameplate
``kwp``, temperature coefficient ``gamma_pdc_per_c``, PVWatts losses equal to the array's
``losses_pct``, a PVWatts inverter whose AC limit is ``inverter_kw``. Clear sky is Ineichen with
pvlib's Linke turbidity climatology (``pvlib/data/LinkeTurbidities.h5``): no internet needed.
Pure (pvlib reads its own shipped data files only).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pvlib
from pvlib.modelchain import ModelChain
from pvlib.temperature import TEMPERATURE_MODEL_PARAMETERS

from microgrid.site import Location, PvArray, Site

#: Nominal efficiency of the PVWatts inverter model.
ETA_INV_NOM = 0.96
#: Temperature model: SAPM, open rack (ground mounts and ventilated roofs).
TEMP_PARAMS = TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_polymer"]
_NO_LOSS = dict(soiling=0, shading=0, snow=0, mismatch=0, wiring=0, connections=0, lid=0,
                nameplate_rating=0, age=0, availability=0)


def pvlib_location(loc: Location) -> pvlib.location.Location:
    """The site's location as a pvlib Location (times are handled in UTC)."""
    return pvlib.location.Location(loc.latitude, loc.longitude, tz="UTC", altitude=loc.altitude_m)


def array_system(array: PvArray) -> pvlib.pvsystem.PVSystem:
    """A PVWatts PVSystem for one array.

    ``pdc0 = kwp·1000 W``; the PVWatts losses model gets the array's ``losses_pct`` as its one
    loss term, so the DC derate is exactly ``1 − losses_pct/100``; the inverter's DC limit is
    ``inverter_kw·1000 / ETA_INV_NOM`` so its AC limit is ``inverter_kw``.
    """
    return pvlib.pvsystem.PVSystem(
        surface_tilt=array.tilt_deg, surface_azimuth=array.azimuth_deg,
        module_parameters={"pdc0": array.kwp * 1000.0, "gamma_pdc": array.gamma_pdc_per_c},
        inverter_parameters={"pdc0": array.inverter_kw * 1000.0 / ETA_INV_NOM,
                             "eta_inv_nom": ETA_INV_NOM},
        temperature_model_parameters=TEMP_PARAMS,
        losses_parameters={**_NO_LOSS, "soiling": array.losses_pct}, name=array.name)


def array_modelchain(array: PvArray, location: pvlib.location.Location) -> ModelChain:
    """``ModelChain.with_pvwatts`` for one array at ``location``."""
    return ModelChain.with_pvwatts(array_system(array), location, losses_model="pvwatts",
                                   name=array.name)


def pv_from_weather(site: Site, weather: pd.DataFrame,
                    location: Location | None = None) -> pd.DataFrame:
    """AC power of every array for given weather.

    Parameters
    ----------
    site : Site
    weather : pandas.DataFrame
        Indexed by aware times (the instants at which sun position is taken), columns ``ghi``,
        ``dni``, ``dhi`` [W/m²] and optionally ``temp_air`` [°C] and ``wind_speed`` [m/s]
        (defaults: the site's ``climate.ambient_temp_c`` and 1 m/s).
    location : Location, optional
        Where the arrays are; default the site's location.

    Returns
    -------
    pandas.DataFrame
        One column per array name, AC power ≥ 0, index as ``weather``. [kW]
    """
    loc = pvlib_location(location or site.location)
    w = weather.copy()
    if "temp_air" not in w:
        w["temp_air"] = site.climate.ambient_temp_c
    if "wind_speed" not in w:
        w["wind_speed"] = 1.0
    out = {}
    for array in site.pv_arrays:
        mc = array_modelchain(array, loc)
        mc.run_model(w[["ghi", "dni", "dhi", "temp_air", "wind_speed"]])
        ac = np.asarray(mc.results.ac, dtype=float) / 1000.0
        out[array.name] = np.clip(np.nan_to_num(ac, nan=0.0), 0.0, array.inverter_kw)
    return pd.DataFrame(out, index=weather.index)


def clearsky_weather(times: pd.DatetimeIndex, location: Location) -> pd.DataFrame:
    """Ineichen clear-sky GHI/DNI/DHI with pvlib's Linke turbidity climatology. [W/m²]"""
    return pvlib_location(location).get_clearsky(times, model="ineichen")


def clearsky_pv_kw(site: Site, times: pd.DatetimeIndex, *, location: Location | None = None,
                   temp_air_c: float | None = None) -> pd.DataFrame:
    """Clear-sky AC power of every array (the "clear-sky PV" curve).

    Parameters
    ----------
    site : Site
    times : pandas.DatetimeIndex
        Aware instants (sun position is taken at these instants).
    location : Location, optional
        Default the site's location.
    temp_air_c : float, optional
        Air temperature [°C]; default the site's ``climate.ambient_temp_c``.

    Returns
    -------
    pandas.DataFrame
        One column per array, zero at night. [kW]
    """
    times = pd.DatetimeIndex(times)
    if times.tz is None:
        raise ValueError("times must be timezone-aware (UTC)")
    loc = location or site.location
    key = (site, loc, temp_air_c, times.asi8.tobytes())
    return _cached(key, times).copy()


_CACHE: dict[tuple, pd.DataFrame] = {}


def _cached(key: tuple, times: pd.DatetimeIndex) -> pd.DataFrame:
    """Clear-sky PV memoised on (site, location, temperature, exact times); at most 16 entries."""
    if key not in _CACHE:
        site, loc, temp_air_c, _ = key
        w = clearsky_weather(times, loc)
        w["temp_air"] = site.climate.ambient_temp_c if temp_air_c is None else temp_air_c
        if len(_CACHE) >= 16:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = pv_from_weather(site, w, loc)
    return _CACHE[key]
