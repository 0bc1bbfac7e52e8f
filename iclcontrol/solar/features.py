"""Features for irradiance forecasting: solar geometry, clear sky, clear-sky index,
calendar. Everything is computed with pvlib from the site and the timestamps, so it
is known in advance for any future time (the forecaster uses it for the horizon)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from iclcontrol.exceptions import ConfigError

# imported at run time (solar.data imports this module only inside functions) so
# that typing.get_type_hints resolves the public functions' annotations
from iclcontrol.solar.data import Site, SolarData

__all__ = [
    "CSI_MAX",
    "calendar_features",
    "clearsky_index",
    "clearsky_target",
    "feature_frame",
    "geometry_times",
    "index_step",
    "period_starts",
    "sky_frame",
    "solar_geometry",
]

#: Upper clip of the clear-sky index (cloud enhancement rarely exceeds it).
CSI_MAX = 2.0
#: Clear-sky irradiance below which the clear-sky index is not informative. [W/m^2]
CSI_MIN_CLEARSKY = 50.0


def index_step(index: pd.DatetimeIndex) -> pd.Timedelta:
    """Sampling step of a regular index: ``index.freq``, else the most common
    difference between consecutive labels (so a slice with gaps still works).

    Raises
    ------
    DataError
        With fewer than two labels and no ``freq`` the step is unknown.
    """
    from iclcontrol.exceptions import DataError

    if index.freq is not None:
        return pd.Timedelta(index.freq)
    if len(index) < 2:
        raise DataError(
            "cannot infer the sampling step of an index with fewer than two labels "
            "and no freq; set index.freq"
        )
    diffs = pd.Series(np.diff(index.asi8))
    diffs = diffs[diffs > 0]
    if diffs.empty:
        raise DataError("cannot infer the sampling step: timestamps are not increasing")
    return pd.Timedelta(int(diffs.mode().iloc[0]), unit=str(index.unit))


def period_starts(index: pd.DatetimeIndex, label: str) -> pd.DatetimeIndex:
    """Start of the period each label stands for.

    ``"ending"`` labels close their period (hourly TMY3): the start is one step
    earlier. ``"beginning"`` and ``"instant"`` labels are returned unchanged. Tariff
    hours and load profiles are evaluated here, so that period-ending and
    period-beginning files of the same weather give the same schedule.
    """
    if label == "ending":
        return index - index_step(index)
    return index


def geometry_times(index: pd.DatetimeIndex, site: Site) -> pd.DatetimeIndex:
    """Times at which to evaluate the sun for each label (mid-interval for averages).

    The step is ``index.freq`` or, without one, inferred by :func:`index_step`.
    """
    if site.label == "instant":
        return index
    half = index_step(index) / 2
    return index - half if site.label == "ending" else index + half


def _site_location(site: Site):
    import pvlib

    return pvlib.location.Location(
        site.latitude, site.longitude, altitude=site.altitude
    )


def _index_and_site(
    data: SolarData | None, index: pd.DatetimeIndex | None, site: Site | None
) -> tuple[pd.DatetimeIndex, Site]:
    """The timestamps and site of ``data``, else ``index`` and ``site``.

    Raises
    ------
    ConfigError
        Neither ``data`` nor both ``index`` and ``site`` given.
    """
    if data is not None:
        return data.frame.index, data.site
    if index is None or site is None:
        raise ConfigError(
            "the sun's position needs timestamps and a site: give data= (a "
            "SolarData), or both index= (a DatetimeIndex) and site= (a Site)"
        )
    return index, site


def sky_frame(
    data: SolarData | None = None,
    index: pd.DatetimeIndex | None = None,
    site: Site | None = None,
) -> pd.DataFrame:
    """Solar position and clear sky of the target's plane at each timestamp.

    The solar position (pvlib's SPA, the costly part: about 4 s for a year of
    1-min data) is computed once and serves both the geometry and the clear sky.
    Given ``data``, the result is kept in ``data.sky`` and reused on the next call
    as long as the data's index (labels, zone, step) and site are those it was
    computed for; otherwise it is computed again.

    Parameters
    ----------
    data : SolarData or None
        The timestamps and site; or give ``index`` and ``site``.
    index : pandas.DatetimeIndex or None
    site : Site or None

    Returns
    -------
    pandas.DataFrame
        Indexed like the data: ``zenith``, ``apparent_zenith``, ``azimuth`` [deg]
        and ``clearsky`` [W/m^2] (see :func:`clearsky_target`). A copy: changing
        it does not change what is kept.

    Raises
    ------
    ConfigError
        Neither ``data`` nor both ``index`` and ``site`` given.
    """
    index, site = _index_and_site(data, index, site)
    if data is None:
        return _compute_sky(index, site)
    if not _sky_matches(data.sky, index, site):
        data.sky = _compute_sky(index, site)
    assert data.sky is not None
    return data.sky.copy()


def _sky_matches(sky: pd.DataFrame | None, index: pd.DatetimeIndex, site: Site) -> bool:
    """Whether ``sky`` was computed for exactly these labels, zone, step and site."""
    return (
        sky is not None
        and sky.attrs.get("site") == site
        and sky.attrs.get("freq") == index.freq
        and sky.index.dtype == index.dtype
        and sky.index.equals(index)
    )


def _compute_sky(index: pd.DatetimeIndex, site: Site) -> pd.DataFrame:
    """:func:`sky_frame` computed from scratch (one pvlib solar position)."""
    import pvlib

    times = geometry_times(index, site)
    loc = _site_location(site)
    sp = loc.get_solarposition(times)
    cs = loc.get_clearsky(times, solar_position=sp)
    if site.is_poa:
        poa = pvlib.irradiance.get_total_irradiance(
            site.surface_tilt,
            site.surface_azimuth,
            sp["apparent_zenith"],
            sp["azimuth"],
            cs["dni"],
            cs["ghi"],
            cs["dhi"],
        )["poa_global"]
        clearsky = poa.fillna(0.0).clip(lower=0.0).to_numpy()
    else:
        clearsky = cs["ghi"].fillna(0.0).clip(lower=0.0).to_numpy()
    out = pd.DataFrame(
        {
            "zenith": sp["zenith"].to_numpy(),
            "apparent_zenith": sp["apparent_zenith"].to_numpy(),
            "azimuth": sp["azimuth"].to_numpy(),
            "clearsky": clearsky,
        },
        index=index,
    )
    out.attrs = {"site": site, "freq": index.freq}
    return out


def solar_geometry(
    data: SolarData | None = None,
    index: pd.DatetimeIndex | None = None,
    site: Site | None = None,
) -> pd.DataFrame:
    """Solar position (pvlib) at each timestamp of ``data`` or ``index``.

    From :func:`sky_frame` (reused when ``data`` already carries it).

    Returns
    -------
    pandas.DataFrame
        ``zenith``, ``apparent_zenith``, ``azimuth``. [deg]

    Raises
    ------
    ConfigError
        Neither ``data`` nor both ``index`` and ``site`` given.
    """
    sky = sky_frame(data, index, site)
    out = sky[["zenith", "apparent_zenith", "azimuth"]]
    out.attrs = {}
    return out


def clearsky_target(
    data: SolarData | None = None,
    index: pd.DatetimeIndex | None = None,
    site: Site | None = None,
) -> pd.Series:
    """Clear-sky irradiance of the target's plane. [W/m^2]

    Ineichen clear sky (pvlib, Linke turbidity climatology); for a plane-of-array
    target it is transposed with pvlib's isotropic model to the site's tilt and
    azimuth, otherwise it is clear-sky GHI. From :func:`sky_frame` (reused when
    ``data`` already carries it).

    Raises
    ------
    ConfigError
        Neither ``data`` nor both ``index`` and ``site`` given.
    """
    clearsky = sky_frame(data, index, site)["clearsky"]
    clearsky.attrs = {}
    return clearsky


def clearsky_index(
    measured: pd.Series | np.ndarray,
    clearsky: pd.Series | np.ndarray,
    min_clearsky: float = CSI_MIN_CLEARSKY,
    max_index: float = CSI_MAX,
) -> np.ndarray:
    """Clear-sky index ``measured / clearsky`` clipped to ``[0, max_index]``.

    Where clear sky is below ``min_clearsky`` W/m^2 (night, low sun) the index is set
    to 1, so that ``index * clearsky`` stays a sensible near-zero irradiance.
    NaN measurements stay NaN.
    """
    m = np.asarray(measured, dtype=float)
    c = np.asarray(clearsky, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.where(c >= min_clearsky, m / np.maximum(c, 1e-9), 1.0)
    k = np.where(np.isnan(m), np.nan, k)
    return np.clip(k, 0.0, max_index)


def calendar_features(index: pd.DatetimeIndex) -> pd.DataFrame:
    """Cyclic hour-of-day and day-of-year encodings (local clock of the index)."""
    hour = index.hour + index.minute / 60.0
    doy = index.day_of_year - 1 + hour / 24.0
    return pd.DataFrame(
        {
            "hour_sin": np.sin(2 * np.pi * hour / 24.0),
            "hour_cos": np.cos(2 * np.pi * hour / 24.0),
            "doy_sin": np.sin(2 * np.pi * doy / 365.25),
            "doy_cos": np.cos(2 * np.pi * doy / 365.25),
        },
        index=index,
    )


def feature_frame(data: SolarData) -> pd.DataFrame:
    """Target, clear sky, clear-sky index, solar geometry and calendar in one frame.

    Columns: ``y`` [W/m^2], ``clearsky`` [W/m^2], ``csi`` [-], ``cos_zenith``,
    ``sin_azimuth``, ``cos_azimuth``, ``elevation_pos`` (max(0, 90-zenith)/90) and the
    calendar columns; ``daytime`` (bool) is clear sky >= 50 W/m^2.
    """
    sky = sky_frame(data)  # one solar position for the geometry and the clear sky
    geo, cs = sky, sky["clearsky"]
    y = data.y.astype(float)
    out = pd.DataFrame(index=data.frame.index)
    out["y"] = y
    out["clearsky"] = cs
    out["csi"] = clearsky_index(y, cs)
    z = np.radians(geo["zenith"].to_numpy())
    az = np.radians(geo["azimuth"].to_numpy())
    out["cos_zenith"] = np.cos(z)
    out["sin_azimuth"] = np.sin(az)
    out["cos_azimuth"] = np.cos(az)
    out["elevation_pos"] = np.clip(90.0 - geo["zenith"].to_numpy(), 0.0, 90.0) / 90.0
    out = out.join(calendar_features(data.frame.index))
    out["daytime"] = out["clearsky"] >= CSI_MIN_CLEARSKY
    return out
