"""Saving and loading fitted solar forecasters: a model folder, no pickle.

The folder is the one of :mod:`iclcontrol.modelfile` (as a saved
:class:`~iclcontrol.train.SurrogateModel`'s)::

    model.safetensors   the network's weights, float64 as trained (the averaged
                        weights the forecaster predicts with); only for an
                        IrradianceForecaster
    model.json          format ("iclcontrol.IrradianceForecaster", ...) and
                        format_version, the estimator's parameters (get_params),
                        the network config, the feature scaler, the site, the
                        target column, the time step and zone of the training
                        data, the training record (source, period, windows) and
                        history; the climatology's table; the analog-day
                        scenarios' daily profiles and training record

Everything ``predict`` reads is stored, so a loaded forecaster gives the same
floats as the one that was saved, on the same data. :func:`load_forecaster` reads
any of the three forecasters and :class:`~iclcontrol.solar.scenarios.
AnalogDayScenarios`; ``iclcontrol.load`` reads surrogate models only and
names this function when it is given a forecaster's folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iclcontrol.exceptions import ModelFileError
from iclcontrol.modelfile import (
    META_FILE,
    WEIGHTS_FILE,
    check_constraints,
    make_folder,
    model_folder,
    model_path,
    read_meta,
    read_weights,
    reading,
    write_meta,
    write_weights,
)
from iclcontrol.solar.data import Site
from iclcontrol.solar.forecast import (
    ClearSkyIndexClimatology,
    IrradianceForecaster,
    SmartPersistence,
)
from iclcontrol.solar.scenarios import AnalogDayScenarios

__all__ = ["FORMAT_VERSION", "load_forecaster", "save_forecaster"]

#: Version of the forecaster folders this iclcontrol writes and reads.
FORMAT_VERSION = 1

Forecaster = (
    IrradianceForecaster
    | SmartPersistence
    | ClearSkyIndexClimatology
    | AnalogDayScenarios
)

_CLASSES: dict[str, type[Any]] = {
    "iclcontrol.IrradianceForecaster": IrradianceForecaster,
    "iclcontrol.SmartPersistence": SmartPersistence,
    "iclcontrol.ClearSkyIndexClimatology": ClearSkyIndexClimatology,
    "iclcontrol.AnalogDayScenarios": AnalogDayScenarios,
}
_WRITER = "IrradianceForecaster.save"
#: Parameters stored as tuples by the constructor (JSON has lists only).
_TUPLE_PARAMS = ("covariates", "future_covariates")


def _format_of(model: Any) -> str:
    for name, cls in _CLASSES.items():
        if type(model) is cls:
            return name
    raise TypeError(
        "save_forecaster saves an IrradianceForecaster, SmartPersistence, "
        f"ClearSkyIndexClimatology or AnalogDayScenarios, got {type(model).__name__}"
    )


#: Constructor arguments of :class:`AnalogDayScenarios` (not an EstimatorMixin).
_SCENARIO_PARAMS = (
    "n_scenarios",
    "window_days",
    "ramp_hours",
    "min_daytime_coverage",
    "min_analogs",
)


def _scenario_meta(model: AnalogDayScenarios) -> dict[str, Any]:
    """What :meth:`AnalogDayScenarios.scenarios` reads: the consecutive days
    (first date, count, zone), the step and the per-day profiles (JSON floats
    are read back exactly)."""
    days = model.days_
    return {
        "params": {name: getattr(model, name) for name in _SCENARIO_PARAMS},
        "first_day": str(days[0]),
        "n_days": int(days.size),
        "tz": None if days.tz is None else str(days.tz),
        "freq": str(pd.Timedelta(model.freq_)),
        "profiles": model.profiles_.tolist(),
        "daytime": model.daytime_.astype(int).tolist(),
        "usable": model.usable_.astype(int).tolist(),
        "training_data": dict(getattr(model, "training_data_", {})),
        "site": model.site_.to_dict() if hasattr(model, "site_") else None,
        "target": getattr(model, "target_", None),
    }


def _scenarios_from(meta: dict[str, Any]) -> AnalogDayScenarios:
    """Inverse of :func:`_scenario_meta` (``KeyError``/``ValueError`` on a bad
    description, turned into ModelFileError by the caller)."""
    model = AnalogDayScenarios(**meta["params"])
    n_days = int(meta["n_days"])
    # local calendar dates; a folder written before they were kept without a zone
    # has an offset, dropped (calendar days across a daylight-saving change)
    first_day = pd.Timestamp(meta["first_day"])
    if first_day.tz is not None:
        first_day = first_day.tz_localize(None)
    model.days_ = pd.date_range(first_day, periods=n_days, freq="D")
    model.freq_ = pd.Timedelta(meta["freq"])
    model.profiles_ = np.asarray(meta["profiles"], dtype=float)
    model.daytime_ = np.asarray(meta["daytime"], dtype=bool)
    model.usable_ = np.asarray(meta["usable"], dtype=bool)
    model.training_data_ = dict(meta.get("training_data") or {})  # older: none
    if meta.get("site") is not None:  # older: none
        model.site_ = Site(**meta["site"])
        model.target_ = str(meta["target"])
    per_day = round(pd.Timedelta("1D") / model.freq_)
    for name in ("profiles_", "daytime_", "usable_"):
        shape = getattr(model, name).shape
        wanted = (n_days,) if name == "usable_" else (n_days, per_day)
        if shape != wanted:
            raise ValueError(f"{name.rstrip('_')} has shape {shape}, expected {wanted}")
    return model


def save_forecaster(model: Any, path: str | os.PathLike[str]) -> Path:
    """Write a fitted forecaster to a model folder (safetensors + JSON, no pickle).

    Parameters
    ----------
    model : Forecaster
        A fitted IrradianceForecaster, SmartPersistence, ClearSkyIndexClimatology
        or AnalogDayScenarios (checked here: a TypeError names them).
    path : str or os.PathLike
        The folder, created with its missing parents (``~`` is the user's home).
        In an existing folder ``model.json`` and ``model.safetensors`` are
        replaced and other files are left alone.

    Returns
    -------
    pathlib.Path
        The folder, as given (``~`` expanded).

    Raises
    ------
    TypeError
        ``path`` is not a str or os.PathLike, or ``model`` another object.
    NotFittedError
        The forecaster is not fitted.
    ModelFileError
        ``path`` is an existing file (give a folder).
    """
    folder = model_path(path, "save")
    kind = _format_of(model)
    _check_fitted(model)
    make_folder(folder)
    if not isinstance(model, IrradianceForecaster):  # another model's weights
        (folder / WEIGHTS_FILE).unlink(missing_ok=True)
    if isinstance(model, AnalogDayScenarios):
        base = {"format": kind, "format_version": FORMAT_VERSION}
        write_meta(folder, {**base, **_scenario_meta(model)})
        return folder
    meta: dict[str, Any] = {
        "format": kind,
        "format_version": FORMAT_VERSION,
        "params": model.get_params(),
        "site": model.site_.to_dict(),
        "target": model.target_,
        "freq": str(pd.Timedelta(model.freq_)),
        "tz": None if model.tz_ is None else str(model.tz_),
        "training_data": dict(getattr(model, "training_data_", {})),
    }
    if isinstance(model, IrradianceForecaster):
        net = model.network_
        meta["network"] = net.config.to_dict()
        meta["x_scaler"] = model.x_scaler_.to_dict()
        meta["feature_names"] = list(model.feature_names())
        meta["history"] = model.history_
        tensors = net.state_dict()
        meta["tensors"] = {k: list(v.shape) for k, v in tensors.items()}
        meta["weights_sha256"] = write_weights(folder, tensors)
    if isinstance(model, ClearSkyIndexClimatology):
        meta["table"] = model.table_.to_numpy(float).tolist()
    write_meta(folder, meta)
    return folder


def _check_fitted(model: Any) -> None:
    if isinstance(model, IrradianceForecaster):
        model._check_fitted()
    elif not hasattr(model, "site_" if hasattr(model, "get_params") else "profiles_"):
        from iclcontrol.exceptions import NotFittedError

        raise NotFittedError(
            f"this {type(model).__name__} is not fitted yet; call fit(data) first"
        )


def load_forecaster(path: str | os.PathLike[str]) -> Forecaster:
    """Load a forecaster saved by :func:`save_forecaster` (or ``model.save``).

    Parameters
    ----------
    path : str or os.PathLike
        The model folder (or a file inside it); ``~`` is the user's home.

    Returns
    -------
    Forecaster
        The fitted IrradianceForecaster, SmartPersistence,
        ClearSkyIndexClimatology or AnalogDayScenarios saved: its ``predict``
        (``scenarios``) gives the saved one's floats on the same data.

    Raises
    ------
    TypeError
        ``path`` is not a str or os.PathLike (a wrong argument, not a bad file).
    ModelFileError
        The folder or a file is missing, ``model.json`` is invalid JSON, of
        another kind (a surrogate model's: the message names ``iclcontrol.load``)
        or of a newer format version, the weights file is truncated or corrupted
        (checksum), or the parts disagree (weights and network config, scaler
        and features). The message names the file.
    """
    folder = model_folder(path, "load_forecaster")
    meta_path = folder / META_FILE
    meta = read_meta(folder, tuple(_CLASSES), FORMAT_VERSION, _WRITER, weights=False)
    cls = _CLASSES[meta["format"]]
    with reading(meta_path):
        if cls is AnalogDayScenarios:
            return _scenarios_from(meta)
        params = dict(meta["params"])
        for name in _TUPLE_PARAMS:
            if name in params:
                params[name] = tuple(params[name])
        model = cls(**params)
        model.site_ = Site(**meta["site"])
        model.target_ = str(meta["target"])
        model.freq_ = pd.Timedelta(meta["freq"])
        model.tz_ = None if meta["tz"] is None else pd.Timestamp(0, tz=meta["tz"]).tz
        model.training_data_ = dict(meta.get("training_data") or {})
        if cls is ClearSkyIndexClimatology:
            table = np.asarray(meta["table"], dtype=float)
            if table.shape != (12, 24):
                raise ValueError(f"table has shape {table.shape}, expected (12, 24)")
            model.table_ = pd.DataFrame(table, index=range(1, 13), columns=range(24))
    if cls is IrradianceForecaster:
        _load_network(model, folder, meta)
    return model


def _load_network(
    model: IrradianceForecaster, folder: Path, meta: dict[str, Any]
) -> None:
    """Set the network, feature scaler and history of ``model`` from the folder.

    Raises
    ------
    ModelFileError
        Missing or corrupted weights, or weights, network config, scaler and
        parameters that disagree.
    """
    from iclcontrol.data import MinMaxScaler
    from iclcontrol.models.networks import NetworkConfig, network_from_config

    meta_path, weights_path = folder / META_FILE, folder / WEIGHTS_FILE
    tensors = read_weights(folder, meta, _WRITER)
    with reading(meta_path):
        config = NetworkConfig.from_dict(meta["network"])
        # float64, as fit trains it: float32 parameters would round the weights
        net = network_from_config(config, 0).double()
        expected = {k: list(v.shape) for k, v in net.state_dict().items()}
        found = {k: list(v.shape) for k, v in tensors.items()}
        if expected != found:
            raise ModelFileError(
                f"weights in {weights_path} do not match the network config "
                f"{meta['network']}: expected tensors {expected}, found {found}"
            )
        net.load_state_dict(tensors)
        net.eval()
        scaler = MinMaxScaler.from_dict(meta["x_scaler"])
        history = dict(meta.get("history") or {})
        features = model.feature_names()  # checks the stored parameters
    for name, found_value, wanted in (
        ("kind", config.kind, model.kind),
        ("hidden", config.hidden, model.hidden),
        ("layers", config.layers, model.layers),
        ("features", config.n_features, len(features)),
        ("scaled features", len(scaler.scale_), len(features)),
    ):
        if found_value != wanted:
            raise ModelFileError(
                f"{meta_path}: the network or scaler has {name} {found_value!r} but "
                f"the parameters give {wanted!r}; the file was edited or mixed with "
                "another model's. Restore the folder as saved (or train again)"
            )
    stored = meta.get("feature_names")
    if stored is not None and list(stored) != list(features):
        # the same options give other features in this iclcontrol: the network
        # would be fed columns it was not trained on
        raise ModelFileError(
            f"{meta_path}: the forecaster was trained on the features {stored} but "
            f"its options give {list(features)} in this iclcontrol; use the "
            "iclcontrol version that saved it, or train again"
        )
    check_constraints(net, meta_path)
    model.network_ = net
    model.x_scaler_ = scaler
    model.history_ = history
