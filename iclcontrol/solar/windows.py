"""Forecast windows: per-issue-time input sequences of the irradiance forecaster.

For every issue time ``t`` (the last observed step) a window holds ``lags`` past
steps followed by ``horizon`` future steps, each with the per-step features named by
:func:`feature_names`: at past steps what was measured, at future steps only what
is known in advance (clear sky, solar geometry, calendar, the lead time, forecasts
given as future covariates) plus the last observed values held. The truth, clear
sky and daytime mask of the future steps ride along for training and scoring.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from iclcontrol.data import check_window_memory
from iclcontrol.exceptions import ConfigError, DataError
from iclcontrol.solar.data import SolarData
from iclcontrol.solar.features import CSI_MIN_CLEARSKY, feature_frame

__all__ = [
    "CONTEXT_FEATURES",
    "STEP_FEATURES",
    "VARIABILITY_FEATURES",
    "ForecastWindows",
    "feature_names",
    "make_windows",
]


def feature_names(
    context: bool = False,
    embedding: int = 0,
    variability: int = 0,
    covariates: tuple[str, ...] = (),
    future_covariates: tuple[str, ...] = (),
) -> tuple[str, ...]:
    """Per-step network features: :data:`STEP_FEATURES`, then the day-ahead
    :data:`CONTEXT_FEATURES` if ``context``, then ``embedding`` delay-embedding
    features ``csi_lag1 ..`` (the clear-sky index 1 .. ``embedding`` steps earlier),
    then :data:`VARIABILITY_FEATURES` if ``variability``, then one feature per
    covariate (``past:NAME``) and per future covariate (``future:NAME``).
    """
    names = STEP_FEATURES + CONTEXT_FEATURES if context else STEP_FEATURES
    names += tuple(f"csi_lag{k}" for k in range(1, embedding + 1))
    names += VARIABILITY_FEATURES if variability else ()
    names += tuple(f"past:{c}" for c in covariates)
    return names + tuple(f"future:{c}" for c in future_covariates)


def _daytime_csi_stats(ff: pd.DataFrame) -> np.ndarray:
    """Trailing daytime clear-sky-index statistics at every step, (n, 3).

    Mean and standard deviation over the last 24 h and mean over the last 6 h of the
    daytime samples (clear sky >= 50 W/m^2) up to and including the step; steps
    without any daytime sample in the window take the value of the longer window
    (and 1 / 0 when there is none at all, i.e. the neutral clear-sky index).
    """
    day_csi = ff["csi"].where(ff["daytime"])
    r24 = day_csi.rolling("24h", min_periods=1)
    m24 = r24.mean()
    s24 = r24.std(ddof=0)
    m6 = day_csi.rolling("6h", min_periods=1).mean()
    m24 = m24.fillna(1.0)
    m6 = m6.fillna(m24)
    return np.column_stack(
        [m24.to_numpy(float), s24.fillna(0.0).to_numpy(float), m6.to_numpy(float)]
    )


#: Per-step network features, in order.
STEP_FEATURES = (
    "csi",
    "csi_diff",
    "y_kw",
    "is_future",
    "clearsky_kw",
    "cos_zenith",
    "hour_sin",
    "hour_cos",
    "doy_sin",
    "doy_cos",
    *(f"csi_rbf{i}" for i in range(5)),
    *(f"hour_rbf{i}" for i in range(6)),
)
#: Centres of the radial-basis encodings. A convex network is convex in its
#: features; radial bases of the clear-sky index and of the hour let it still fit
#: effects that are not convex in the raw values (mean reversion that depends on
#: the cloud regime and on the time of day) as sums of convex pieces.
_CSI_CENTRES = np.array([0.0, 0.3, 0.6, 0.9, 1.2])
_CSI_WIDTH = 0.2
_HOUR_CENTRES = np.arange(6) * 4.0  # every 4 h, periodic over 24 h
_HOUR_WIDTH = 2.5
#: Extra per-step features of a day-ahead forecaster (``context=True``). Short
#: windows (a few hours of past) see nothing but night at night, so the decisions
#: taken then (charge from the grid off-peak or wait for PV) need a summary of the
#: last day: trailing means and spread of the daytime clear-sky index, plus the lead
#: time (radial bases in hours), so that the network can make its reversion towards
#: the usual sky depend on how far ahead it looks.
CONTEXT_FEATURES = (
    "csi_mean_24h",
    "csi_std_24h",
    "csi_mean_6h",
    "lead_h",
    *(f"lead_rbf{i}" for i in range(5)),
)
#: Features of recent variability (``variability`` steps > 0): the mean absolute
#: step change of the clear-sky index over the last steps, and its product with the
#: index. How fast a low index recovers depends on how broken the sky is (a passing
#: cloud vs a steady overcast): a product of the two, a saddle that a network convex
#: in the raw values cannot form, but a linear function of this product feature.
VARIABILITY_FEATURES = ("csi_variability", "csi_x_variability")
_LEAD_CENTRES_H = np.array([0.0, 3.0, 6.0, 12.0, 24.0])
_LEAD_WIDTH_H = 3.0


@dataclass
class ForecastWindows:
    """Sequences and aligned truth for every issue time with a complete past window.

    Attributes
    ----------
    origins : pandas.DatetimeIndex, (n,)
        Issue times ``t`` (last observed step).
    X : numpy.ndarray, (n, lags + horizon, n_features)
        Physical per-step features (:data:`STEP_FEATURES`).
    csi0 : numpy.ndarray, (n,)
        Clear-sky index at ``t``.
    clearsky, truth : numpy.ndarray, (n, horizon)
        Clear sky and measured irradiance at ``t + h``. [W/m^2]
    daytime : numpy.ndarray of bool, (n, horizon)
        Clear sky at ``t + h`` of at least 50 W/m^2.
    complete : numpy.ndarray of bool, (n,)
        The past window has no missing value (covariates included).
    covariates_known : numpy.ndarray of bool, (n,)
        Every covariate the window reads is measured (past covariates over the
        past, future covariates over the whole window); a forecast needs them.
    """

    origins: pd.DatetimeIndex
    X: np.ndarray
    csi0: np.ndarray
    clearsky: np.ndarray
    truth: np.ndarray
    daytime: np.ndarray
    complete: np.ndarray
    covariates_known: np.ndarray

    def take(self, idx: np.ndarray) -> ForecastWindows:
        return ForecastWindows(
            self.origins[idx],
            self.X[idx],
            self.csi0[idx],
            self.clearsky[idx],
            self.truth[idx],
            self.daytime[idx],
            self.complete[idx],
            self.covariates_known[idx],
        )

    @property
    def forecastable(self) -> np.ndarray:
        """Issue times with a measured clear-sky index and every covariate read,
        (n,) bool: the others get NaN forecasts."""
        return np.isfinite(self.csi0) & self.covariates_known

    def persistence(self) -> np.ndarray:
        """Smart persistence forecast ``csi(t) * clearsky(t + h)``. [W/m^2]"""
        return self.csi0[:, None] * self.clearsky

    def frame(self, values: np.ndarray) -> pd.DataFrame:
        cols = [f"h{j + 1}" for j in range(values.shape[1])]
        return pd.DataFrame(values, index=self.origins, columns=cols)


def make_windows(
    data: SolarData,
    lags: int,
    horizon: int,
    ff: pd.DataFrame | None = None,
    context: bool = False,
    stride: int = 1,
    embedding: int = 0,
    variability: int = 0,
    covariates: tuple[str, ...] = (),
    future_covariates: tuple[str, ...] = (),
) -> ForecastWindows:
    """Build the per-issue-time sequences of :data:`STEP_FEATURES` (vectorized).

    Parameters
    ----------
    data : SolarData
    lags, horizon : int
        Past steps and future steps of every window.
    ff : pandas.DataFrame or None
        A precomputed :func:`~iclcontrol.solar.features.feature_frame`.
    context : bool
        Append :data:`CONTEXT_FEATURES` (day-ahead forecasters).
    stride : int
        Keep every ``stride``-th issue time (training a long-horizon forecaster on
        hourly issue times of 15-min data keeps the memory bounded).
    embedding : int
        Delay embedding: append the clear-sky index of the ``embedding`` steps
        before every step (``csi_lag1 ..``; at future steps those before the issue
        time). The recurrence of a convex network only adds up its past with
        non-negative weights; at one step, its (negation-augmented) input weights
        can take differences of recent values, i.e. the trend.
    variability : int
        Steps over which :data:`VARIABILITY_FEATURES` average the absolute change
        of the clear-sky index (0: no such features).
    covariates : tuple of str
        Columns of ``data`` measured along with the target (temperature, a sky
        camera's cloud fraction ...): fed at the past steps, their value at the
        issue time held over the future ones.
    future_covariates : tuple of str
        Columns known in advance (a numerical weather forecast of cloud cover or
        irradiance for the time of the step): fed at every step with the value of
        that step. The column must hold, at each time, what was known before the
        issue times that read it (a forecast issued earlier), not a measurement.
    """

    if lags < 1 or horizon < 1:
        raise ConfigError(f"lags and horizon must be >= 1, got {lags}, {horizon}")
    if stride < 1:
        raise ConfigError(f"stride must be >= 1, got {stride}")
    if embedding < 0 or variability < 0:
        raise ConfigError(
            f"embedding and variability must be >= 0, got {embedding}, {variability}"
        )
    covariates, future_covariates = tuple(covariates), tuple(future_covariates)
    _check_covariates(data, covariates + future_covariates)
    ff = feature_frame(data) if ff is None else ff
    n = len(ff)
    if n < lags + horizon + 1:
        raise DataError(
            f"need at least lags + horizon + 1 = {lags + horizon + 1} steps, got {n}"
        )
    csi = ff["csi"].to_numpy(float)
    cs = ff["clearsky"].to_numpy(float)
    y = ff["y"].to_numpy(float)
    known = np.column_stack(
        [
            cs / 1000.0,
            ff["cos_zenith"].to_numpy(float),
            ff[["hour_sin", "hour_cos", "doy_sin", "doy_cos"]].to_numpy(float),
        ]
    )
    hour_of_day = np.asarray(ff.index.hour + ff.index.minute / 60.0, dtype=float)
    L = lags + horizon
    n_all = n - L + 1  # window w covers steps w .. w+L-1, origin at w+lags-1
    sel = np.arange(0, n_all, stride)
    n_win = sel.size
    csi_w = _windowed(csi, L, sel, hold_from=lags)  # (n_win, L), csi(t) held
    past_csi = csi_w[:, :lags]
    csi0 = past_csi[:, -1]
    cs_f = _windowed(cs, L, sel)[:, lags:]
    y_w = _windowed(y, L, sel)
    past_y, y_f = y_w[:, :lags], y_w[:, lags:]
    complete = np.isfinite(past_csi).all(axis=1) & np.isfinite(past_y).all(axis=1)
    c0 = np.nan_to_num(csi0, nan=1.0)
    names = feature_names(
        context, embedding, variability, covariates, future_covariates
    )
    # a year of 1-min data with the default 2 h of lags is about 14 GB
    step_min = pd.Timedelta(data.freq) / pd.Timedelta("1min")
    check_window_memory(
        n_win,
        L,
        len(names),
        "the forecast windows",
        f"{n_win} issue times x {L} steps x {len(names)} features",
        f"{n} steps of {step_min:g} min with {lags} lags. Average the data to a "
        "coarser step (e.g. frame.resample('15min').mean()), use a shorter "
        "period, or fewer lags (--lags)",
    )
    X = np.empty((n_win, L, len(names)))
    X[:, :, 0] = np.nan_to_num(csi_w, nan=1.0)
    # step-to-step change of the index: variability is what persistence misses
    X[:, 0, 1] = 0.0
    X[:, 1:lags, 1] = np.diff(X[:, :lags, 0], axis=1)
    X[:, lags:, 1] = 0.0
    X[:, :lags, 2] = np.nan_to_num(past_y) / 1000.0
    X[:, lags:, 2] = c0[:, None] * cs_f / 1000.0  # smart persistence for the future
    X[:, :lags, 3] = 0.0
    X[:, lags:, 3] = 1.0
    X[:, :, 4:10] = _windowed(known, L, sel)
    # radial bases computed per step, then windowed like the values they encode:
    # the same numbers as on the windows, with L times fewer exponentials
    csi_rbf = np.exp(
        -0.5 * ((np.nan_to_num(csi, nan=1.0)[:, None] - _CSI_CENTRES) / _CSI_WIDTH) ** 2
    )
    X[:, :, 10:15] = _windowed(csi_rbf, L, sel, hold_from=lags)
    dh = np.abs(hour_of_day[:, None] - _HOUR_CENTRES)
    dh = np.minimum(dh, 24.0 - dh)
    X[:, :, 15:21] = _windowed(np.exp(-0.5 * (dh / _HOUR_WIDTH) ** 2), L, sel)
    if context:
        c = len(STEP_FEATURES)
        X[:, :, c : c + 3] = _windowed(_daytime_csi_stats(ff), L, sel, hold_from=lags)
        step_h = pd.Timedelta(data.freq) / pd.Timedelta("1h")
        lead = np.concatenate([np.zeros(lags), np.arange(1, horizon + 1) * step_h])
        X[:, :, c + 3] = lead
        X[:, :, c + 4 : c + 9] = np.exp(
            -0.5 * ((lead[:, None] - _LEAD_CENTRES_H) / _LEAD_WIDTH_H) ** 2
        )
    if embedding:
        e0 = names.index("csi_lag1")
        lagged = np.column_stack(
            [np.r_[np.full(k, np.nan), csi[:-k]] for k in range(1, embedding + 1)]
        )
        seq = _windowed(lagged, L, sel, hold_from=lags)
        X[:, :, e0 : e0 + embedding] = np.nan_to_num(seq, nan=1.0)
    if variability:
        change = ff["csi"].diff().abs().rolling(variability, min_periods=1).mean()
        var = _windowed(change.fillna(0.0).to_numpy(float), L, sel, hold_from=lags)
        v0 = names.index(VARIABILITY_FEATURES[0])
        X[:, :, v0] = var
        X[:, :, v0 + 1] = X[:, :, 0] * var
    cov_known = np.ones(n_win, dtype=bool)
    for name in covariates + future_covariates:
        future = name in future_covariates
        col = names.index(f"future:{name}" if future else f"past:{name}")
        seq = _windowed(
            data.frame[name].to_numpy(float), L, sel, hold_from=None if future else lags
        )
        cov_known &= np.isfinite(seq).all(axis=1)
        X[:, :, col] = np.nan_to_num(seq)
    origins = ff.index[lags - 1 + sel]
    return ForecastWindows(
        origins,
        X,
        csi0,
        cs_f,
        y_f,
        cs_f >= CSI_MIN_CLEARSKY,
        complete & cov_known,
        cov_known,
    )


def _windowed(
    values: np.ndarray, length: int, starts: np.ndarray, hold_from: int | None = None
) -> np.ndarray:
    """Windows of ``length`` steps of a series, (n,) or (n, k), at ``starts``.

    Returns shape (len(starts), length) or (len(starts), length, k). With
    ``hold_from = lags`` the value of the issue-time step (``lags - 1``) is held over
    the later ones: what is measured is known up to the issue time only.
    """
    from numpy.lib.stride_tricks import sliding_window_view as swv

    w = swv(values, length, axis=0)[starts]  # indexing copies the windows
    w = w.transpose(0, 2, 1) if values.ndim == 2 else w
    if hold_from is not None:
        w[:, hold_from:] = w[:, hold_from - 1 : hold_from]
    return w


def _check_covariates(data: SolarData, names: tuple[str, ...]) -> None:
    """Covariate columns exist, are not the target and are not listed twice."""
    if len(set(names)) != len(names):
        raise ConfigError(f"a covariate is listed twice: {list(names)}")
    if data.target in names:
        raise ConfigError(
            f"the target {data.target!r} is not a covariate: it is always fed"
        )
    missing = [c for c in names if c not in data.frame.columns]
    if missing:
        raise DataError(
            f"covariate column(s) {missing} not in the data; columns: "
            f"{list(data.frame.columns)} (load a table with covariates=[...] or "
            "--covariates)"
        )
