"""End-to-end solar workflows behind the CLI (each callable from a script):

* :func:`run_forecast`: load + QC → chronological split (last 20 % held out) → fit a
  forecaster → per-lead metrics against smart persistence → plots, JSON and the
  fitted forecasters (model folders, :mod:`iclcontrol.solar.persist`).
* :func:`run_predict`: a saved forecaster → forecasts on new data without training
  (metrics where the data has measurements) → CSV and JSON.
* :func:`run_plan`: a weather year → PV and battery sizing LP.
* :func:`run_operate`: closed-loop receding-horizon dispatch on the held-out period
  driven by perfect foresight, smart persistence and the trained forecaster.
"""

from __future__ import annotations

import json
import math
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from iclcontrol.exceptions import ConfigError, DataError, IclControlWarning
from iclcontrol.solar.data import SolarData, load_solar, quality_control
from iclcontrol.solar.features import CSI_MAX, clearsky_target
from iclcontrol.solar.forecast import (
    IrradianceForecaster,
    SmartPersistence,
    chronological_cut,
    evaluate,
    make_windows,
)
from iclcontrol.solar.gap import daily_costs, gap_closed, gap_closed_interval

__all__ = [
    "OPERATE_MODEL_FOLDERS",
    "default_forecast_params",
    "fill_weather",
    "load_operate_forecaster",
    "long_forecast_params",
    "newsvendor_quantile",
    "prepare",
    "run_forecast",
    "run_operate",
    "run_plan",
    "run_predict",
    "sanitize",
]


#: Daytime test samples per horizon below which a skill gets a warning.
MIN_SCORED_SAMPLES = 100


