"""Irradiance forecasting 1 to H steps ahead with an ICLRNN (or a baseline network).

The network reads one window per forecast issue time ``t``
(:mod:`iclcontrol.solar.windows`): ``lags`` past steps (observed clear-sky index,
recent lags and variability, clear sky, solar geometry, calendar, measured
covariates) followed by the ``horizon`` future steps, for which only what is known in
advance is fed (clear sky, geometry, calendar, forecasts given as future covariates,
and the last observed values with a "future" flag). Its outputs at the future steps
are corrections to smart persistence of the clear-sky index; the untrained network's
outputs are centred on 0.5 (correction 0), so it starts as smart persistence:

``y_hat(t+h) = clearsky(t+h) * clip(csi(t) + 2 * (o_h - 0.5), 0, CSI_MAX)``

Training minimises the squared irradiance error (kW/m^2) on daytime targets, with
Adam, a chronological validation split for early stopping and the network's own
constraint projection after every step (``project_()``), so an ICLRNN keeps its
non-negative, spectrally bounded weights.

Frames returned by ``predict`` are indexed by issue time with columns ``h1..hH``.
Fitted forecasters are saved and loaded by :mod:`iclcontrol.solar.persist`
(``model.save(path)``, :func:`iclcontrol.solar.load_forecaster`).
"""

from __future__ import annotations

import copy
import sys
import time
from typing import Any

import numpy as np
import pandas as pd

from iclcontrol.estimator import EstimatorMixin
from iclcontrol.exceptions import (
    ConfigError,
    DataError,
    NotFittedError,
)
from iclcontrol.solar.data import Site, SolarData, as_timestamp, regularize
from iclcontrol.solar.features import CSI_MAX, feature_frame
from iclcontrol.solar.metrics import horizon_metrics
from iclcontrol.solar.saving import SavedModelMixin
from iclcontrol.solar.windows import (
    CONTEXT_FEATURES,
    STEP_FEATURES,
    VARIABILITY_FEATURES,
    ForecastWindows,
    feature_names,
    make_windows,
)

__all__ = [
    "CONTEXT_FEATURES",
    "STEP_FEATURES",
    "VARIABILITY_FEATURES",
    "ClearSkyIndexClimatology",
    "ForecastWindows",
    "IrradianceForecaster",
    "SmartPersistence",
    "backtest",
    "chronological_cut",
    "evaluate",
    "feature_names",
    "make_windows",
]


_RES_SCALE = 2.0  # correction = _RES_SCALE * (output - 0.5)


def chronological_cut(data: SolarData, test_fraction: float = 0.2) -> pd.Timestamp:
    """First timestamp of the held-out last ``test_fraction`` of the valid samples."""
    if not 0.0 < test_fraction < 1.0:
        raise ConfigError(f"test_fraction must be in (0, 1), got {test_fraction}")
    valid = data.y.dropna().index
    if len(valid) < 10:
        raise DataError(f"only {len(valid)} valid measurements")
    return valid[int(np.floor(len(valid) * (1.0 - test_fraction)))]


def _issue_windows(
    data: SolarData,
    lags: int,
    horizon: int,
    start: Any = None,
    windows: ForecastWindows | None = None,
    **features: Any,
) -> ForecastWindows:
    """The windows to forecast from: ``windows`` or new ones (``features``: options
    of :func:`make_windows`), from ``start`` on."""
    w = windows or make_windows(data, lags, horizon, **features)
    if start is not None:
        start = as_timestamp(start, data.frame.index.tz)
        w = w.take(np.flatnonzero(w.origins >= start))
    return w


def check_fitted_step(model: Any, data: SolarData, fix: str) -> None:
    """Refuse data at another time step than the one ``model`` was fit on.

    Parameters
    ----------
    model : IrradianceForecaster or AnalogDayScenarios
        A fitted object with ``freq_`` (its data's step).
    data : SolarData
        The data it is to be used on.
    fix : str
        What the user can do, appended to the message.

    Raises
    ------
    DataError
        Naming both steps [min] and ``fix``.
    """
    if data.freq != model.freq_:
        minute = pd.Timedelta("1min")
        raise DataError(
            f"the {type(model).__name__} was fit on {model.freq_ / minute:g}-min "
            f"steps but the data has {data.freq / minute:g}-min steps; {fix}"
        )


