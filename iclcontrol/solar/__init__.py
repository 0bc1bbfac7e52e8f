"""Solar irradiance forecasting and PV planning on real data.

* :mod:`~iclcontrol.solar.data`: named datasets, TMY2/TMY3/EPW and CSV/Parquet
  readers, pvanalytics quality control.
* :mod:`~iclcontrol.solar.features`: clear sky, clear-sky index, solar position,
  calendar (pvlib).
* :mod:`~iclcontrol.solar.metrics`: RMSE, MAE, MBE, skill over smart persistence.
* :mod:`~iclcontrol.solar.windows`: the forecaster's per-issue-time input windows
  (features, lags, variability, covariates).
* :mod:`~iclcontrol.solar.forecast`: ICLRNN / LSTM forecaster, smart persistence,
  rolling-origin backtest.
* :mod:`~iclcontrol.solar.persist`: saving and loading fitted forecasters (a model
  folder: safetensors weights and JSON, no pickle).
* :mod:`~iclcontrol.solar.scenarios`: analog-day clear-sky-index scenarios for the
  stochastic dispatch.
* :mod:`~iclcontrol.solar.planning`: Pyomo + HiGHS sizing and receding-horizon
  dispatch (deterministic or two-stage stochastic).
* :mod:`~iclcontrol.solar.gap`: the share of the persistence-to-perfect-foresight
  cost gap a dispatch closes, with a bootstrap interval over days.
* :mod:`~iclcontrol.solar.workflows`: the end-to-end runs behind ``iclcontrol solar``.
* :mod:`~iclcontrol.solar.plots`: figures (matplotlib, imported on demand).
"""

from iclcontrol.solar.data import (
    DATASETS,
    Site,
    SolarData,
    list_datasets,
    load_solar,
    quality_control,
)
from iclcontrol.solar.forecast import (
    IrradianceForecaster,
    SmartPersistence,
    backtest,
    chronological_cut,
    evaluate,
)
from iclcontrol.solar.metrics import error_metrics, mae, mbe, rmse, skill
from iclcontrol.solar.persist import load_forecaster, save_forecaster

__all__ = [
    "DATASETS",
    "IrradianceForecaster",
    "Site",
    "SmartPersistence",
    "SolarData",
    "backtest",
    "chronological_cut",
    "error_metrics",
    "evaluate",
    "list_datasets",
    "load_forecaster",
    "load_solar",
    "mae",
    "mbe",
    "quality_control",
    "rmse",
    "save_forecaster",
    "skill",
]