def sanitize(obj: Any) -> Any:
    """JSON-safe copy: NaN/inf → None, numpy scalars → Python, timestamps → str."""
    if isinstance(obj, dict):
        return {str(k): sanitize(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [sanitize(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, (pd.Timestamp, pd.Timedelta)):
        return str(obj)
    return obj


def open_output(out: str | Path, summary_file: str) -> Path:
    """Create the output folder and remove a previous run's summary file.

    The summary file (``metrics.json``, ``plan.json``, ``operate.json``) is written
    last, with :func:`write_summary`: a folder that has it holds one complete run,
    also after a rerun into the same folder stopped (Ctrl-C, an error) while
    writing the other files.

    Parameters
    ----------
    out : str or pathlib.Path
        Output folder (created with its parents).
    summary_file : str
        Name of the summary file inside ``out``.

    Returns
    -------
    pathlib.Path
        The folder.
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / summary_file).unlink(missing_ok=True)
    return folder


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    """Write ``summary`` as JSON to ``path`` atomically (a temporary file, renamed).

    Parameters
    ----------
    path : pathlib.Path
        The summary file; readers never see it half-written.
    summary : dict
        JSON-safe content (see :func:`sanitize`).
    """
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(summary, indent=2))
    tmp.replace(path)


def prepare(
    data: str | Path | SolarData, qc: bool = True, **load_kwargs: Any
) -> tuple[SolarData, dict[str, Any]]:
    """Load (if needed) and quality-control a dataset; return data and QC report.

    Quality control's warnings (a clock an hour off) are in the report's
    ``warnings``, not issued again as Python warnings: the workflows list them
    in their summary's ``warnings`` and the CLI prints those.
    """
    d = data if isinstance(data, SolarData) else load_solar(data, **load_kwargs)
    if not qc:
        return d, {"skipped": True}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IclControlWarning)
        res = quality_control(d)
    return res.data, res.report


def default_forecast_params(
    data: SolarData, horizon: int | None = None
) -> dict[str, Any]:
    """Lags and horizon suited to the data's resolution (2 h of past at 15 min,
    6 h at hourly resolution)."""
    step = data.freq
    lags = max(round(pd.Timedelta("2h") / step), 6)
    if horizon is None:
        horizon = 4 if step <= pd.Timedelta("15min") else 1
    return {"lags": lags, "horizon": int(horizon)}


def run_forecast(
    data: str | Path | SolarData,
    horizon: int | None = None,
    kinds: tuple[str, ...] = ("iclrnn",),
    out: str | Path | None = None,
    test_fraction: float = 0.2,
    qc: bool = True,
    plots: bool = True,
    load_kwargs: dict[str, Any] | None = None,
    **model_params: Any,
) -> dict[str, Any]:
    """Fit forecasters on the first 80 % and score them on the held-out last 20 %.

    Returns
    -------
    dict
        ``dataset``, ``resolution`` (text) and ``resolution_minutes`` (the data
        step [min]), ``n_train``, ``n_test`` (issue times scored), ``cut``,
        ``horizons`` (first kind; ``n`` = daytime samples scored at that lead),
        ``models`` (per kind: ``horizons``, ``history``), ``qc`` report,
        ``warnings`` (a lead scored on fewer than :data:`MIN_SCORED_SAMPLES`
        daytime samples) and ``files`` written under ``out``; with ``out``, every
        fitted forecaster is saved in ``out/models/KIND`` (``models[KIND]["model"]``;
        ``model``: the first kind's, else None), to forecast again with
        :func:`run_predict` without training.
    """
    d, qc_report = prepare(data, qc=qc, **(load_kwargs or {}))
    params = {**default_forecast_params(d, horizon), **model_params}
    cut = chronological_cut(d, test_fraction)
    options = IrradianceForecaster(**params).window_options()  # same for all kinds
    windows = make_windows(d, params["lags"], params["horizon"], **options)
    summary: dict[str, Any] = {
        "dataset": d.card.get("name", d.card.get("source", "")),
        "target": d.target,
        "site": d.site.to_dict(),
        "resolution": str(d.freq),
        "resolution_minutes": d.freq / pd.Timedelta("1min"),
        "cut": str(cut),
        "params": params,
        "qc": qc_report,
        "reader_report": {k: v for k, v in d.report.items() if k != "qc"},
        "models": {},
        "model": None,  # the first kind's saved folder, with out
    }
    results = {}
    models = {}
    first_frames = None
    for kind in kinds:
        t0 = time.perf_counter()
        model = IrradianceForecaster(kind=kind, **params).fit(
            d, end=cut, windows=windows
        )
        res = evaluate(model, d, cut, windows=windows)
        summary["models"][kind] = {
            "horizons": res["horizons"],
            "history": {
                k: v for k, v in model.history_.items() if k not in ("train_loss",)
            },
            "seconds": time.perf_counter() - t0,
        }
        results[kind] = res["horizons"]
        models[kind] = model
        summary.setdefault("n_train", model.history_["n_train"])
        summary.setdefault("n_test", res["n_test"])
        if first_frames is None:
            first_frames = res["frames"]
            first_model = model
    summary["horizons"] = [
        {
            k: h[k]
            for k in (
                "steps",
                "rmse",
                "mae",
                "mbe",
                "skill_vs_smart_persistence",
                "rmse_reference",
                "nrmse",
                "n",
            )
        }
        for h in results[kinds[0]]
    ]
    summary["n_note"] = (
        "n_test: issue times in the held-out period with a forecast; n (per "
        "horizon): the daytime samples that were scored (all metrics use them)"
    )
    summary["warnings"] = qc_report.get("warnings", []) + [
        f"{kind} +{h['steps']} step: skill from only {h['n']} daytime test samples "
        f"(fewer than {MIN_SCORED_SAMPLES}): treat it as anecdotal"
        for kind, horizons in results.items()
        for h in horizons
        if h["n"] < MIN_SCORED_SAMPLES
    ]
    if out is not None:
        out = open_output(out, "metrics.json")
        files = {}
        assert first_frames is not None
        write_forecast_table(first_frames, out / "forecast_test.csv")
        files["forecast_csv"] = str(out / "forecast_test.csv")
        for kind, model in models.items():
            folder = model.save(out / "models" / kind)
            summary["models"][kind]["model"] = str(folder)
        summary["model"] = summary["models"][kinds[0]]["model"]
        files["model"] = summary["model"]
        spec = first_model.export_spec()
        with open(out / "model_spec.json", "w") as f:
            json.dump(sanitize(_listify(spec)), f)
        files["model_spec"] = str(out / "model_spec.json")
        if plots:
            from iclcontrol.solar import plots as P

            files["plot_days"] = str(
                P.plot_forecast_days(first_frames, out / "forecast_days.png")
            )
            files["plot_hour"] = str(
                P.plot_error_by_hour(first_frames, out / "error_by_hour.png")
            )
            files["plot_skill"] = str(
                P.plot_skill_by_horizon(results, out / "skill_by_horizon.png")
            )
        summary["files"] = files
        write_summary(out / "metrics.json", sanitize(summary))
    return sanitize(summary)


def write_forecast_table(frames: dict[str, pd.DataFrame], path: Path) -> Path:
    """Write the forecast, smart persistence and measured values per issue time.

    Parameters
    ----------
    frames : dict
        ``forecast``, ``persistence`` and ``truth`` frames of
        :func:`~iclcontrol.solar.forecast.evaluate` (issue time x ``h1..hH``).
        [W/m^2]
    path : pathlib.Path
        The CSV file: column ``issue_time``, then ``forecast_h1..``,
        ``persistence_h1..``, ``measured_h1..``.

    Returns
    -------
    pathlib.Path
    """
    fc = frames["forecast"].add_prefix("forecast_")
    pe = frames["persistence"].add_prefix("persistence_")
    tr = frames["truth"].add_prefix("measured_")
    pd.concat([fc, pe, tr], axis=1).to_csv(path, index_label="issue_time")
    return path


def predict_load_kwargs(model: Any, load_kwargs: dict[str, Any]) -> dict[str, Any]:
    """Reader arguments for new data of a saved forecaster: what the user gave,
    completed with what the forecaster was fit on.

    A plain table (``time_column`` given) takes the forecaster's target column,
    covariates, time zone (of naive timestamps) and site unless given; a named
    dataset or weather file carries its own site and clock and takes the target,
    and the forecaster's zone when that has daylight saving (as ``tz``: a
    typical year converted to such a zone lies in another year). ``predict``
    then refuses data of another site, target or step.
    """
    kw = dict(load_kwargs)
    kw.setdefault("target", model.target_)
    if kw.get("time_column") is None:
        # a weather file converted to a daylight-saving zone has its typical year
        # in another year (data.TYPICAL_YEAR_IN_ZONE): read it in the forecaster's
        # zone, so that the run's cut (--start) names the same hours
        from iclcontrol.solar.data import TYPICAL_YEAR_IN_ZONE, has_daylight_saving

        tz = getattr(model, "tz_", None)
        if tz is not None and has_daylight_saving(tz, TYPICAL_YEAR_IN_ZONE):
            kw.setdefault("tz", str(tz))
        return kw
    columns = [
        *getattr(model, "covariates", ()),
        *getattr(model, "future_covariates", ()),
    ]
    if columns:  # with the columns given (another forecaster's), not the target
        given = list(kw.get("covariates", ()))
        new = [c for c in columns if c not in given and c != kw["target"]]
        kw["covariates"] = given + new
    if model.tz_ is not None:
        kw.setdefault("tz", str(model.tz_))
    if kw.get("latitude") is None and kw.get("longitude") is None:
        for name in ("latitude", "longitude", "surface_tilt", "surface_azimuth"):
            kw.pop(name, None)
        if kw.pop("label", None) not in (None, model.site_.label):
            raise ConfigError(
                f"--label: the forecaster was fit on timestamps labelled "
                f"{model.site_.label!r}; give data labelled so (or --latitude and "
                "--longitude with the label, for another site)"
            )
        kw["site"] = model.site_
    return kw


def run_predict(
    model: str | Path,
    data: str | Path | SolarData,
    start: Any = None,
    horizon: int | None = None,
    out: str | Path | None = None,
    qc: bool = True,
    load_kwargs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Forecast with a saved forecaster on new data, without training.

    Parameters
    ----------
    model : str or pathlib.Path
        A model folder written by ``IrradianceForecaster.save`` (``solar forecast
        --out DIR`` writes ``DIR/models/KIND``).
    data : str, pathlib.Path or SolarData
        Named dataset or file (read as by :func:`prepare`, completed by
        :func:`predict_load_kwargs`).
    start : str, timestamp or None
        First issue time (local time of the data without a zone); None: all.
        The training run's ``cut`` gives its held-out forecasts again.
    horizon : int or None
        Steps ahead, at most the fitted horizon; None: the fitted one.
    out : str, pathlib.Path or None
        Folder for ``forecast.csv`` (see :func:`write_forecast_table`) and
        ``predict.json``.
    qc : bool
        Quality control of the data, as the training run did by default.

    Returns
    -------
    dict
        ``model`` (folder), ``kind``, ``dataset``, ``target``, ``site``,
        ``training_data`` (the forecaster's record), ``start``, ``n_test`` (issue
        times with a forecast), ``horizons`` (metrics per lead against smart
        persistence where measured, as in :func:`run_forecast`), ``latest``
        (issue time and ``h1..hH`` of the last issue time with a forecast
        [W/m^2]), ``qc``, ``warnings``, ``files``.
    """
    from iclcontrol.solar.persist import load_forecaster
    from iclcontrol.solar.scenarios import AnalogDayScenarios

    forecaster = load_forecaster(model)
    if isinstance(forecaster, AnalogDayScenarios):
        raise ConfigError(
            f"{model} holds analog-day scenarios, not a forecaster; give the folder "
            "of a forecaster (solar forecast --out DIR saves them in DIR/models/KIND)"
        )
    kw = predict_load_kwargs(forecaster, load_kwargs or {})
    d, qc_report = prepare(data, qc=qc, **({} if isinstance(data, SolarData) else kw))
    res = evaluate(forecaster, d, start, horizon=horizon)
    fc = res["frames"]["forecast"]
    valid = fc.dropna(how="all")
    latest = (
        {"issue_time": str(valid.index[-1]), **valid.iloc[-1].to_dict()}
        if len(valid)
        else None
    )
    summary: dict[str, Any] = {
        "model": str(model),
        "kind": getattr(forecaster, "kind", type(forecaster).__name__),
        "dataset": d.card.get("name", d.card.get("source", "")),
        "target": d.target,
        "site": d.site.to_dict(),
        "training_data": forecaster.training_data_,
        "start": None if start is None else str(start),
        "n_test": res["n_test"],
        "horizons": res["horizons"],
        "latest": latest,
        "qc": qc_report,
        "reader_report": {k: v for k, v in d.report.items() if k != "qc"},
        "warnings": list(qc_report.get("warnings", [])),
    }
    if out is not None:
        folder = open_output(out, "predict.json")
        path = write_forecast_table(res["frames"], folder / "forecast.csv")
        summary["files"] = {"forecast_csv": str(path)}
        write_summary(folder / "predict.json", sanitize(summary))
    return sanitize(summary)


def _listify(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _listify(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_listify(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return obj


# -- planning ----------------------------------------------------------------------
#: Fewest days of valid data a plan may be annualized from.
MIN_PLAN_DAYS = 28.0
#: Largest distance of the site from the zone's meridian for UTC data. [deg]
MAX_UTC_LONGITUDE = 7.5


def _with_air(weather: pd.DataFrame, d: SolarData) -> pd.DataFrame:
    """``weather`` plus the data's ``temp_air`` and ``wind_speed`` columns (the PV
    cell temperature model's inputs) where it has them."""
    for c in ("temp_air", "wind_speed"):
        if c in d.frame:
            weather[c] = d.frame[c]
    return weather


#: Longest gap of ``temp_air`` or ``wind_speed`` filled by interpolation. [time]
MAX_AIR_GAP = pd.Timedelta("3h")
#: Plausible ``temp_air`` [degC] and ``wind_speed`` [m/s] (beyond the records of
#: -89 degC and 113 m/s): values outside are missing-value codes, filled.
AIR_RANGES = {"temp_air": (-90.0, 60.0), "wind_speed": (0.0, 115.0)}


def fill_weather(
    weather: pd.DataFrame,
) -> tuple[pd.DataFrame, dict[str, dict[str, int]]]:
    """Weather for the PV chain without missing values, and what was filled.

    Missing irradiance becomes 0 (those steps are not counted as covered).
    Missing ``temp_air`` [degC] and ``wind_speed`` [m/s] are interpolated in time
    over gaps up to :data:`MAX_AIR_GAP` between two measurements; longer gaps and
    gaps at the ends take the values the PV chain uses without the column
    (:data:`plants.pv.DEFAULT_TEMP_AIR`, 20 degC; ``DEFAULT_WIND_SPEED``, 1 m/s).
    A missing air temperature is not 0 degC: that would overstate the PV output
    by about 0.4 % per kelvin. Values outside :data:`AIR_RANGES` (missing-value
    codes such as -999) count as missing.

    Returns
    -------
    weather : pandas.DataFrame
    filled : dict
        Per air column with missing values: ``{"interpolated": n, "default": m,
        "out_of_range": k}`` (counts of steps; the ``k`` out-of-range values are
        among the ``n + m`` filled).
    """
    from iclcontrol.solar.features import index_step
    from plants.pv import DEFAULT_TEMP_AIR, DEFAULT_WIND_SPEED

    defaults = {"temp_air": DEFAULT_TEMP_AIR, "wind_speed": DEFAULT_WIND_SPEED}
    out = weather.copy()
    filled: dict[str, dict[str, int]] = {}
    for col, default in defaults.items():
        if col not in out:
            continue
        low, high = AIR_RANGES[col]
        out_of_range = ~out[col].between(low, high) & out[col].notna()
        values = out[col].where(~out_of_range)
        missing = values.isna()
        if not missing.any():
            continue
        gap_steps = missing.groupby((~missing).cumsum()).transform("sum")
        short = missing & (gap_steps * index_step(out.index) <= MAX_AIR_GAP)
        between = values.interpolate(method="time", limit_area="inside")
        values = values.where(~short, between)
        interpolated = int((short & values.notna()).sum())
        filled[col] = {
            "interpolated": interpolated,
            "default": int(missing.sum()) - interpolated,
            "out_of_range": int(out_of_range.sum()),
        }
        out[col] = values.fillna(default)
    irradiance = [c for c in out.columns if c not in defaults]
    out[irradiance] = out[irradiance].fillna(0.0)
    return out, filled


def _fill_note(filled: dict[str, dict[str, int]]) -> str | None:
    """A note on what :func:`fill_weather` filled; ``None`` when nothing."""
    from plants.pv import DEFAULT_TEMP_AIR, DEFAULT_WIND_SPEED

    defaults = {
        "temp_air": f"{DEFAULT_TEMP_AIR:g} degC",
        "wind_speed": f"{DEFAULT_WIND_SPEED:g} m/s",
    }
    parts = [
        f"{col}: {n['interpolated']} missing values interpolated (gaps up to "
        f"{MAX_AIR_GAP / pd.Timedelta('1h'):g} h), {n['default']} set to "
        f"{defaults[col]} (longer gaps)"
        + (
            f", of them {n['out_of_range']} out of range {AIR_RANGES[col]}"
            if n["out_of_range"]
            else ""
        )
        for col, n in filled.items()
    ]
    return "; ".join(parts) or None


def _weather_for_plant(d: SolarData) -> tuple[pd.DataFrame, str | None]:
    """Weather for the PV chain (NaN where missing) and a note when DNI and DHI
    were derived from GHI.

    GHI, DNI and DHI are used as given; plane-of-array data is used directly. With
    GHI alone, DNI and DHI come from pvlib's Erbs decomposition
    (``pvlib.irradiance.erbs``) at the sun position of each period. The data's
    ``temp_air`` [degC] and ``wind_speed`` [m/s] come along in every case (a
    plane-of-array table's were dropped).
    """
    cols = [c for c in ("ghi", "dni", "dhi", "temp_air", "wind_speed") if c in d.frame]
    if {"ghi", "dni", "dhi"} <= set(cols):
        return d.frame[cols], None
    if d.site.is_poa:
        return _with_air(
            pd.DataFrame({"poa_global": d.y}, index=d.frame.index), d
        ), None
    ghi_col = (
        "ghi" if "ghi" in d.frame else (d.target if "ghi" in d.target.lower() else None)
    )
    if ghi_col is None:
        raise ConfigError(
            "PV power needs GHI (DNI and DHI are then derived with pvlib's Erbs "
            "model), GHI, DNI and DHI, or plane-of-array irradiance with the site's "
            "tilt and azimuth (--surface-tilt, --surface-azimuth); the target "
            f"{d.target!r} is none of these"
        )
    import pvlib

    from iclcontrol.solar.features import solar_geometry

    ghi = d.frame[ghi_col].astype(float)
    zen = solar_geometry(d)["zenith"]
    parts = pvlib.irradiance.erbs(ghi, zen, ghi.index.day_of_year)
    w = pd.DataFrame(
        {"ghi": ghi, "dni": parts["dni"], "dhi": parts["dhi"]}, index=d.frame.index
    )
    return _with_air(w, d), (
        f"only GHI ({ghi_col!r}) given: DNI and DHI derived with pvlib.irradiance.erbs"
    )


def _is_utc(tz: Any) -> bool:
    name = str(tz).upper()
    if name in ("UTC", "ETC/UTC", "GMT", "ETC/GMT", "Z", "UTC+00:00", "UTC-00:00"):
        return True
    return False


def check_local_clock(d: SolarData) -> None:
    """Tariff and load hours are local time: refuse UTC data far from Greenwich.

    Raises
    ------
    ConfigError
        When the data's zone is UTC and the site is more than
        :data:`MAX_UTC_LONGITUDE` degrees from the prime meridian (the local clock
        then differs from UTC by at least half an hour of solar time). The message
        suggests a standard-time zone from the longitude.
    """
    tz = d.frame.index.tz
    lon = d.site.longitude
    if _is_utc(tz) and abs(lon) > MAX_UTC_LONGITUDE:
        hours = round(lon / 15.0)
        zone = "Etc/GMT" + (f"{-hours:+d}" if hours else "")
        raise ConfigError(
            f"the timestamps are in UTC but tariff and load hours are local time and "
            f"the site is at longitude {lon:g} deg (about UTC{hours:+d}); pass --tz "
            f"ZONE (or tz=... to load_solar), e.g. --tz {zone} (standard time from "
            "the longitude) or the site's IANA zone"
        )


def array_orientation(
    d: SolarData,
    surface_tilt: float | None = None,
    surface_azimuth: float | None = None,
) -> dict[str, Any]:
    """Tilt and azimuth of the PV array for a site, and where they come from.

    Parameters
    ----------
    d : SolarData
    surface_tilt, surface_azimuth : float or None
        The user's array [deg] (azimuth 180 = south). None: a plane-of-array
        dataset's own plane, else tilt = |latitude| facing the equator
        (:func:`plants.pv.equator_facing_orientation`, the plant's default too).

    Returns
    -------
    dict
        ``surface_tilt``, ``surface_azimuth`` [deg] and ``source`` (text).

    Raises
    ------
    ConfigError
        Only one of the two given, a tilt outside [0, 90] or an azimuth outside
        [0, 360] deg, or a plane other than a plane-of-array dataset's (its
        irradiance was measured in that plane only).
    """
    given = (surface_tilt is not None, surface_azimuth is not None)
    if any(given) and not all(given):
        raise ConfigError(
            "give both the array's tilt and azimuth (CLI --array-tilt, "
            f"--array-azimuth) or neither; got tilt={surface_tilt}, "
            f"azimuth={surface_azimuth}"
        )
    if surface_tilt is not None and not 0.0 <= surface_tilt <= 90.0:
        raise ConfigError(
            f"the array's tilt (surface_tilt, CLI --array-tilt) must be in [0, 90] "
            f"deg (0 = horizontal), got {surface_tilt}"
        )
    if surface_azimuth is not None and not 0.0 <= surface_azimuth <= 360.0:
        raise ConfigError(
            f"the array's azimuth (surface_azimuth, CLI --array-azimuth) must be in "
            f"[0, 360] deg (180 = south), got {surface_azimuth}"
        )
    site_tilt, site_azimuth = d.site.surface_tilt, d.site.surface_azimuth
    if site_tilt is not None and site_azimuth is not None:  # plane-of-array data
        plane = (float(site_tilt), float(site_azimuth))
        if (
            surface_tilt is not None
            and surface_azimuth is not None
            and (float(surface_tilt), float(surface_azimuth)) != plane
        ):
            raise ConfigError(
                f"the data are plane-of-array irradiance measured at tilt {plane[0]:g}"
                f", azimuth {plane[1]:g} deg: the array can only be in that plane "
                "(leave --array-tilt/--array-azimuth out, or give GHI data)"
            )
        return {
            "surface_tilt": plane[0],
            "surface_azimuth": plane[1],
            "source": "the plane of the measured plane-of-array irradiance",
        }
    if surface_tilt is not None and surface_azimuth is not None:
        return {
            "surface_tilt": float(surface_tilt),
            "surface_azimuth": float(surface_azimuth),
            "source": "given",
        }
    from plants.pv import equator_facing_orientation

    tilt, azimuth = equator_facing_orientation(d.site.latitude)
    return {
        "surface_tilt": tilt,
        "surface_azimuth": azimuth,
        "source": "default: tilt = |latitude|, facing the equator",
    }


def _plant_for(
    d: SolarData,
    kwp: float,
    battery: Any = None,
    orientation: dict[str, Any] | None = None,
) -> Any:
    """The PV + battery plant of a site; ``orientation`` from
    :func:`array_orientation` (default: its defaults)."""
    from plants.pv import BatteryParameters, PVArrayParameters, PVBatteryPlant

    o = orientation or array_orientation(d)
    return PVBatteryPlant(
        d.site.latitude,
        d.site.longitude,
        d.site.altitude,
        array=PVArrayParameters(
            kwp=kwp,
            surface_tilt=o["surface_tilt"],
            surface_azimuth=o["surface_azimuth"],
        ),
        battery=battery or BatteryParameters(),
        dt_h=d.freq / pd.Timedelta("1h"),
    )


def _plan_year(d: SolarData, covered: pd.Series) -> tuple[SolarData, str | None]:
    """One year of data: the calendar year with the most valid steps when the data
    spans more than a year (a plan is over one year; a multi-year LP is slow and
    would weight the years unequally). ``None`` note when nothing was cut."""
    idx = d.frame.index
    if idx[-1] - idx[0] <= pd.Timedelta(days=366):
        return d, None
    per_year = covered.groupby(idx.year).sum()
    year = int(per_year.idxmax())
    sub = d.slice(str(year), str(year))
    return sub, (
        f"the data span {per_year.size} calendar years; the plan uses {year}, the "
        f"most complete ({int(per_year.max())} valid steps)"
    )


def _fill_by_hour(pv: pd.Series) -> pd.Series:
    """Missing PV from the mean of the same month and time of day (else the same
    time of day over all months) over the covered steps."""
    idx = pv.index
    tod = idx.hour * 60 + idx.minute
    by_month = pv.groupby([idx.month, tod]).transform("mean")
    by_tod = pv.groupby(tod).transform("mean")
    return pv.fillna(by_month).fillna(by_tod).fillna(0.0)


#: Units of the numbers in :func:`run_plan`'s summary (``units`` in plan.json).
PLAN_UNITS: dict[str, str] = {
    "kwp": "kWp",
    "kwh": "kWh",
    "annual_cost": "$/a",
    "investment_cost": "$/a",
    "energy_cost": "$/a",
    "baseline_cost": "$/a",
    "savings_vs_grid_only": "$/a",
    "import_kwh": "kWh/a",
    "export_kwh": "kWh/a",
    "curtailed_kwh": "kWh/a",
    "annual_load_kwh": "kWh/a",
    "pv_yield_kwh_per_kwp": "kWh/(kWp a)",
    "solve_s": "s",
    "costs.pv_per_kwp_year": "$/(kWp a)",
    "costs.battery_per_kwh_year": "$/(kWh a)",
    "costs.battery_c_rate": "kW/kWh",
    "costs.max_kwp": "kWp",
    "costs.max_kwh": "kWh",
    "tariff.offpeak, tariff.shoulder, tariff.peak, tariff.export": "$/kWh",
    "tariff.export_limit_kw": "kW",
    "array.surface_tilt, array.surface_azimuth": "deg",
    "battery.soc_min, battery.soc_max": "fraction of kwh",
    "coverage.covered_days": "d",
    "coverage.sizing_step_minutes": "min",
}


def sizing_status_warning(status: str, costs: Any, tariff: Any) -> str:
    """What a sizing LP without an optimum means for the user, and the fix.

    Parameters
    ----------
    status : str
        Termination condition of HiGHS (``"unbounded"``, ``"infeasible"``, ...).
    costs : iclcontrol.solar.planning.SizingCosts
    tariff : iclcontrol.solar.planning.Tariff
    """
    open_bounds = [
        f"{name} (CLI --{name.replace('_', '-')})"
        for name in ("max_kwp", "max_kwh")
        if getattr(costs, name) is None
    ]
    if "unbounded" in status.lower():
        cause = (
            "a size that earns more per year than it costs grows without limit: "
            f"exported PV at {tariff.export:g} $/kWh pays more than "
            f"{costs.pv_per_kwp_year:g} $/(kWp a), or the battery buys at one "
            "price and sells at a higher one"
        )
        fix = (
            f"give {' and '.join(open_bounds)} a finite value"
            if open_bounds
            else "check the prices and costs"
        )
    else:
        cause = "the sizing problem has no solution HiGHS could report"
        fix = "check the costs, bounds, prices and load"
    return f"the sizing LP is {status}: no sizes, costs or schedule ({cause}); {fix}"


def run_plan(
    site: str | Path | SolarData,
    load: str = "residential",
    out: str | Path | None = None,
    costs: Any = None,
    tariff: Any = None,
    load_kwargs: dict[str, Any] | None = None,
    qc: bool = True,
    min_days: float = MIN_PLAN_DAYS,
    surface_tilt: float | None = None,
    surface_azimuth: float | None = None,
    battery: Any = None,
    verbose: bool | None = None,
    load_label: str = "start",
) -> dict[str, Any]:
    """Size PV (kWp) and battery (kWh) for a site and load over its weather year.

    Steps: load; refuse UTC timestamps far from Greenwich
    (:func:`check_local_clock`: tariff and load hours are local); quality control
    as in forecast/operate (``qc=False``: none); one year when the data span more
    (the calendar year with most valid steps); PV per kWp from the weather (GHI
    alone is decomposed with Erbs); sub-hourly profiles averaged to hours; missing
    steps (gaps, QC-flagged values) filled with the mean PV of the same month and
    hour (never zero PV); sizing LP (:func:`iclcontrol.solar.planning.size_system`)
    with tariff and load evaluated at each period's start.

    Parameters
    ----------
    site : str, pathlib.Path or SolarData
        A named dataset (:data:`iclcontrol.solar.data.DATASETS`), a weather file or
        a table (read with ``load_kwargs``, see
        :func:`iclcontrol.solar.data.load_solar`), or loaded data.
    load : str
        Load profile: ``"residential[:SCALE]"``, ``"flat:KW"`` or the path of a
        CSV with ``time`` and ``load_kw`` columns
        (:func:`iclcontrol.solar.planning.load_with_report`).
    load_label : {"start", "end"}
        What the load CSV's times stand for: the start of each row's period, or
        its end (a meter's stamp; moved one file step back).
    out : str, pathlib.Path or None
        Folder for plan.json and sizing_schedule.csv; None: no files.
    costs : SizingCosts or None
        Annualized PV and battery costs and size limits; None: ``SizingCosts()``.
    tariff : Tariff or None
        Import and export prices; None: ``Tariff()`` (time of use).
    load_kwargs : dict or None
        Keyword arguments of :func:`iclcontrol.solar.data.load_solar` for a table
        (``time_column``, ``target``, ``tz``, ``latitude``, ...).
    qc : bool
        Run quality control first.
    min_days : float
        Fewest days of valid data; fewer raise ``DataError``. [d]
    surface_tilt, surface_azimuth : float or None
        The PV array's plane [deg] (azimuth 180 = south); None: tilt =
        |latitude| facing the equator (a plane-of-array dataset: its plane),
        :func:`array_orientation`.
    battery : plants.pv.BatteryParameters or None
        Its efficiencies and state-of-charge bounds are the sized battery's (its
        capacity and power are what the LP chooses: ignored; the power per kWh is
        ``costs.battery_c_rate``). None: ``BatteryParameters()`` (0.95, 0.95,
        0.1-0.9).
    verbose : bool or None
        Progress lines on stderr around the sizing LP (a year takes tens of
        seconds); None: only when stderr is a terminal
        (:func:`iclcontrol.progress.progress_enabled`).

    Returns
    -------
    dict
        Sizes and costs (annual), ``pv_yield_kwh_per_kwp`` (mean PV over the covered
        steps x 8760 h), ``coverage`` (steps, missing steps, covered days, gap
        fill), ``array`` (tilt and azimuth used [deg] and their source),
        ``battery`` (efficiencies and state-of-charge bounds used),
        ``at_bound`` (``kwp``/``kwh`` at ``max_kwp``/``max_kwh``),
        ``units`` (:data:`PLAN_UNITS`, the unit of every number),
        ``weather_fill`` (missing ``temp_air``/``wind_speed`` values filled,
        :func:`fill_weather`), ``load_report``, ``qc``, ``notes``, ``warnings``
        (with those of quality control) and, with ``out``,
        ``files`` (``plan``: plan.json, ``schedule``: sizing_schedule.csv, the
        sizing LP's hourly schedule, ``plot``: plan.png, the monthly energy).
    """
    from iclcontrol.solar.planning import (
        SizingCosts,
        Tariff,
        check_load_label,
        load_with_report,
        size_system,
    )

    check_load_label(load_label)  # before the weather is read
    d = site if isinstance(site, SolarData) else load_solar(site, **(load_kwargs or {}))
    check_local_clock(d)
    orientation = array_orientation(d, surface_tilt, surface_azimuth)
    costs = costs or SizingCosts()
    tariff = tariff or Tariff()
    notes: list[str] = []
    warnings_: list[str] = []
    d, qc_report = prepare(d, qc=qc)
    warnings_ += qc_report.get("warnings", [])
    weather, note = _weather_for_plant(d)
    needed = [c for c in ("ghi", "dni", "dhi", "poa_global") if c in weather]
    covered = weather[needed].notna().all(axis=1) & d.y.notna()
    d, note_year = _plan_year(d, covered)
    if note_year:
        notes.append(note_year)
        weather, note = _weather_for_plant(d)
        covered = covered.reindex(d.frame.index, fill_value=False)
    if note:
        notes.append(note)
    missing_weather = [c for c in ("temp_air", "wind_speed") if c not in weather]
    if missing_weather:
        notes.append(
            f"no {' or '.join(missing_weather)} column: the PV cell temperature "
            "uses 20 degC air and 1 m/s wind there; name a table's columns "
            "temp_air [degC] and wind_speed [m/s] (and pass them with --covariates)"
        )
    step = d.freq
    covered_days = float(covered.sum() * (step / pd.Timedelta("1D")))
    if covered_days < min_days:
        raise DataError(
            f"only {covered_days:.1f} days of valid data ({int(covered.sum())} of "
            f"{len(covered)} steps); a plan annualizes a year and needs at least "
            f"{min_days:g} days (min_days; CLI --min-days)"
        )
    plant = _plant_for(d, kwp=1.0, battery=battery, orientation=orientation)
    weather, weather_fill = fill_weather(weather)
    fill_note = _fill_note(weather_fill)
    if fill_note:
        notes.append(fill_note)
    pv_raw = plant.pv_ac_kw(weather, label=d.site.label)
    pv_raw = pv_raw.where(covered)
    yield_kwh = float(pv_raw.mean() * 8760.0)
    pv1 = _fill_by_hour(pv_raw)
    loadp, load_rep = load_with_report(
        load, d.frame.index, d.site.label, load_label=load_label
    )
    warnings_ += load_rep.get("warnings", [])
    if load_rep.get("note"):
        notes.append(load_rep["note"])
    index, label = d.frame.index, d.site.label
    price = pd.Series(tariff.import_price(index, label), index=index)
    if step < pd.Timedelta("1h"):
        # hourly means for sizing: energy is kept, the LP is smaller
        from iclcontrol.solar.features import period_starts

        starts = period_starts(index, label)
        hourly = (
            pd.DataFrame(
                {
                    "pv": pv1.to_numpy(),
                    "load": loadp.to_numpy(),
                    "price": price.to_numpy(),
                },
                index=starts,
            )
            .resample("1h")
            .mean()
            .dropna()
        )
        pv1_lp, load_lp, price_lp = hourly["pv"], hourly["load"], hourly["price"]
        dt = 1.0
        freqstr = pd.tseries.frequencies.to_offset(step).freqstr
        notes.append(f"{freqstr} profiles averaged to hours for the sizing LP")
        lp_index = hourly.index
    else:
        pv1_lp, load_lp, price_lp = pv1, loadp, price
        dt = plant.dt_h
        lp_index = index
    n_missing = int((~covered).sum())
    span_days = len(covered) * step / pd.Timedelta("1D")
    if n_missing:
        notes.append(
            f"{n_missing} missing or flagged steps filled with the mean PV of the same "
            "month and hour of day (a gap is not zero PV)"
        )
    if span_days < 360:
        warnings_.append(
            f"the data cover {span_days:.0f} days ({index[0].date()} to "
            f"{index[-1].date()}), not a year: annual figures extrapolate them and "
            "carry their season"
        )
    from iclcontrol.progress import progress_enabled

    show = progress_enabled(verbose)
    if show:
        print(
            f"iclcontrol: sizing LP over {len(pv1_lp)} periods of {dt:g} h with "
            "HiGHS (a year takes tens of seconds) ...",
            file=sys.stderr,
            flush=True,
        )
    res = size_system(
        pv1_lp.to_numpy(),
        load_lp.to_numpy(),
        dt,
        price_lp.to_numpy(),
        tariff.export,
        costs,
        plant.battery.eta_charge,
        plant.battery.eta_discharge,
        plant.battery.soc_min,
        plant.battery.soc_max,
        keep_schedule=out is not None,
        export_limit_kw=tariff.export_limit_kw,
    )
    if show:
        print(
            f"iclcontrol: sizing LP {res.status} in {res.solve_s:.1f} s",
            file=sys.stderr,
            flush=True,
        )
    if res.status != "optimal":
        warnings_.append(sizing_status_warning(res.status, costs, tariff))
    tol = 1e-6
    # a bound of 0 is the user leaving that part out (PV only), not a limit
    at_bound = {
        "kwp": bool(costs.max_kwp) and bool(res.kwp >= costs.max_kwp * (1 - tol)),
        "kwh": bool(costs.max_kwh) and bool(res.kwh >= costs.max_kwh * (1 - tol)),
    }
    for name, flag in at_bound.items():
        if flag:
            bound = "max_kwp" if name == "kwp" else "max_kwh"
            warnings_.append(
                f"the optimal {name} sits at its bound {bound}="
                f"{getattr(costs, bound):g}: the optimum is limited by it (raise it "
                "or check the load's units)"
            )
    summary = {
        "site": d.site.to_dict(),
        "load": load,
        "load_report": load_rep,
        "annual_load_kwh": float(load_lp.mean() * 8760.0),
        "pv_yield_kwh_per_kwp": yield_kwh,
        "pv_yield_note": "mean AC output per kWp over the covered steps x 8760 h",
        "units": PLAN_UNITS,
        "array": orientation,
        "coverage": {
            "steps": len(covered),
            "missing_steps": n_missing,
            "covered_fraction": float(covered.mean()),
            "covered_days": covered_days,
            "first": str(index[0]),
            "last": str(index[-1]),
            "gap_fill": "mean PV of the same month and hour of day",
            "sizing_step": str(pd.Timedelta(hours=dt)),
            "sizing_step_minutes": dt * 60.0,
        },
        "costs": costs.__dict__,
        "battery": {
            k: getattr(plant.battery, k)
            for k in ("eta_charge", "eta_discharge", "soc_min", "soc_max")
        },
        "tariff": tariff.to_dict(),
        "tariff_and_load_at": "period start (label minus one step for label=ending)",
        **res.to_dict(),
        "savings_vs_grid_only": res.baseline_cost - res.annual_cost,
        "at_bound": at_bound,
        "weather_fill": weather_fill,
        "qc": qc_report,
        "reader_report": {k: v for k, v in d.report.items() if k != "qc"},
        "notes": notes,
        "warnings": warnings_,
    }
    if out is not None:
        out = open_output(out, "plan.json")
        files = {"plan": str(out / "plan.json")}
        if res.schedule is not None:
            from iclcontrol.solar.plots import plot_plan

            res.schedule.index = lp_index
            res.schedule.to_csv(out / "sizing_schedule.csv")
            files["schedule"] = str(out / "sizing_schedule.csv")
            title = (
                f"plan: PV {res.kwp:.2f} kWp, battery {res.kwh:.2f} kWh, "
                f"{res.annual_cost:.0f} \\$/a (grid only {res.baseline_cost:.0f} \\$/a)"
            )
            files["plot"] = str(plot_plan(res.schedule, out / "plan.png", title))
        summary["files"] = files
        write_summary(out / "plan.json", sanitize(summary))
    return sanitize(summary)


# -- operation ---------------------------------------------------------------------
def dispatch_steps(dispatch_hours: float, step: Any) -> int:
    """Steps of data at ``step`` in a dispatch horizon of ``dispatch_hours`` [h]
    (rounded, at least 1)."""
    return max(round(pd.Timedelta(hours=dispatch_hours) / pd.Timedelta(step)), 1)


def long_forecast_params(
    data: SolarData, dispatch_hours: float = 24.0, **overrides: Any
) -> dict[str, Any]:
    """Parameters of a day-ahead forecaster covering a whole dispatch horizon.

    Direct outputs at the data resolution for every lead up to ``dispatch_hours``,
    the same past window as the short forecaster, :data:`CONTEXT_FEATURES` (daily
    clear-sky-index statistics and lead time), and training on hourly issue times.
    """
    step = pd.Timedelta(data.freq)
    base = default_forecast_params(data)
    params = {
        "lags": base["lags"],
        "horizon": dispatch_steps(dispatch_hours, step),
        "context": True,
        "stride": max(round(pd.Timedelta("1h") / step), 1),
        "epochs": 20,
        "time_limit_s": 900.0,
    }
    params.update(overrides)
    return params


def newsvendor_quantile(tariff: Any = None, battery: Any = None) -> float:
    """Quantile of the PV forecast that balances the two costs of a wrong one.

    PV that was forecast but does not come leaves the battery short at the peak:
    each kWh is bought at the peak price instead of being stored PV worth the
    export price, ``c_over = peak - export``. PV that comes unforecast replaced
    grid energy charged off-peak through both efficiencies and is exported,
    ``c_under = offpeak / (eta_charge eta_discharge) - export``. The newsvendor
    critical ratio ``c_under / (c_under + c_over)`` is the quantile to plan on
    (about 0.2 with the default tariff and battery).
    """
    from iclcontrol.solar.planning import Tariff
    from plants.pv import BatteryParameters

    t = tariff or Tariff()
    b = battery or BatteryParameters()
    c_over = t.peak - t.export
    c_under = t.offpeak / (b.eta_charge * b.eta_discharge) - t.export
    return float(c_under / (c_under + c_over))


#: Subfolders of ``run_operate(out=DIR)`` (``solar operate --out DIR``) that hold
#: the forecasters it trained (model folders, :mod:`iclcontrol.solar.persist`), by
#: role; ``solar operate --model DIR/models/short --day-ahead-model
#: DIR/models/day_ahead`` reuses them.
OPERATE_MODEL_FOLDERS = {
    "short": "models/short",
    "day_ahead": "models/day_ahead",
    "scenarios": "models/scenarios",
}

#: Python argument and CLI flag of each forecaster role of :func:`run_operate`.
_ROLE_NAMES = {
    "short": ("model", "--model"),
    "day_ahead": ("long_model", "--day-ahead-model"),
    "scenarios": ("scenario_model", "--scenarios-model"),
}


def load_operate_forecaster(value: Any, role: str) -> tuple[Any, str | None]:
    """The forecaster (or scenarios) of ``value`` and its folder (None for an
    object).

    A folder is loaded with :func:`~iclcontrol.solar.persist.load_forecaster`,
    its errors naming the argument of :func:`run_operate` (``role`` "short":
    ``model``, "day_ahead": ``long_model``, "scenarios": ``scenario_model``),
    the CLI flag and the folders that hold what the role takes.

    Parameters
    ----------
    value : IrradianceForecaster, AnalogDayScenarios, str, pathlib.Path or None
        A fitted forecaster (scenarios for "scenarios"), returned as is; a
        model folder; or None.
    role : {"short", "day_ahead", "scenarios"}

    Returns
    -------
    tuple
        The forecaster (None for None) and the folder as text (None unless
        loaded).

    Raises
    ------
    ModelFileError
        A missing, incomplete or corrupted folder.
    ConfigError
        A folder of another kind: scenarios or a reference forecast for a
        forecaster's role, a forecaster for the scenarios'.
    """
    from iclcontrol.exceptions import ModelFileError
    from iclcontrol.solar.persist import load_forecaster
    from iclcontrol.solar.scenarios import AnalogDayScenarios

    wanted = AnalogDayScenarios if role == "scenarios" else IrradianceForecaster
    if value is None or isinstance(value, wanted):
        return value, None
    arg, flag = _ROLE_NAMES[role]
    where = f"give DIR/{OPERATE_MODEL_FOLDERS[role]} of `solar operate --out DIR`"
    if role == "short":
        where += " or DIR/models/KIND of `solar forecast --out DIR`"
    try:
        model = load_forecaster(value)
    except ModelFileError as err:
        raise ModelFileError(f"{arg} ({flag}): {err}; {where}") from None
    if not isinstance(model, wanted):
        what = "analog-day scenarios" if role == "scenarios" else "a network forecaster"
        raise ConfigError(
            f"{arg} ({flag}): {value} holds {type(model).__name__}, not {what}; {where}"
        )
    return model, str(value)


def _check_operate_forecasters(
    model: IrradianceForecaster | None,
    long_model: IrradianceForecaster | None,
    dispatch_hours: float,
    full_horizon: bool,
) -> None:
    """Refuse given forecasters in the wrong role, before the data is read.

    A short forecaster (``model``) has no day-ahead context features (the
    day-ahead forecasters :func:`long_forecast_params` describes have them); a
    day-ahead one (``long_model``) must forecast the whole dispatch horizon.

    Raises
    ------
    ConfigError
        Naming the argument, its CLI flag and the fix.
    """
    if model is not None and getattr(model, "context", False):
        raise ConfigError(
            f"model (--model) is a day-ahead forecaster (day-ahead context "
            f"features, {model.horizon} leads); give it as long_model "
            "(--day-ahead-model) and a short forecaster (models/short) as model"
        )
    if long_model is None:
        return
    if not full_horizon:
        raise ConfigError(
            "long_model (--day-ahead-model) is not used without full_horizon "
            "(--short-only); drop one of them"
        )
    step = pd.Timedelta(long_model.freq_)
    needed = dispatch_steps(dispatch_hours, step)
    if long_model.horizon < needed:
        hours = long_model.horizon * step / pd.Timedelta("1h")
        short = (
            ""
            if getattr(long_model, "context", False)
            else " (it has no day-ahead context features: a short forecaster? "
            "give it as model (--model))"
        )
        raise ConfigError(
            f"long_model (--day-ahead-model) forecasts {long_model.horizon} steps "
            f"({hours:g} h) but the dispatch horizon is {needed} steps "
            f"(dispatch_hours={dispatch_hours:g}, --dispatch-hours){short}; give "
            f"--dispatch-hours {hours:g} or less, or leave out the day-ahead "
            "model to train one"
        )
    if model is not None and model.horizon >= needed:
        raise ConfigError(
            f"long_model (--day-ahead-model) is not used: the short forecaster's "
            f"{model.horizon} leads cover the {needed}-step dispatch horizon; drop "
            "it, or give a short forecaster with fewer leads"
        )


def _check_scenario_model(analogs: Any, scenarios: int, full_horizon: bool) -> int:
    """The scenario count of a given ``scenario_model``: its ``n_scenarios``,
    which ``scenarios`` (when not 0) must equal.

    Raises
    ------
    ConfigError
        Another count, or no full-horizon forecast to spread.
    """
    n = int(analogs.n_scenarios)
    if not full_horizon:
        raise ConfigError(
            "scenario_model (--scenarios-model) is not used without full_horizon "
            "(--short-only); drop one of them"
        )
    if scenarios not in (0, n):
        raise ConfigError(
            f"scenarios (--scenarios) is {scenarios} but the saved scenarios hold "
            f"{n}; give --scenarios {n} or leave it out (or leave out "
            "--scenarios-model to fit them again)"
        )
    return n


def _given(folder: str | None) -> str:
    """How a forecaster given to :func:`run_operate` came (progress lines)."""
    return f"loaded from {folder}" if folder else "given as an object"


def _check_forecaster_data(model: Any, d: SolarData, role: str) -> None:
    """Refuse data of another site, target or step than a given forecaster's (or
    analog-day scenarios'), before any training (``predict`` would refuse it only
    after).

    Raises
    ------
    DataError
        Naming the argument and its CLI flag.
    """
    from iclcontrol.solar.forecast import as_solar_data, check_fitted_step

    arg, flag = _ROLE_NAMES[role]
    try:
        as_solar_data(d, model)
        check_fitted_step(
            model,
            d,
            "give data at the fitted step, or leave it out to fit one on this data",
        )
    except DataError as err:
        raise DataError(f"{arg} ({flag}): {err}") from None


def _training_record(model: Any) -> dict[str, Any]:
    """The record of the data ``model`` was fit on (``training_data_``); for
    analog-day scenarios saved without one, the days they hold (first to last
    step)."""
    record = dict(getattr(model, "training_data_", {}) or {})
    days = getattr(model, "days_", None)
    if record or days is None:
        return record
    last = days[-1] + pd.Timedelta("1D") - pd.Timedelta(model.freq_)
    return {
        "source": "the days they hold, no training record",
        "first": str(days[0]),
        "last": str(last),
    }


def _training_overlap(
    model: Any, role: str, folder: str | None, period: tuple[Any, Any]
) -> str | None:
    """A warning when ``model``'s recorded training period overlaps the dispatch
    ``period`` (first, last label): forecasts on training data look better than
    they are. For a loaded model without a record, a warning that it cannot be
    checked; None otherwise."""
    from iclcontrol.solar.data import as_timestamp

    record = _training_record(model)
    name = {
        "short": "short forecaster",
        "day_ahead": "day-ahead forecaster",
        "scenarios": "analog-day scenarios",
    }[role]
    where = f" ({_ROLE_NAMES[role][1]} {folder})" if folder else ""
    if not (record.get("first") and record.get("last")):
        if folder is None:
            return None
        return (
            f"the {name}{where}: no training period recorded, so whether the "
            "dispatch period was part of the training data is not known"
        )
    tz = period[0].tz
    first, last = (as_timestamp(record[k], tz) for k in ("first", "last"))
    if first > period[1] or last < period[0]:
        return None
    return (
        f"the {name}{where}: fit on {first} .. {last} "
        f"({record.get('source') or 'unknown data'}), which overlaps the dispatch "
        f"period {period[0]} .. {period[1]}: forecasts on training data look "
        "better than they are; dispatch on later data or use ones fit on "
        "earlier data"
    )


def run_operate(
    data: str | Path | SolarData,
    kind: str = "iclrnn",
    days: float = 7.0,
    dispatch_hours: float = 24.0,
    kwp: float = 5.0,
    battery: Any = None,
    tariff: Any = None,
    load: str = "residential",
    out: str | Path | None = None,
    qc: bool = True,
    model: IrradianceForecaster | str | Path | None = None,
    full_horizon: bool = True,
    long_model: IrradianceForecaster | str | Path | None = None,
    long_params: dict[str, Any] | None = None,
    oracle_hours: tuple[float, ...] = (),
    extra_models: dict[str, Any] | None = None,
    scenarios: int = 0,
    load_kwargs: dict[str, Any] | None = None,
    surface_tilt: float | None = None,
    surface_azimuth: float | None = None,
    load_label: str = "start",
    progress: Callable[[str], None] | None = None,
    scenario_model: Any = None,
    **model_params: Any,
) -> dict[str, Any]:
    """Receding-horizon battery dispatch on the first ``days`` of the held-out period.

    The same LP and the same plant are driven by these PV forecasts, each
    ``clear-sky PV power x forecast clear-sky index`` (the plant itself is driven by
    the measured irradiance; forecasters are trained on the first 80 %):

    * ``perfect``: the measured PV over the whole dispatch horizon;
    * ``persistence``: smart persistence, the issue time's clear-sky index held
      over the whole horizon;
    * ``forecast_short``: the H-step forecaster (``model``), its last lead held
      beyond H;
    * ``oracle_h``: the measured clear-sky index over the short forecaster's H leads,
      held beyond (the best any H-step forecaster could do);
    * ``persistence_climatology`` (``full_horizon``): smart persistence over H leads,
      the training period's clear-sky index by month and hour beyond;
    * ``forecast`` (``full_horizon``): the operator's forecast over the whole
      horizon: the short forecaster over its H leads, the day-ahead forecaster
      (``long_model``, or one trained with :func:`long_forecast_params`, the short
      forecaster's ``lags``, ``embedding``, ``variability`` and covariates, and
      ``long_params``) beyond. Without
      ``full_horizon`` it is ``forecast_short``, and so it is when H covers the
      whole dispatch horizon (no day-ahead forecaster is trained then:
      ``forecasters["day_ahead"]`` is None);
    * ``oracle_<k>h`` for ``k`` in ``oracle_hours``: the measured index over the
      first ``k`` hours, the full-horizon forecast beyond;
    * one strategy per entry of ``extra_models`` (name -> fitted forecaster, e.g. a
      quantile forecaster): its forecast over all its leads, the last held beyond;
    * ``forecast_scenarios`` (``scenarios`` > 0 with ``full_horizon``): the
      stochastic LP over ``scenarios`` equally likely scenarios around ``forecast``,
      spread by analog days of the training period
      (:class:`iclcontrol.solar.scenarios.AnalogDayScenarios`).

    ``surface_tilt``, ``surface_azimuth`` [deg] orient the PV array as in
    :func:`run_plan` (:func:`array_orientation`); ``load`` and ``load_label``
    are read as there.

    ``model`` and ``long_model`` may be fitted forecasters or their saved
    folders (``out/models/short`` and ``out/models/day_ahead`` of an earlier run,
    :data:`OPERATE_MODEL_FOLDERS`; ``solar forecast --out DIR``'s
    ``DIR/models/KIND`` as ``model``): a given one is not trained. Before any
    training they are checked against the run: a short forecaster with day-ahead
    context features, a day-ahead one whose leads do not cover
    ``dispatch_hours``, and data of another site, target or step than theirs are
    refused. A table given as ``data`` takes its target, covariates, zone and site
    from a loaded forecaster unless ``load_kwargs`` give them
    (:func:`predict_load_kwargs`). When a given forecaster's recorded training
    period overlaps the dispatch period, ``warnings`` says so. ``progress``, if
    given, receives one line per forecaster (loaded from where, or trained).
    ``scenario_model`` (fitted :class:`~iclcontrol.solar.scenarios.
    AnalogDayScenarios` or the folder ``out/models/scenarios`` of an earlier run)
    replaces the analog days fit on this data's training period; ``scenarios``
    is then its ``n_scenarios`` (0 takes it; another count is refused), and its
    days overlapping the dispatch period give a warning (its step, site and
    target are checked as a forecaster's; older folders record no site).
    With ``out`` the forecasters trained are saved in
    :data:`OPERATE_MODEL_FOLDERS` under ``out`` (the analog-day scenarios too),
    as soon as they are fitted.

    Returns
    -------
    dict
        Costs per strategy, ``gap_closed`` = (C_persistence - C_forecast) /
        (C_persistence - C_perfect), ``gap_closed_short`` (same for
        ``forecast_short``), ``gap_closed_by`` (every strategy),
        ``gap_closed_interval`` (every strategy's 90 % bootstrap interval over days,
        :mod:`iclcontrol.solar.gap`), ``daily_costs`` (per day and strategy, [$]),
        ``import_kwh_by_price`` per strategy, ``weather_fill`` (as in
        :func:`run_plan`), ``qc`` and ``reader_report`` (what quality control
        flagged and the reader repaired: gaps, duplicates, ...), ``warnings``
        (quality control's and the load's, e.g. a load that looks like W),
        ``forecaster_sources`` (per role ``short``, ``day_ahead``, ``scenarios``:
        ``origin`` "loaded" or "trained", ``folder`` it was loaded from or saved
        in (None: not saved), ``training_data`` record; None for a role not
        used), with ``out`` ``files`` (operate.json, one dispatch CSV per
        strategy, the plots, the forecaster folders), and run details.
    """
    from iclcontrol.solar.forecast import ClearSkyIndexClimatology
    from iclcontrol.solar.planning import (
        Tariff,
        check_load_label,
        load_with_report,
        run_dispatch,
    )
    from plants.pv import BatteryParameters

    _check_operate_args(days, dispatch_hours, kwp, scenarios)
    check_load_label(load_label)
    loaded, short_folder = load_operate_forecaster(model, "short")
    model = cast("IrradianceForecaster | None", loaded)
    loaded, long_folder = load_operate_forecaster(long_model, "day_ahead")
    long_model = cast("IrradianceForecaster | None", loaded)
    _check_operate_forecasters(model, long_model, dispatch_hours, full_horizon)
    analogs, analogs_folder = load_operate_forecaster(scenario_model, "scenarios")
    if analogs is not None:
        scenarios = _check_scenario_model(analogs, scenarios, full_horizon)
    kw = dict(load_kwargs or {})
    if not isinstance(data, SolarData):
        for given in (model, long_model):
            if given is not None:
                kw = predict_load_kwargs(given, kw)
    d, qc_report = prepare(data, qc=qc, **kw)
    check_local_clock(d)
    orientation = array_orientation(d, surface_tilt, surface_azimuth)  # pre-fit
    for role, given in (("short", model), ("day_ahead", long_model)):
        if given is not None:  # before any training
            _check_forecaster_data(given, d, role)
    if analogs is not None:  # the site and target only if recorded (newer)
        _check_forecaster_data(analogs, d, "scenarios")
    params = {**default_forecast_params(d), **model_params}
    cut = chronological_cut(d)
    say = progress or (lambda line: None)
    sources: dict[str, Any] = {"short": None, "day_ahead": None, "scenarios": None}
    saved_to = None if out is None else open_output(out, "operate.json")

    def record(role: str, fitted: Any, origin: str, folder: str | None) -> None:
        """Where the forecaster of ``role`` comes from (``origin``: "trained",
        "loaded" from ``folder``, or "given" as an object); a trained one is
        saved under ``out``."""
        if origin == "trained" and saved_to is not None:
            folder = str(fitted.save(saved_to / OPERATE_MODEL_FOLDERS[role]))
        sources[role] = {
            "origin": origin,
            "folder": folder,
            "training_data": _training_record(fitted),
        }

    t_fit = time.perf_counter()
    if model is None:
        say(f"short forecaster: training {kind} ({params['horizon']} leads)")
        model = IrradianceForecaster(kind=kind, **params).fit(d, end=cut)
        record("short", model, "trained", None)
    else:
        say(f"short forecaster: {_given(short_folder)} (not trained)")
        record("short", model, "loaded" if short_folder else "given", short_folder)
    H = model.horizon
    step = d.freq
    n_dispatch = max(dispatch_steps(dispatch_hours, step), H)
    # the day-ahead forecaster only fills the leads beyond the short one's H
    if full_horizon and long_model is None and H < n_dispatch:
        # the day-ahead forecaster reads the same past window, features and
        # covariates as the short one (a user's lags=12 meant both; a loaded
        # short forecaster's are its own)
        short_params = model.get_params()
        shared: dict[str, Any] = {
            k: short_params[k]
            for k in (
                "lags",
                "embedding",
                "variability",
                "covariates",
                "future_covariates",
            )
        }
        lp = long_forecast_params(
            d, dispatch_hours, **{**shared, **(long_params or {})}
        )
        limit = lp.get("time_limit_s")
        say(
            f"day-ahead forecaster: training {model.kind} ({lp['horizon']} leads"
            + (f", up to {limit:g} s)" if limit else ")")
        )
        long_model = IrradianceForecaster(kind=model.kind, **lp).fit(d, end=cut)
        record("day_ahead", long_model, "trained", None)
    elif full_horizon and long_model is not None:
        say(f"day-ahead forecaster: {_given(long_folder)} (not trained)")
        origin = "loaded" if long_folder else "given"
        record("day_ahead", long_model, origin, long_folder)
    else:
        why = (
            "--short-only"
            if not full_horizon
            else f"the short one's {H} leads cover the dispatch horizon"
        )
        say(f"day-ahead forecaster: none ({why})")
    fit_s = time.perf_counter() - t_fit
    n_periods = round(pd.Timedelta(days=days) / step)
    battery = battery or BatteryParameters(capacity_kwh=2.0 * kwp, power_kw=0.5 * kwp)
    tariff = tariff or Tariff()
    plant = _plant_for(d, kwp, battery, orientation)

    # Periods: labels after the cut; period k is the step labelled L[k], decided at
    # issue time L[k-1] (the last measurement available).
    idx = d.frame.index
    first = int(idx.searchsorted(pd.Timestamp(cut))) + 1
    last = min(first + n_periods + n_dispatch, len(idx))
    if last - first < n_dispatch + 1:
        raise ConfigError("the held-out period is shorter than the dispatch horizon")
    others = [m for m in [long_model, *(extra_models or {}).values()] if m]
    pad = max([model.lags, *(m.lags for m in others)])
    if any(getattr(m, "context", False) for m in others):
        pad += round(pd.Timedelta("1D") / step)  # trailing daily statistics
    span = d.slice(idx[max(first - 1 - pad, 0)], idx[last - 1])
    weather, decomposition = _weather_for_plant(span)
    weather, weather_fill = fill_weather(weather)
    pv_true = plant.pv_ac_kw(weather, label=d.site.label)
    cs = clearsky_target(span)
    pv_clear = _clear_pv(plant, span, cs)
    fc = model.predict(span)  # issue-time indexed, h1..hH [W/m^2]
    pers = SmartPersistence(horizon=H, lags=model.lags).fit(span).predict(span)
    labels = span.frame.index
    pos0 = int(labels.searchsorted(idx[first]))
    n_run = min(n_periods, len(labels) - pos0 - n_dispatch + 1)
    cs_arr, pvc = cs.to_numpy(), pv_clear.to_numpy()
    pv_true_arr = pv_true.to_numpy()
    y_arr = span.y.to_numpy(float)

    def from_csi(pos: int, csi_lead: np.ndarray) -> np.ndarray:
        # csi_lead: forecast clear-sky index for leads 1..m; hold the last beyond
        full = np.empty(n_dispatch)
        m = min(csi_lead.size, n_dispatch)
        full[:m] = csi_lead[:m]
        full[m:] = csi_lead[m - 1]
        sl = slice(pos, pos + n_dispatch)
        return np.clip(full, 0.0, CSI_MAX) * pvc[sl]

    def ratio(vals: np.ndarray, c: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            k = np.where(c > 1.0, vals / np.maximum(c, 1e-9), 1.0)
        return np.where(np.isfinite(k), k, 1.0)

    def csi_of(frame: pd.DataFrame, pos: int) -> np.ndarray:
        m = frame.shape[1]
        issue = labels[pos - 1]
        vals = (
            frame.loc[issue].to_numpy(float)
            if issue in frame.index
            else np.full(m, np.nan)
        )
        c = cs_arr[pos : pos + m]
        return ratio(vals[: c.size], c)

    def oracle_csi(pos: int, n: int) -> np.ndarray:
        # the measured clear-sky index over the first n leads
        return ratio(y_arr[pos : pos + n], cs_arr[pos : pos + n])

    strategies: dict[str, Any] = {
        "perfect": lambda j: pv_true_arr[pos0 + j : pos0 + j + n_dispatch],
        "oracle_h": lambda j: from_csi(pos0 + j, oracle_csi(pos0 + j, H)),
        "persistence": lambda j: from_csi(pos0 + j, csi_of(pers, pos0 + j)),
        "forecast_short": lambda j: from_csi(pos0 + j, csi_of(fc, pos0 + j)),
    }
    if full_horizon:
        clim = ClearSkyIndexClimatology().fit(d, end=cut)
        clim_csi = clim.csi_at(labels)
        # without a day-ahead forecaster the short one covers the whole horizon
        fc_long = fc
        if long_model is not None:
            fc_long = long_model.predict(span, start=labels[pos0 - 1])

        def splice(head: np.ndarray, tail: np.ndarray) -> np.ndarray:
            m = min(head.size, n_dispatch)
            return np.concatenate([head[:m], tail[m:n_dispatch]])

        def full_forecast(pos: int) -> np.ndarray:
            return splice(csi_of(fc, pos), csi_of(fc_long, pos))

        strategies["persistence_climatology"] = lambda j: from_csi(
            pos0 + j,
            splice(csi_of(pers, pos0 + j), clim_csi[pos0 + j : pos0 + j + n_dispatch]),
        )
        strategies["forecast"] = lambda j: from_csi(pos0 + j, full_forecast(pos0 + j))
        if scenarios > 0:
            from iclcontrol.solar.scenarios import AnalogDayScenarios

            if analogs is None:
                analogs = AnalogDayScenarios(n_scenarios=int(scenarios))
                analogs = analogs.fit(d, end=cut)
                record("scenarios", analogs, "trained", None)
            else:
                origin = "loaded" if analogs_folder else "given"
                record("scenarios", analogs, origin, analogs_folder)

            def scenario_forecast(pos: int) -> np.ndarray:
                point = np.clip(full_forecast(pos), 0.0, CSI_MAX)
                csi = analogs.scenarios(labels[pos - 1], point)
                return np.stack([from_csi(pos, row) for row in csi])

            strategies["forecast_scenarios"] = lambda j: scenario_forecast(pos0 + j)
        for hours in oracle_hours:
            k = max(round(pd.Timedelta(hours=hours) / step), 1)
            strategies[f"oracle_{hours:g}h"] = lambda j, k=k: from_csi(
                pos0 + j, splice(oracle_csi(pos0 + j, k), full_forecast(pos0 + j))
            )
    for name, extra in (extra_models or {}).items():
        frame = extra.predict(span, start=labels[pos0 - 1])
        strategies[name] = lambda j, f=frame: from_csi(pos0 + j, csi_of(f, pos0 + j))
    sl = slice(pos0, pos0 + n_run + n_dispatch - 1)
    pv_s = pd.Series(pv_true_arr[sl], index=labels[sl])
    load_s, load_rep = load_with_report(
        load, labels[sl], d.site.label, load_label=load_label
    )
    results = {}
    for name, fn in strategies.items():
        results[name] = run_dispatch(
            plant,
            pv_s,
            load_s,
            fn,
            n_dispatch,
            tariff,
            strategy=name,
            label=d.site.label,
        )
    if not full_horizon:  # the operator's forecast is the short one
        results["forecast"] = results["forecast_short"]
    c = {k: r.cost for k, r in results.items()}
    gap = c["persistence"] - c["perfect"]
    traces = {k: r.trace for k, r in results.items()}
    daily = daily_costs(traces, tariff.export, plant.dt_h)

    price_bands = {
        "offpeak": tariff.offpeak,
        "shoulder": tariff.shoulder,
        "peak": tariff.peak,
    }
    by_price = {
        k: {
            band: float(
                r.trace["grid_import"][np.isclose(r.trace["price"], p)].sum()
                * plant.dt_h
            )
            for band, p in price_bands.items()
        }
        for k, r in results.items()
    }
    summary = {
        "dataset": d.card.get("name", d.card.get("source", "")),
        "kind": model.kind,
        "start": str(labels[pos0]),
        "periods": n_run,
        "days": n_run * (step / pd.Timedelta("1D")),
        "dispatch_horizon_steps": n_dispatch,
        "forecast_horizon_steps": H,
        "long_forecast_horizon_steps": (
            long_model.horizon if full_horizon and long_model is not None else None
        ),
        "forecasters": {
            "short": model.get_params(),
            "day_ahead": (
                long_model.get_params()
                if full_horizon and long_model is not None
                else None
            ),
        },
        "kwp": kwp,
        "array": orientation,
        "battery": battery.__dict__,
        "tariff": tariff.to_dict(),
        "load": load,
        "load_report": load_rep,
        "irradiance_decomposition": decomposition,
        "weather_fill": weather_fill,
        "tariff_and_load_at": "period start (label minus one step for label=ending)",
        "costs": c,
        "cost_gap_persistence_minus_perfect": gap,
        "gap_closed": gap_closed(c, "forecast"),
        "gap_closed_short": gap_closed(c, "forecast_short"),
        "gap_closed_by": {k: gap_closed(c, k) for k in c},
        "gap_closed_interval": gap_closed_interval(daily, level=0.9),
        "gap_closed_interval_note": (
            "90 % bootstrap interval over the days of the test period"
        ),
        "gap_closed_vs_oracle_h": gap_closed(c, "forecast_short", best="oracle_h"),
        "daily_costs": {str(day): row.to_dict() for day, row in daily.iterrows()},
        "import_kwh_by_price": by_price,
        "strategies": {k: r.to_dict() for k, r in results.items()},
        "fit_seconds": fit_s,
        "forecaster_sources": sources,
        "qc_flagged": qc_report.get("flagged_total"),
        "qc": qc_report,
        "reader_report": {k: v for k, v in d.report.items() if k != "qc"},
        "warnings": qc_report.get("warnings", []) + load_rep.get("warnings", []),
    }
    period = (labels[sl.start], labels[sl.stop - 1])
    for role, given, folder in (
        ("short", model, short_folder),
        ("day_ahead", long_model, long_folder),
        ("scenarios", analogs if analogs_folder else None, analogs_folder),
    ):
        overlap = given is not None and _training_overlap(given, role, folder, period)
        if overlap:
            summary["warnings"].append(overlap)
    no_gain = no_gap_warning(gap, battery)
    if no_gain:
        summary["warnings"].append(no_gain)
    for r in results.values():
        failure = r.failure_warning()
        if failure:
            summary["warnings"].append(failure)
    if out is not None:
        out = open_output(out, "operate.json")
        files: dict[str, Any] = {"operate": str(out / "operate.json")}
        files["dispatch_csv"] = {}
        for k, trace in traces.items():
            trace.to_csv(out / f"dispatch_{k}.csv")
            files["dispatch_csv"][k] = str(out / f"dispatch_{k}.csv")
        from iclcontrol.solar.plots import plot_dispatch, plot_gap_closed

        files["plot_dispatch"] = str(plot_dispatch(traces, out / "dispatch.png"))
        files["plot_gap"] = str(
            plot_gap_closed(
                summary["gap_closed_by"],
                summary["gap_closed_interval"],
                out / "gap.png",
            )
        )
        files["models"] = {
            role: src["folder"]
            for role, src in sources.items()
            if src is not None and src["origin"] == "trained"
        }
        summary["files"] = files
        write_summary(out / "operate.json", sanitize(summary))
    return sanitize(summary)


def no_gap_warning(gap: float, battery: Any) -> str | None:
    """Why every ``gap_closed`` of an operate run is null, or None when the
    persistence-to-perfect cost gap is positive.

    Parameters
    ----------
    gap : float
        Cost of persistence minus cost of perfect foresight. [$]
    battery : plants.pv.BatteryParameters
    """
    if gap > 1e-9:
        return None
    empty = not (battery.capacity_kwh > 0 and battery.power_kw > 0)
    return (
        f"perfect foresight saves nothing over persistence ({gap:.2g} $): no "
        "forecast can gain either, so every gap_closed is null"
        + (
            f" (the battery has capacity_kwh={battery.capacity_kwh:g}, "
            f"power_kw={battery.power_kw:g}: nothing to dispatch)"
            if empty
            else ""
        )
    )


def _check_operate_args(
    days: float, dispatch_hours: float, kwp: float, scenarios: int
) -> None:
    """Reject bad run_operate arguments by their own names (CLI flags in brackets)."""
    checks = (
        ("days", "--days", days, days > 0, "> 0"),
        (
            "dispatch_hours",
            "--dispatch-hours",
            dispatch_hours,
            dispatch_hours > 0,
            "> 0",
        ),
        ("kwp", "--kwp", kwp, kwp >= 0, ">= 0"),
        ("scenarios", "--scenarios", scenarios, scenarios >= 0, ">= 0"),
    )
    for name, flag, value, ok, rule in checks:
        if not (ok and math.isfinite(value)):
            raise ConfigError(f"{name} ({flag}) must be {rule}, got {value:g}")


def _clear_pv(plant: Any, d: SolarData, cs: pd.Series) -> pd.Series:
    """PV power under clear sky for the same plane. [kW]"""
    if d.site.is_poa:
        w = pd.DataFrame({"poa_global": cs}, index=cs.index)
        return plant.pv_ac_kw(w).fillna(0.0)
    import pvlib

    from iclcontrol.solar.features import geometry_times

    times = geometry_times(d.frame.index, d.site)
    loc = pvlib.location.Location(
        d.site.latitude, d.site.longitude, altitude=d.site.altitude
    )
    clear = loc.get_clearsky(times)
    clear.index = d.frame.index
    return plant.pv_ac_kw(clear[["ghi", "dni", "dhi"]], label=d.site.label).fillna(0.0)