def as_solar_data(
    data: SolarData | pd.DataFrame, model: Any, who: str = "predict"
) -> SolarData:
    """``data`` as :class:`SolarData`; a DataFrame gets the fitted ``model``'s
    target, site and step (``target_``, ``site_``, ``freq_``).

    A DataFrame without ``index.freq`` is put on the fitted step with
    :func:`~iclcontrol.solar.data.regularize` (sorted, de-duplicated, gaps as NaN).
    Data in another time zone than the training data's (``tz_``) is converted to
    it: the calendar features (hour of day, day of year) read the local clock, so
    the same instants in another zone would otherwise be other features.

    Raises
    ------
    NotFittedError
        A DataFrame given to a model that is not fitted.
    DataError
        Neither a SolarData nor a DataFrame, or a DataFrame without the target
        column or a timezone-aware DatetimeIndex; a SolarData of another target
        or site than the fitted model's (:func:`_check_same_source`).
    """
    if isinstance(data, SolarData):
        _check_same_source(data, model)
        return _in_fitted_zone(data, model)
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"expected SolarData or DataFrame, got {type(data).__name__}")
    if not hasattr(model, "site_"):
        raise NotFittedError(
            f"this {type(model).__name__} is not fitted yet; call fit(data) first "
            f"(a DataFrame given to {who} takes the fitted site)"
        )
    frame = data
    if (
        isinstance(data.index, pd.DatetimeIndex)
        and data.index.tz is not None
        and data.index.freq is None
        and model.target_ in data.columns
    ):  # put it on the fitted grid (sorted, no duplicates, NaN gaps)
        frame, _ = regularize(data, model.target_, freq=model.freq_)
    return _in_fitted_zone(SolarData(frame, model.target_, model.site_), model)


#: Fields of :class:`Site` that change the clear sky or the solar geometry (not
#: the name, nor the zone: data in another zone is converted).
_SITE_FIELDS = (
    "latitude",
    "longitude",
    "altitude",
    "surface_tilt",
    "surface_azimuth",
    "label",
)


def _check_same_source(data: SolarData, model: Any) -> None:
    """Refuse a SolarData whose target or site is not the one ``model`` was fit
    on (a saved forecaster loaded for another site or target would otherwise
    forecast from the wrong clear sky without a word); nothing for an unfitted
    model.

    Raises
    ------
    DataError
        Another target column, or a site that differs in location, altitude,
        plane or timestamp label.
    """
    if not hasattr(model, "site_"):
        return
    who = type(model).__name__
    if data.target != model.target_:
        raise DataError(
            f"the {who} was fit on target {model.target_!r} but the data's target "
            f"is {data.target!r}; give data of {model.target_!r} (load it with "
            f"target={model.target_!r}) or fit a forecaster on {data.target!r}"
        )
    changed = [
        f"{name} {getattr(data.site, name)!r} (fit: {getattr(model.site_, name)!r})"
        for name in _SITE_FIELDS
        if getattr(data.site, name) != getattr(model.site_, name)
    ]
    if changed:
        raise DataError(
            f"the {who} was fit at site {model.site_.name!r} but the data's site "
            f"differs: {', '.join(changed)}; give data measured at the fitted "
            "site, or fit a forecaster on this site's data"
        )


def _in_fitted_zone(data: SolarData, model: Any) -> SolarData:
    """``data`` with its index converted to the zone ``model`` was fit in
    (``tz_``; unchanged when the model has none or the zone is the same)."""
    tz = getattr(model, "tz_", None)
    if tz is None or str(data.frame.index.tz) == str(tz):
        return data
    frame = data.frame.tz_convert(tz)
    frame.index.freq = data.frame.index.freq
    return SolarData(frame, data.target, data.site, dict(data.card), dict(data.report))


def _zone_of(data: SolarData | pd.DataFrame) -> Any:
    """Time zone of the index of ``data`` (None when it has none)."""
    frame = data.frame if isinstance(data, SolarData) else data
    return getattr(frame.index, "tz", None)


def _in_zone(forecast: pd.DataFrame, tz: Any) -> pd.DataFrame:
    """``forecast`` indexed in ``tz`` (the zone of the data given to predict)."""
    return forecast if tz is None else forecast.tz_convert(tz)


