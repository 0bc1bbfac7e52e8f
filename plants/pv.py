"""A PV system with a battery: pvlib for the PV chain, a linear battery model.

PV chain (pvlib functions, the models of ``ModelChain.with_pvwatts``):
solar position → Perez transposition to the plane of array → physical IAM on the
beam → SAPM cell temperature → PVWatts DC with temperature coefficient → PVWatts
losses → PVWatts inverter (clipping at the inverter's AC rating). Measured
plane-of-array irradiance can be used directly instead of GHI/DNI/DHI.

Battery (the plant's state): stored energy ``E`` [kWh] with
``dE/dt = eta_charge * P_ch - P_dis / eta_discharge`` for charge and discharge
powers ``P_ch, P_dis >= 0`` [kW], power limits and state-of-charge bounds. The
simulator enforces the limits: requested powers are clipped to the power rating and
scaled down so that ``E`` stays inside its bounds; ``step_applied``, ``simulate`` and
``simulate_operation`` report the powers actually applied. Negative powers are
refused (``P_ch`` and ``P_dis`` are magnitudes).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from iclcontrol.exceptions import ConfigError, DataError, DimensionError
from plants.base import Plant, SimulationResult

__all__ = [
    "DEFAULT_TEMP_AIR",
    "DEFAULT_WIND_SPEED",
    "BatteryParameters",
    "PVArrayParameters",
    "PVBatteryPlant",
    "equator_facing_orientation",
    "grid_flows",
]

#: Air temperature the PV chain uses without a ``temp_air`` column. [degC]
DEFAULT_TEMP_AIR = 20.0
#: Wind speed the PV chain uses without a ``wind_speed`` column. [m/s]
DEFAULT_WIND_SPEED = 1.0


def equator_facing_orientation(latitude: float) -> tuple[float, float]:
    """Default plane of a PV array: tilted by the latitude, facing the equator.

    The one rule of :class:`PVBatteryPlant` (an array without a tilt or azimuth),
    of ``iclcontrol.solar.workflows.array_orientation`` and of the solar CLI
    without ``--array-tilt``/``--array-azimuth``.

    Parameters
    ----------
    latitude : float
        Site latitude, north positive. [deg]

    Returns
    -------
    surface_tilt : float
        ``|latitude|`` rounded to a whole degree. [deg]
    surface_azimuth : float
        pvlib's convention, clockwise from north: 180 (south) at or north of the
        equator, 0 (north) south of it. [deg]

    Examples
    --------
    >>> equator_facing_orientation(-33.9)  # Sydney
    (34.0, 0.0)
    >>> equator_facing_orientation(36.1)
    (36.0, 180.0)
    """
    return float(round(abs(latitude))), 180.0 if latitude >= 0 else 0.0


@dataclass(frozen=True)
class PVArrayParameters:
    """PV array and inverter (PVWatts models).

    Parameters
    ----------
    kwp : float
        DC nameplate at 1000 W/m^2 and 25 degC. [kW]
    surface_tilt, surface_azimuth : float or None
        Tilt from horizontal and azimuth clockwise from north (pvlib's
        convention: 180 = south, 0 = north). [deg] None (the default): the
        site's, filled in by :class:`PVBatteryPlant` with
        :func:`equator_facing_orientation` (tilt = |latitude|, facing the
        equator: azimuth 180 north of it, 0 south of it).
    gamma_pdc : float
        Temperature coefficient of DC power. [1/degC]
    dc_ac_ratio : float
        DC nameplate over inverter AC rating; inverter DC input rating is
        ``kwp / dc_ac_ratio``, output clips there (times nominal efficiency).
    losses_percent : float or None
        PVWatts system losses [%]; None = pvlib's default total (14.08 %).
    temperature_model : str
        Key of ``pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS['sapm']``.
    """

    kwp: float = 5.0
    surface_tilt: float | None = None
    surface_azimuth: float | None = None
    gamma_pdc: float = -0.004
    dc_ac_ratio: float = 1.2
    losses_percent: float | None = None
    temperature_model: str = "open_rack_glass_polymer"

    def __post_init__(self) -> None:
        # written as "not (valid)" so that NaN is refused too
        if not (np.isfinite(self.kwp) and self.kwp >= 0):
            raise ConfigError(f"kwp must be a finite number >= 0 kW, got {self.kwp}")
        if not (np.isfinite(self.dc_ac_ratio) and self.dc_ac_ratio > 0):
            raise ConfigError(
                f"dc_ac_ratio must be a finite number > 0, got {self.dc_ac_ratio}"
            )
        if not np.isfinite(self.gamma_pdc):
            raise ConfigError(
                f"gamma_pdc must be finite (typically -0.002 to -0.005 1/degC), got "
                f"{self.gamma_pdc}"
            )
        if self.surface_tilt is not None and not 0.0 <= self.surface_tilt <= 90.0:
            raise ConfigError(
                f"surface_tilt must be in [0, 90] deg (0 = horizontal), got "
                f"{self.surface_tilt}"
            )
        if self.surface_azimuth is not None and not (
            0.0 <= self.surface_azimuth <= 360.0
        ):
            raise ConfigError(
                f"surface_azimuth must be in [0, 360] deg (180 = south), got "
                f"{self.surface_azimuth}"
            )
        if self.losses_percent is not None and not 0 <= self.losses_percent < 100:
            raise ConfigError(
                f"losses_percent must be in [0, 100), got {self.losses_percent}"
            )
        import pvlib

        models = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]
        if self.temperature_model not in models:
            raise ConfigError(
                f"temperature_model {self.temperature_model!r} unknown; one of "
                f"{sorted(models)}"
            )


def check_battery_fractions(
    eta_charge: float, eta_discharge: float, soc_min: float, soc_max: float
) -> None:
    """Raise :class:`ConfigError` unless the efficiencies are in (0, 1] and
    ``0 <= soc_min <= soc_max <= 1`` (written as ``not (valid)`` so NaN is refused).
    """
    for name, value in (("eta_charge", eta_charge), ("eta_discharge", eta_discharge)):
        if not 0 < value <= 1:
            raise ConfigError(f"{name} must be in (0, 1], got {value}")
    if not 0 <= soc_min <= soc_max <= 1:
        raise ConfigError(
            f"need 0 <= soc_min <= soc_max <= 1, got soc_min={soc_min}, "
            f"soc_max={soc_max}"
        )


@dataclass(frozen=True)
class BatteryParameters:
    """Battery energy and power ratings.

    Parameters
    ----------
    capacity_kwh : float
        Usable energy capacity. [kWh]
    power_kw : float
        Charge and discharge power limit. [kW]
    eta_charge, eta_discharge : float
        One-way efficiencies in (0, 1].
    soc_min, soc_max : float
        State-of-charge bounds as fractions of ``capacity_kwh``.
    """

    capacity_kwh: float = 10.0
    power_kw: float = 5.0
    eta_charge: float = 0.95
    eta_discharge: float = 0.95
    soc_min: float = 0.1
    soc_max: float = 0.9

    def __post_init__(self) -> None:
        for name in ("capacity_kwh", "power_kw"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v >= 0):  # NaN is refused too
                raise ConfigError(f"{name} must be a finite number >= 0, got {v}")
        check_battery_fractions(
            self.eta_charge, self.eta_discharge, self.soc_min, self.soc_max
        )

    @property
    def e_min(self) -> float:
        return self.soc_min * self.capacity_kwh

    @property
    def e_max(self) -> float:
        return self.soc_max * self.capacity_kwh


@dataclass
class PVBatteryPlant(Plant):
    """PV array + battery behind one grid connection.

    Parameters
    ----------
    latitude, longitude, altitude : float
        Site. [deg, deg, m]
    array : PVArrayParameters
        A tilt or azimuth it leaves None is the site's default,
        :func:`equator_facing_orientation` of ``latitude``: tilt = |latitude|
        [deg], facing the equator (pvlib's azimuth, clockwise from north: 180 =
        south for a northern site, 0 = north for a southern one); ``array`` then
        holds the resolved values. Values given are kept as given.
    battery : BatteryParameters
    dt_h : float
        Sampling period of :meth:`step`. [h]
    """

    latitude: float = 36.1
    longitude: float = -79.95
    altitude: float = 0.0
    array: PVArrayParameters = field(default_factory=PVArrayParameters)
    battery: BatteryParameters = field(default_factory=BatteryParameters)
    dt_h: float = 1.0

    state_names = ("E",)
    state_units = ("kWh",)
    input_names = ("P_ch", "P_dis")
    input_units = ("kW", "kW")

    def __post_init__(self) -> None:
        if not self.dt_h > 0:
            raise ConfigError(f"dt_h must be positive, got {self.dt_h}")
        if not -90.0 <= self.latitude <= 90.0:
            raise ConfigError(f"latitude must be in [-90, 90] deg, got {self.latitude}")
        if not -180.0 <= self.longitude <= 180.0:
            raise ConfigError(
                f"longitude must be in [-180, 180] deg, got {self.longitude}"
            )
        self.sampling_period = float(self.dt_h)
        a = self.array
        if a.surface_tilt is None or a.surface_azimuth is None:
            tilt, azimuth = equator_facing_orientation(self.latitude)
            self.array = replace(
                a,
                surface_tilt=tilt if a.surface_tilt is None else a.surface_tilt,
                surface_azimuth=(
                    azimuth if a.surface_azimuth is None else a.surface_azimuth
                ),
            )

    # -- Plant interface -----------------------------------------------------------
    @property
    def input_lower(self) -> np.ndarray:
        return np.zeros(2)

    @property
    def input_upper(self) -> np.ndarray:
        return np.full(2, self.battery.power_kw)

    @property
    def x_steady(self) -> np.ndarray:
        b = self.battery
        return np.array([0.5 * (b.e_min + b.e_max)])

    @property
    def u_steady(self) -> np.ndarray:
        return np.zeros(2)

    def rhs(self, x: Any, u: Any, backend: Any = np) -> Any:
        """``dE/dt = eta_c P_ch - P_dis / eta_d``. [kWh/h]"""
        b = self.battery
        if backend is np:
            u = np.atleast_2d(u)
            return (b.eta_charge * u[:, 0] - u[:, 1] / b.eta_discharge)[:, None]
        return b.eta_charge * u[0] - u[1] / b.eta_discharge

    def step(self, x: Any, u: Any) -> np.ndarray:
        """One period with powers clipped to the ratings and to the energy bounds.

        :meth:`step_applied` also returns the powers actually applied.
        """
        return self.step_applied(x, u)[0]

    def step_applied(self, x: Any, u: Any) -> tuple[np.ndarray, np.ndarray]:
        """Like :meth:`step` and also return the powers actually applied.

        Parameters
        ----------
        x : array-like, shape (1,) or (n, 1)
            Stored energy ``E``. [kWh]
        u : array-like, shape (2,) or (n, 2)
            Requested ``(P_ch, P_dis)``, both >= 0. [kW]

        Returns
        -------
        x_next : numpy.ndarray, shape (n, 1)
            Stored energy after one period ``dt_h``. [kWh]
        applied : numpy.ndarray, shape (n, 2)
            Powers applied after clipping to ``power_kw`` and to the energy
            bounds. [kW]

        Raises
        ------
        DataError
            A negative power (beyond round-off), or ``E`` outside its bounds.
        """
        x, u = self.check_batch(x, u)
        b, dt = self.battery, self.dt_h
        # solvers return -1e-12 for a zero power: round-off is clipped, not refused
        negative = u < -1e-6 * max(b.power_kw, 1.0)
        if negative.any():
            i, j = np.argwhere(negative)[0]
            raise DataError(
                f"{self.input_names[j]}={u[i, j]:g} kW is negative; P_ch and P_dis "
                "are both magnitudes >= 0 (to draw from the battery, set P_dis)"
            )
        u = np.clip(u, 0.0, b.power_kw)
        e = x[:, 0]
        tol = 1e-9 * max(b.capacity_kwh, 1.0)
        outside = (e < b.e_min - tol) | (e > b.e_max + tol) | ~np.isfinite(e)
        if outside.any():
            raise DataError(
                f"stored energy E={e[outside][0]:g} kWh is outside the battery's "
                f"bounds [{b.e_min:g}, {b.e_max:g}] kWh (soc_min, soc_max x "
                "capacity_kwh)"
            )
        room = np.maximum(b.e_max - e, 0.0)  # energy that can still be stored
        avail = np.maximum(e - b.e_min, 0.0)  # energy that can still be drawn
        p_ch = np.minimum(u[:, 0], room / (b.eta_charge * dt))
        p_dis = np.minimum(u[:, 1], avail * b.eta_discharge / dt)
        applied = np.column_stack([p_ch, p_dis])
        e_next = e + dt * (b.eta_charge * p_ch - p_dis / b.eta_discharge)
        return np.clip(e_next, b.e_min, b.e_max)[:, None], applied

    def simulate(self, x0: Any, inputs: Any) -> SimulationResult:
        """Apply requested powers ``inputs`` (n_steps, 2) from ``x0`` (1,) [kWh].

        Returns
        -------
        SimulationResult
            ``u`` holds the powers actually applied (after the power rating and the
            energy bounds, see :meth:`step_applied`), not the requested ones. [kW]
        """
        x0 = self.check_states(x0)
        if x0.shape[0] != 1:
            raise DimensionError(
                f"simulate takes one initial state of shape (1,), got {x0.shape[0]} "
                "states; call step() for a batch"
            )
        requested = self.check_inputs(inputs)
        x = np.empty((requested.shape[0] + 1, 1))
        applied = np.empty_like(requested)
        x[0] = x0[0]
        for k in range(requested.shape[0]):
            x_next, ap = self.step_applied(x[k], requested[k])
            x[k + 1], applied[k] = x_next[0], ap[0]
        t = self.sampling_period * np.arange(requested.shape[0] + 1)
        return SimulationResult(t, x, applied, self.state_names, self.input_names)

    # -- PV chain ------------------------------------------------------------------
    def pv_ac_kw(
        self,
        weather: pd.DataFrame,
        label: str = "instant",
    ) -> pd.Series:
        """AC power of the array for a weather frame. [kW]

        Parameters
        ----------
        weather : pandas.DataFrame
            Timezone-aware index; either ``ghi``, ``dni``, ``dhi`` [W/m^2] or
            ``poa_global`` [W/m^2] (measured plane of array, used as effective
            irradiance); optional ``temp_air`` [degC] (default 20) and
            ``wind_speed`` [m/s] (default 1).
        label : {"instant", "ending", "beginning"}
            Timestamp convention of the weather (hourly TMY values are
            period-ending: the sun is evaluated at the middle of the interval).
            The interval is ``weather.index.freq`` or, when that is None, the most
            common step of the index; a single unlabelled row raises ``DataError``.

        Returns
        -------
        pandas.Series
            AC power on ``weather.index``. [kW] Rows with missing (NaN)
            irradiance give 0 kW, as pvlib's ``ModelChain`` does; rows with a
            missing ``temp_air`` or ``wind_speed`` give NaN (fill them first).
        """
        import pvlib

        a = self.array
        if not isinstance(weather, pd.DataFrame):
            raise DataError(
                "weather must be a pandas DataFrame with columns ghi, dni, dhi (or "
                "poa_global) [W/m^2] on a timezone-aware DatetimeIndex; got "
                f"{type(weather).__name__}"
            )
        if not isinstance(weather.index, pd.DatetimeIndex) or weather.index.tz is None:
            raise DataError(
                "weather needs a timezone-aware DatetimeIndex; localize it, e.g. "
                "weather.tz_localize('Etc/GMT+5') for timestamps in UTC-05:00"
            )
        if label not in ("instant", "ending", "beginning"):
            raise ConfigError(
                f"label must be 'instant', 'ending' or 'beginning', got {label!r}"
            )
        temp_air = weather.get(
            "temp_air", pd.Series(DEFAULT_TEMP_AIR, index=weather.index)
        )
        wind = weather.get(
            "wind_speed", pd.Series(DEFAULT_WIND_SPEED, index=weather.index)
        )
        tparams = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"][
            a.temperature_model
        ]
        if "poa_global" in weather.columns:
            poa_global = weather["poa_global"].clip(lower=0.0).fillna(0.0)
            effective = poa_global
        elif {"ghi", "dni", "dhi"} <= set(weather.columns):
            times = weather.index
            if label != "instant":
                # the step comes from index.freq or, without one, the index itself
                from iclcontrol.solar.features import index_step

                half = index_step(times) / 2
                times = times - half if label == "ending" else times + half
            loc = pvlib.location.Location(
                self.latitude, self.longitude, altitude=self.altitude
            )
            # refraction uses air temperature and pressure, as pvlib's ModelChain does
            sp_kwargs: dict[str, Any] = {"temperature": temp_air.to_numpy()}
            if "pressure" in weather.columns:
                sp_kwargs["pressure"] = weather["pressure"].to_numpy()
            sp = loc.get_solarposition(times, **sp_kwargs)
            airmass = loc.get_airmass(solar_position=sp)["airmass_relative"]
            dni_extra = pvlib.irradiance.get_extra_radiation(times)
            irr = pvlib.irradiance.get_total_irradiance(
                a.surface_tilt,
                a.surface_azimuth,
                sp["apparent_zenith"],
                sp["azimuth"],
                weather["dni"].to_numpy(),
                weather["ghi"].to_numpy(),
                weather["dhi"].to_numpy(),
                dni_extra=dni_extra,
                airmass=airmass,
                model="perez",
            )
            aoi = pvlib.irradiance.aoi(
                a.surface_tilt, a.surface_azimuth, sp["apparent_zenith"], sp["azimuth"]
            )
            iam = pvlib.iam.physical(aoi)
            effective = (irr["poa_direct"] * iam + irr["poa_diffuse"]).fillna(0.0)
            poa_global = irr["poa_global"].fillna(0.0)
            effective.index = weather.index
            poa_global.index = weather.index
        else:
            raise DataError(
                "weather needs columns ghi, dni, dhi or poa_global; got "
                f"{list(weather.columns)}"
            )
        t_cell = pvlib.temperature.sapm_cell(
            poa_global, temp_air, wind, tparams["a"], tparams["b"], tparams["deltaT"]
        )
        pdc0 = 1000.0 * a.kwp
        dc = pvlib.pvsystem.pvwatts_dc(effective, t_cell, pdc0, a.gamma_pdc)
        losses = (
            pvlib.pvsystem.pvwatts_losses()
            if a.losses_percent is None
            else a.losses_percent
        )
        dc = dc * (1.0 - losses / 100.0)
        ac = pvlib.inverter.pvwatts(dc, pdc0 / a.dc_ac_ratio)
        return pd.Series(
            np.asarray(ac, float) / 1000.0, index=weather.index, name="pv_ac_kw"
        )

    def pv_per_kwp(self, weather: pd.DataFrame, label: str = "instant") -> pd.Series:
        """AC output per kWp of the array. [kW/kWp]"""
        if self.array.kwp == 0:
            raise ConfigError("array.kwp is 0")
        return self.pv_ac_kw(weather, label) / self.array.kwp

    def simulate_operation(
        self,
        e0: float,
        pv_kw: Any,
        load_kw: Any,
        commands: Any,
    ) -> pd.DataFrame:
        """Apply battery commands over a profile and account grid flows.

        Parameters
        ----------
        e0 : float
            Initial stored energy. [kWh]
        pv_kw, load_kw : array-like (n,)
            AC PV power and load per period. [kW]
        commands : array-like (n, 2)
            Requested ``(P_ch, P_dis)``. [kW]

        Returns
        -------
        pandas.DataFrame
            ``E`` (start of period), ``P_ch``, ``P_dis`` applied, ``grid_import``,
            ``grid_export`` [kW].
        """
        pv = np.atleast_1d(np.asarray(pv_kw, float))
        load = np.atleast_1d(np.asarray(load_kw, float))
        cmd = np.atleast_2d(np.asarray(commands, float))
        n = len(pv)
        if pv.ndim != 1 or load.shape != (n,) or cmd.shape != (n, 2):
            raise DimensionError(
                f"pv_kw and load_kw need shape (n,) and commands (n, 2) with the same "
                f"n; got {pv.shape}, {load.shape} and {cmd.shape}"
            )
        for name, values in (("pv_kw", pv), ("load_kw", load), ("commands", cmd)):
            if not np.all(np.isfinite(values)):
                raise DataError(
                    f"{name} has {int(np.sum(~np.isfinite(values)))} NaN or infinite "
                    "values; fill or drop those periods first"
                )
        e = np.empty(n + 1)
        e[0] = e0
        applied = np.empty((n, 2))
        for k in range(n):
            xn, ap = self.step_applied([e[k]], cmd[k])
            e[k + 1], applied[k] = xn[0, 0], ap[0]
        imp, exp = grid_flows(pv, load, applied[:, 0], applied[:, 1])
        return pd.DataFrame(
            {
                "E": e[:-1],
                "P_ch": applied[:, 0],
                "P_dis": applied[:, 1],
                "grid_import": imp,
                "grid_export": exp,
            }
        )


def grid_flows(
    pv_kw: Any, load_kw: Any, p_ch: Any, p_dis: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Grid import and export from the power balance. [kW]

    ``import - export = load - pv + P_ch - P_dis``, both non-negative. Each
    argument is a scalar or an array of the common length (numpy broadcasting).

    Raises
    ------
    DimensionError
        Arrays of different lengths.
    """
    arrays = [np.asarray(a, float) for a in (pv_kw, load_kw, p_ch, p_dis)]
    try:
        np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        shapes = ", ".join(str(a.shape) for a in arrays)
        raise DimensionError(
            f"pv_kw, load_kw, p_ch and p_dis have shapes {shapes}; give scalars or "
            "arrays of one common length"
        ) from None
    pv, load, ch, dis = arrays
    net = load - pv + ch - dis
    return np.maximum(net, 0.0), np.maximum(-net, 0.0)