def _store_fitted(
    model: Any, data: SolarData, first: Any = None, last: Any = None, end: Any = None
) -> None:
    """What predict needs of the training data (target, site, step and zone) and
    a record of it, ``training_data_``: ``source`` (dataset name or file),
    ``first`` and ``last`` (the period read: first input, last target; default
    the data's ends), ``end`` (the cut given to fit, or None)."""
    model.site_ = data.site
    model.target_ = data.target
    model.freq_ = data.freq
    model.tz_ = data.frame.index.tz
    index = data.frame.index
    model.training_data_ = {
        "source": str(data.card.get("name", data.card.get("source", ""))),
        "first": str(index[0] if first is None else first) if len(index) else None,
        "last": str(index[-1] if last is None else last) if len(index) else None,
        "end": None if end is None else str(as_timestamp(end, index.tz)),
    }


class _ReferenceForecast(SavedModelMixin, EstimatorMixin):
    """Shared parts of the reference forecasts (no training of a network).

    Estimators like :class:`IrradianceForecaster`: ``get_params`` /
    ``set_params``, ``sklearn.base.clone`` and a ``repr`` of the changed
    parameters.
    """

    # set by fit (_store_fitted); declared here for type checkers, they do not
    # exist before fit (``hasattr(model, "site_")`` tells a fitted model)
    site_: Site
    target_: str
    freq_: pd.Timedelta
    tz_: Any
    training_data_: dict[str, Any]

    def __init__(self, horizon: int = 4, lags: int = 1) -> None:
        self.horizon = horizon
        self.lags = lags

    def window_options(self) -> dict[str, Any]:
        """No extra features: reference forecasts read plain windows."""
        return {}

    def _windows(
        self,
        data: SolarData | pd.DataFrame,
        horizon: int | None,
        start: Any,
        windows: ForecastWindows | None,
    ) -> tuple[int, ForecastWindows]:
        """The forecast horizon and the windows to forecast from."""
        h = horizon or self.horizon
        data = as_solar_data(data, self)
        return h, _issue_windows(data, max(self.lags, 1), h, start, windows)


class SmartPersistence(_ReferenceForecast):
    """Persistence of the clear-sky index: ``y_hat(t+h) = csi(t) * clearsky(t+h)``.

    Same API as :class:`IrradianceForecaster` (``fit`` does nothing but store the
    site).
    """

    kind = "smart_persistence"

    def fit(self, data: SolarData) -> SmartPersistence:
        _store_fitted(self, data)
        return self

    def predict(
        self,
        data: SolarData | pd.DataFrame,
        horizon: int | None = None,
        start: Any = None,
        windows: ForecastWindows | None = None,
    ) -> pd.DataFrame:
        _, w = self._windows(data, horizon, start, windows)
        return _in_zone(w.frame(w.persistence()), _zone_of(data))


class ClearSkyIndexClimatology(_ReferenceForecast):
    """Climatological clear-sky index: the mean daytime index of the training period
    by month and local hour, times the clear sky of the target time.

    A forecast that uses no measurement at the issue time; beyond a few hours it is
    the natural reference of a day-ahead forecaster. Same API as
    :class:`SmartPersistence`.

    Attributes
    ----------
    table_ : pandas.DataFrame
        Mean clear-sky index, index month 1..12, columns hour 0..23.
    """

    kind = "climatology"

    def fit(self, data: SolarData, end: Any = None) -> ClearSkyIndexClimatology:
        ff = feature_frame(data)
        keep = ff["daytime"] & ff["csi"].notna()
        if end is not None:
            keep &= ff.index < as_timestamp(end, ff.index.tz)
        day = ff.loc[keep, "csi"]
        if day.size < 24:
            raise DataError(f"only {day.size} daytime measurements to average")
        table = day.groupby([day.index.month, day.index.hour]).mean().unstack()
        table = table.reindex(index=range(1, 13), columns=range(24))
        # months or hours never seen in daytime: the hour's mean, then the overall
        self.table_ = table.fillna(table.mean(axis=0)).fillna(float(day.mean()))
        _store_fitted(self, data, day.index[0], day.index[-1], end)
        return self

    def csi_at(self, times: pd.DatetimeIndex) -> np.ndarray:
        """Climatological clear-sky index at ``times`` (local month and hour)."""
        if not hasattr(self, "table_"):
            raise NotFittedError("this ClearSkyIndexClimatology is not fitted yet")
        t = self.table_.to_numpy(float)
        return t[np.asarray(times.month) - 1, np.asarray(times.hour)]

    def predict(
        self,
        data: SolarData | pd.DataFrame,
        horizon: int | None = None,
        start: Any = None,
        windows: ForecastWindows | None = None,
    ) -> pd.DataFrame:
        tz = _zone_of(data)
        data = as_solar_data(data, self)
        h, w = self._windows(data, horizon, start, windows)
        step = pd.Timedelta(data.freq)
        csi = np.column_stack(
            [self.csi_at(w.origins + (j + 1) * step) for j in range(h)]
        )
        return _in_zone(w.frame(csi * w.clearsky[:, :h]), tz)


class IrradianceForecaster(SavedModelMixin, EstimatorMixin):
    """Multi-step irradiance forecaster on a (convex) recurrent network.

    scikit-learn's estimator protocol (:class:`iclcontrol.estimator.EstimatorMixin`):
    ``get_params``/``set_params``, ``repr`` and ``sklearn.base.clone`` work as for
    any estimator.

    Parameters
    ----------
    kind : {"iclrnn", "icrnn", "lrnn", "rnn", "lstm"}
        Network from :func:`iclcontrol.models.make_network`.
    horizon : int
        Steps ahead forecast (1 .. horizon).
    lags : int
        Past steps fed to the network.
    hidden, layers : int
        Network size.
    epochs : int
        Maximum training epochs.
    batch_size : int
    lr : float
        Adam learning rate (5e-3 with batch 64 is the tested default for convex
        networks, DESIGN.md).
    patience : int
        Early stopping on the validation loss.
    val_fraction : float
        Last part of the training period used for early stopping.
    max_train_samples : int or None
        Use at most this many (most recent) training windows.
    time_limit_s : float or None
        Stop training after this many seconds (the best epoch so far is kept).
    random_state : int
        Seeds the initialization and the minibatch order.
    context : bool
        Add :data:`CONTEXT_FEATURES` (trailing daily clear-sky-index statistics and
        the lead time) to every step: for day-ahead horizons, whose issue times at
        night see only night in a few hours of past.
    stride : int
        Train on every ``stride``-th issue time only (memory of long horizons);
        prediction always uses every issue time.
    embedding : int
        Delay-embedding features per step (:func:`make_windows`); 0: none.
    variability : int
        Steps of the recent-variability features (:func:`make_windows`); 0: none.
    covariates, future_covariates : tuple of str
        Extra columns of the data fed to the network (:func:`make_windows`):
        measured ones (held over the future) and ones known in advance (a weather
        forecast). Issue times with a missing covariate are not trained on and get
        NaN forecasts.
        The defaults (4 and 4, with ``ema_decay=0.99``) were chosen on the
        validation loss of pvdaq-poa-15min and both TMY3 sites
        (docs/solar_results.md).
    quantile : float or None
        Train for this quantile of the irradiance (pinball loss) instead of the
        mean (squared error). A dispatch whose costs are asymmetric (PV that fails
        to come is bought at the peak price, PV that comes unexpectedly is exported
        cheaply) is better served by a low quantile than by the mean.
    ema_decay : float or None
        Exponential moving average of the weights per optimizer step
        (:mod:`iclcontrol.models.averaging`); validation, early stopping and the
        fitted model use the average. None: the raw weights.
    spectral_bound : float or None
        Bound on the spectral norm of every weight matrix of the Lipschitz kinds
        (iclrnn, lrnn); None: the kind's default (1).
    verbose : bool
        One line per epoch (losses, seconds) on stderr, where progress goes,
        so that a script's stdout holds only what it prints itself.

    Attributes
    ----------
    network_ : torch.nn.Module
    x_scaler_ : iclcontrol.data.MinMaxScaler
    history_ : dict
        ``train_loss``, ``val_loss`` per epoch, ``best_epoch``, ``fit_seconds``.
    site_ : Site
    tz_ : tzinfo
        Time zone of the training data's index; data given to ``predict`` in
        another zone is converted to it (the calendar features are local clock
        times) and the forecast comes back in the zone of the data given.
    target_ : str
        The target column fit on; ``predict`` refuses a SolarData of another
        target or site.
    freq_ : pandas.Timedelta
        Time step of the training data.
    training_data_ : dict
        ``source`` (dataset name or file), ``first`` and ``last`` (first input and
        last target of the training windows), ``end`` (the cut given to fit).

    A fitted forecaster is saved with :meth:`save` and read back with
    :func:`iclcontrol.solar.load_forecaster` (:mod:`iclcontrol.solar.persist`).
    """

    # set by fit (_store_fitted); declared here for type checkers, they do not
    # exist before fit (``hasattr(model, "site_")`` tells a fitted model)
    site_: Site
    target_: str
    freq_: pd.Timedelta
    tz_: Any
    training_data_: dict[str, Any]

    def __init__(
        self,
        kind: str = "iclrnn",
        horizon: int = 4,
        lags: int = 8,
        hidden: int = 32,
        layers: int = 1,
        epochs: int = 30,
        batch_size: int = 64,
        lr: float = 5e-3,
        patience: int = 5,
        val_fraction: float = 0.15,
        max_train_samples: int | None = None,
        time_limit_s: float | None = None,
        random_state: int = 0,
        context: bool = False,
        stride: int = 1,
        embedding: int = 4,
        variability: int = 4,
        covariates: tuple[str, ...] = (),
        future_covariates: tuple[str, ...] = (),
        quantile: float | None = None,
        ema_decay: float | None = 0.99,
        spectral_bound: float | None = None,
        verbose: bool = False,
    ) -> None:
        self.kind = kind
        self.horizon = horizon
        self.lags = lags
        self.hidden = hidden
        self.layers = layers
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.patience = patience
        self.val_fraction = val_fraction
        self.max_train_samples = max_train_samples
        self.time_limit_s = time_limit_s
        self.random_state = random_state
        self.context = context
        self.stride = stride
        self.embedding = embedding
        self.variability = variability
        self.covariates = covariates
        self.future_covariates = future_covariates
        self.quantile = quantile
        self.ema_decay = ema_decay
        self.spectral_bound = spectral_bound
        self.verbose = verbose

    def _check_params(self) -> None:
        from iclcontrol.models import KINDS

        if self.kind not in KINDS or self.kind == "ficnn":
            kinds = ", ".join(k for k in KINDS if k != "ficnn")
            raise ConfigError(
                f"kind must be a recurrent network ({kinds}), got {self.kind!r}"
            )
        for name in (
            "horizon",
            "lags",
            "hidden",
            "layers",
            "epochs",
            "batch_size",
            "stride",
        ):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise ConfigError(f"{name} must be a positive integer, got {v!r}")
        for name in ("covariates", "future_covariates"):
            v = getattr(self, name)
            if isinstance(v, str) or not all(isinstance(c, str) for c in v):
                raise ConfigError(f"{name} must be a sequence of column names")
        for name in ("embedding", "variability"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or v < 0:
                raise ConfigError(f"{name} must be a non-negative integer, got {v!r}")
        if self.quantile is not None and not 0.0 < self.quantile < 1.0:
            raise ConfigError(f"quantile must be in (0, 1), got {self.quantile}")
        if not 0.0 < self.val_fraction < 0.5:
            raise ConfigError(
                f"val_fraction must be in (0, 0.5), got {self.val_fraction}"
            )

    def window_options(self) -> dict[str, Any]:
        """Feature options of :func:`make_windows` that this forecaster reads."""
        self._check_params()
        return {
            "context": self.context,
            "embedding": self.embedding,
            "variability": self.variability,
            "covariates": tuple(self.covariates),
            "future_covariates": tuple(self.future_covariates),
        }

    def feature_names(self) -> tuple[str, ...]:
        """Names of the per-step network features, in order."""
        return feature_names(**self.window_options())

    # -- fitting -----------------------------------------------------------------
    def fit(
        self, data: SolarData, end: Any = None, windows: ForecastWindows | None = None
    ) -> IrradianceForecaster:
        """Train on issue times before ``end`` (default: all of ``data``).

        Only windows whose past is complete and whose targets include daytime enter.
        """
        import torch

        from iclcontrol.data import MinMaxScaler
        from iclcontrol.models import make_network
        from iclcontrol.models.averaging import WeightAverage, averaged_weights

        options = self.window_options()  # checks every parameter
        if not isinstance(data, SolarData):
            raise DataError(
                "fit expects a SolarData: iclcontrol.solar.load_solar(path_or_name), "
                "or for a DataFrame SolarData(frame, target='ghi', site=Site(name, "
                f"latitude, longitude, tz=...)) (the site gives the clear sky); got "
                f"{type(data).__name__}"
            )
        t0 = time.perf_counter()
        w = windows or make_windows(
            data, self.lags, self.horizon, stride=self.stride, **options
        )
        n_features = len(feature_names(**options))
        if w.X.shape[2] != n_features:
            raise ConfigError(
                f"windows have {w.X.shape[2]} features per step, the forecaster "
                f"expects {n_features} ({options}); build them with "
                "make_windows(..., **forecaster.window_options())"
            )
        keep = w.complete & w.daytime.any(axis=1)
        if end is not None:
            # the last target must be before the cut too (no peeking into the test)
            last_target = w.origins + self.horizon * pd.Timedelta(data.freq)
            keep &= last_target < as_timestamp(end, data.frame.index.tz)
        idx = np.flatnonzero(keep)
        if self.max_train_samples is not None:
            idx = idx[-int(self.max_train_samples) :]
        if idx.size < 20:
            raise DataError(
                f"only {idx.size} complete daytime training windows; need >= 20"
            )
        n_val = max(round(self.val_fraction * idx.size), 1)
        tr, va = idx[:-n_val], idx[-n_val:]
        self.x_scaler_ = MinMaxScaler().fit(w.X[tr])
        gen = torch.Generator().manual_seed(self.random_state)
        net = make_network(
            self.kind,
            n_features=n_features,
            n_outputs=1,
            hidden=self.hidden,
            layers=self.layers,
            random_state=gen,
            spectral_bound=self.spectral_bound,  # None: the kind's default
        )
        net = net.double()

        def tensors(ii: np.ndarray) -> tuple[Any, ...]:
            return (
                torch.from_numpy(self.x_scaler_.transform(w.X[ii])),
                torch.from_numpy(w.csi0[ii]),
                torch.from_numpy(w.clearsky[ii] / 1000.0),
                torch.from_numpy(np.nan_to_num(w.truth[ii]) / 1000.0),
                torch.from_numpy(
                    (w.daytime[ii] & np.isfinite(w.truth[ii])).astype(float)
                ),
            )

        Xt, c0t, cst, yt, mt = tensors(tr)
        Xv, c0v, csv, yv, mv = tensors(va)
        data_init = getattr(net, "data_init_", None)
        if callable(data_init):
            data_init(Xt[: min(512, len(Xt))])
        lags = self.lags
        # Start from smart persistence: centre the untrained outputs of the future
        # steps at 0.5 (a zero correction). Outputs far from it clip every index at
        # 0 or CSI_MAX, where no gradient flows (an LSTM with 27 features then
        # never left its initialization).
        with torch.no_grad():
            o0 = net(Xt[: min(512, len(Xt))])[:, lags:, 0]
            net.readout.bias.sub_(o0.mean() - 0.5)

        # Weight each lead time by 1 / (its smart-persistence MSE) so that the short
        # leads, whose errors are smallest, are not drowned by the long ones.
        pers = (c0t[:, None] * cst - yt) * mt
        mse_h = (pers**2).sum(0) / mt.sum(0).clamp(min=1.0)
        tau = self.quantile
        # per-lead weights 1 / (persistence loss): squared error, or for the pinball
        # loss, which scales with the error and not its square, the RMS error
        scale = mse_h.clamp(min=1e-8)
        if tau is not None:
            scale = scale.sqrt()
        weight = (1.0 / scale) / (1.0 / scale).mean()

        def loss_fn(X: Any, c0: Any, cs: Any, y: Any, m: Any) -> Any:
            o = net(X)[:, lags:, 0]
            csi = torch.clamp(c0[:, None] + _RES_SCALE * (o - 0.5), 0.0, CSI_MAX)
            err = (csi * cs - y) * m
            if tau is not None:  # pinball loss of the tau-quantile (err = -residual)
                pin = torch.maximum(-tau * err, (1.0 - tau) * err)
                return (pin * weight).sum() / m.sum().clamp(min=1.0)
            return ((err**2) * weight).sum() / m.sum().clamp(min=1.0)

        params = [p for p in net.parameters() if p.requires_grad]
        opt = torch.optim.Adam(params, lr=self.lr)
        averaged = WeightAverage(params, self.ema_decay) if self.ema_decay else None
        rng = np.random.default_rng(self.random_state)
        history: dict[str, Any] = {"train_loss": [], "val_loss": []}
        with torch.no_grad():
            v0 = float(loss_fn(Xv, c0v, csv, yv, mv))
        history["val_loss_persistence"] = v0
        best = (v0, 0, copy.deepcopy(net.state_dict()))
        bad = 0
        for epoch in range(1, self.epochs + 1):
            net.train()
            perm = rng.permutation(len(Xt))
            tot = 0.0
            for s in range(0, len(perm), self.batch_size):
                b = torch.from_numpy(perm[s : s + self.batch_size])
                opt.zero_grad()
                loss = loss_fn(Xt[b], c0t[b], cst[b], yt[b], mt[b])
                loss.backward()
                opt.step()
                net.after_step_()
                if averaged is not None:
                    averaged.update()
                tot += float(loss.detach()) * len(b)
            net.eval()
            with torch.no_grad(), averaged_weights(averaged):
                vl = float(loss_fn(Xv, c0v, csv, yv, mv))
                improved = vl < best[0] - 1e-7
                if improved:  # the weights validated: averaged ones if any
                    best = (vl, epoch, copy.deepcopy(net.state_dict()))
            history["train_loss"].append(tot / len(perm))
            history["val_loss"].append(vl)
            if self.verbose:
                print(
                    f"epoch {epoch}: train {tot / len(perm):.5f} val {vl:.5f} "
                    f"({time.perf_counter() - t0:.0f} s)",
                    file=sys.stderr,
                )
            if improved:
                bad = 0
            else:
                bad += 1
                # halve the step on a plateau: the noisy minibatch gradient of a
                # constrained network otherwise keeps the loss bouncing
                for g in opt.param_groups:
                    g["lr"] *= 0.5
                if bad >= self.patience:
                    break
            if self.time_limit_s and time.perf_counter() - t0 > self.time_limit_s:
                history["stopped"] = "time_limit"
                break
        net.load_state_dict(best[2])
        if hasattr(net, "project_"):
            net.project_()  # weights now satisfy the constraints exactly
        net.eval()
        history["best_epoch"] = best[1]
        history["best_val_loss"] = best[0]
        history["fit_seconds"] = time.perf_counter() - t0
        history["n_train"] = int(tr.size)
        history["n_val"] = int(va.size)
        self.network_ = net
        self.history_ = history
        step = pd.Timedelta(data.freq)
        _store_fitted(
            self,
            data,
            first=w.origins[idx[0]] - (self.lags - 1) * step,
            last=w.origins[idx[-1]] + self.horizon * step,
            end=end,
        )
        return self

    # -- prediction --------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "network_"):
            raise NotFittedError(
                "this IrradianceForecaster is not fitted yet; call fit(data) first"
            )

    def predict(
        self,
        data: SolarData | pd.DataFrame,
        horizon: int | None = None,
        start: Any = None,
        windows: ForecastWindows | None = None,
    ) -> pd.DataFrame:
        """Forecast ``horizon`` steps ahead from every issue time of ``data``.

        Parameters
        ----------
        data : SolarData or pandas.DataFrame
            A DataFrame needs a DatetimeIndex with time zone and the target column;
            the fitted site is used.
        horizon : int or None
            At most the fitted horizon.
        start : str, timestamp or None
            Only issue times at or after ``start``; without a zone it is local time
            of the data (``"2023-06-01"``, as ``frame.loc`` reads it).
        windows : ForecastWindows or None
            Windows already built from ``data`` with this forecaster's lags,
            horizon and feature options (:func:`iclcontrol.solar.windows.make_windows`),
            to reuse across calls; None: built here.

        Returns
        -------
        pandas.DataFrame
            Index: issue time, in the zone of ``data``; columns ``h1..hH``:
            irradiance at ``t + h``. [W/m^2]
            Issue times whose current measurement is missing give NaN.

        Raises
        ------
        NotFittedError
        ConfigError
            ``horizon`` above the fitted one.
        DataError
            Data with another step than the training data's.
        """
        import torch

        self._check_fitted()
        h = self.horizon if horizon is None else int(horizon)
        if not 1 <= h <= self.horizon:
            raise ConfigError(f"horizon must be in [1, {self.horizon}], got {horizon}")
        tz = _zone_of(data)
        data = as_solar_data(data, self)
        # lags and lead times count steps: another step changes their meaning
        check_fitted_step(
            self,
            data,
            f"{self.lags} lags and h1..h{self.horizon} count steps; resample the "
            "data to the fitted step or fit on this one",
        )
        w = _issue_windows(
            data, self.lags, self.horizon, start, windows, **self.window_options()
        )
        out = np.full((len(w.origins), self.horizon), np.nan)
        with torch.no_grad():
            for s in range(0, len(w.origins), 4096):
                X = torch.from_numpy(self.x_scaler_.transform(w.X[s : s + 4096]))
                o = self.network_(X)[:, self.lags :, 0].numpy()
                csi = np.clip(
                    w.csi0[s : s + 4096, None] + _RES_SCALE * (o - 0.5), 0.0, CSI_MAX
                )
                out[s : s + 4096] = csi * w.clearsky[s : s + 4096]
        out[~w.forecastable] = np.nan
        return _in_zone(w.frame(out[:, :h]), tz)

    def export_spec(self) -> dict[str, Any]:
        """Network spec (docs/INTERFACES.md) plus the feature scaler and names."""
        self._check_fitted()
        spec = self.network_.export_spec()
        spec["x_scaler"] = self.x_scaler_.to_dict()
        spec["feature_names"] = list(self.feature_names())
        spec["output_names"] = ["csi_correction"]
        spec["lags"] = self.lags
        spec["horizon"] = self.horizon
        return spec


def evaluate(
    model: IrradianceForecaster | SmartPersistence | ClearSkyIndexClimatology,
    data: SolarData | pd.DataFrame,
    start: Any = None,
    horizon: int | None = None,
    windows: ForecastWindows | None = None,
) -> dict[str, Any]:
    """Score ``model`` on issue times from ``start`` against smart persistence.

    Daytime targets only; issue times whose current value is missing are skipped
    for both forecasts. ``start`` None scores every issue time of ``data`` (pass
    the end of the training period to score out of sample); a DataFrame takes the
    fitted model's site.

    Returns
    -------
    dict
        ``horizons`` (list per step: ``steps``, ``rmse``, ``mae``, ``mbe``,
        normalized forms, ``rmse_reference``, ``skill_vs_smart_persistence``, ``n``),
        ``n_test`` (issue times), ``frames`` (forecast, persistence, truth, daytime).
    """
    h = horizon or model.horizon
    data = as_solar_data(data, model, "evaluate")
    w = _issue_windows(
        data, model.lags, model.horizon, start, windows, **model.window_options()
    )
    fc = model.predict(data, horizon=h, windows=w)
    ref = w.frame(w.persistence()[:, :h])
    truth = w.frame(w.truth[:, :h])
    day = w.frame(w.daytime[:, :h])
    return {
        "horizons": horizon_metrics(truth, fc, ref, day),
        "n_test": int(w.forecastable.sum()),
        "frames": {"forecast": fc, "persistence": ref, "truth": truth, "daytime": day},
    }


def backtest(
    data: SolarData,
    params: dict[str, Any],
    n_folds: int = 3,
    test_fraction: float = 0.2,
) -> dict[str, Any]:
    """Rolling-origin backtest over the held-out last ``test_fraction``.

    The test period is cut into ``n_folds`` consecutive blocks; fold ``k`` trains on
    everything before block ``k`` (expanding window) and is scored on block ``k``.

    Returns
    -------
    dict
        ``folds``: per fold ``start``, ``end``, ``n_train``, ``horizons``;
        ``mean_skill``: skill per horizon averaged over folds.
    """
    if n_folds < 1:
        raise ConfigError(f"n_folds must be >= 1, got {n_folds}")
    cut = chronological_cut(data, test_fraction)
    valid = data.y.dropna().index
    test_times = valid[valid >= cut]
    edges = [test_times[int(i * len(test_times) / n_folds)] for i in range(n_folds)]
    edges.append(test_times[-1] + pd.Timedelta(data.freq))
    model0 = IrradianceForecaster(**params)
    w = make_windows(data, model0.lags, model0.horizon, **model0.window_options())
    folds = []
    for k in range(n_folds):
        model = IrradianceForecaster(**params).fit(data, end=edges[k], windows=w)
        sub = w.take(
            np.flatnonzero((w.origins >= edges[k]) & (w.origins < edges[k + 1]))
        )
        res = evaluate(model, data, edges[k], windows=sub)
        folds.append(
            {
                "start": str(edges[k]),
                "end": str(edges[k + 1]),
                "n_train": model.history_["n_train"],
                "horizons": res["horizons"],
            }
        )
    mean_skill = [
        float(np.mean([f["horizons"][j]["skill_vs_smart_persistence"] for f in folds]))
        for j in range(len(folds[0]["horizons"]))
    ]
    return {"folds": folds, "mean_skill": mean_skill}


def site_of(model: IrradianceForecaster | SmartPersistence) -> Site:
    return model.site_
