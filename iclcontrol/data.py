"""Datasets for sequence surrogates: the reference CSTR set and a user's time series.

A dataset holds input sequences ``X`` (n, steps, n_features) and output sequences
``Y`` (n, steps, n_outputs) in physical units, seeded train/validation/test splits and
min-max scalers fit on the training split only. On disk it is a folder with
``arrays.npz`` and ``card.json`` (provenance, names, units, shapes, scalers, seed).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iclcontrol.exceptions import (
    ConfigError,
    DataError,
    DimensionError,
    ModelFileError,
    NotFittedError,
)

SPLIT_NAMES = ("train", "val", "test")


class MinMaxScaler:
    """Per-feature affine map of the data range onto ``feature_range``.

    The last axis holds the features; statistics are taken over all other axes, so a
    sequence array (n, steps, n_features) is scaled per feature. Constant features get
    scale 1 so nothing is divided by zero.

    Parameters
    ----------
    feature_range : tuple of float
        Target interval of the scaled data.
    """

    def __init__(self, feature_range: tuple[float, float] = (0.0, 1.0)) -> None:
        self.feature_range = feature_range

    def fit(self, data: Any) -> MinMaxScaler:
        array = np.asarray(data, dtype=float)
        flat = array.reshape(-1, array.shape[-1])
        if flat.shape[0] == 0:
            raise DataError("cannot fit a scaler on an empty array")
        if not np.all(np.isfinite(flat)):
            raise DataError("cannot fit a scaler on data containing NaN or inf")
        self.data_min_ = flat.min(axis=0)
        self.data_max_ = flat.max(axis=0)
        low, high = self.feature_range
        span = self.data_max_ - self.data_min_
        span = np.where(span > 0, span, 1.0)
        self.scale_ = (high - low) / span
        self.offset_ = low - self.data_min_ * self.scale_
        return self

    def _check(self, data: Any) -> np.ndarray:
        if not hasattr(self, "scale_"):
            raise NotFittedError("this MinMaxScaler is not fitted yet; call fit first")
        array = np.asarray(data, dtype=float)
        if array.shape[-1] != self.scale_.shape[0]:
            raise DimensionError(
                f"data has {array.shape[-1]} features, but the scaler was fit on "
                f"{self.scale_.shape[0]}"
            )
        return array

    def transform(self, data: Any) -> np.ndarray:
        return self._check(data) * self.scale_ + self.offset_

    def inverse_transform(self, data: Any) -> np.ndarray:
        return (self._check(data) - self.offset_) / self.scale_

    def to_dict(self) -> dict[str, Any]:
        self._check(np.zeros(len(getattr(self, "scale_", []))))
        return {
            "feature_range": list(self.feature_range),
            "data_min": self.data_min_.tolist(),
            "data_max": self.data_max_.tolist(),
            "scale": self.scale_.tolist(),
            "offset": self.offset_.tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MinMaxScaler:
        scaler = cls(tuple(d["feature_range"]))  # type: ignore[arg-type]
        scaler.data_min_ = np.asarray(d["data_min"], dtype=float)
        scaler.data_max_ = np.asarray(d["data_max"], dtype=float)
        scaler.scale_ = np.asarray(d["scale"], dtype=float)
        scaler.offset_ = np.asarray(d["offset"], dtype=float)
        return scaler


@dataclass
class SequenceDataset:
    """Input/output sequences with splits and train-fit scalers.

    Attributes
    ----------
    X : numpy.ndarray, shape (n, steps, n_features)
        Input sequences in physical units.
    Y : numpy.ndarray, shape (n, steps, n_outputs)
        Output sequences in physical units.
    feature_names, feature_units, output_names, output_units : tuple of str
    splits : dict of str to numpy.ndarray
        Sample indices of "train", "val" and "test".
    x_scaler, y_scaler : MinMaxScaler
        Fit on the training split only.
    card : dict
        Provenance and summary, saved as JSON.
    """

    X: np.ndarray
    Y: np.ndarray
    feature_names: tuple[str, ...]
    feature_units: tuple[str, ...]
    output_names: tuple[str, ...]
    output_units: tuple[str, ...]
    splits: dict[str, np.ndarray]
    x_scaler: MinMaxScaler
    y_scaler: MinMaxScaler
    card: dict[str, Any] = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    def subset(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """Physical ``(X, Y)`` of one split ("train", "val" or "test")."""
        idx = self._split(split)
        return self.X[idx], self.Y[idx]

    def scaled(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """Scaled ``(X, Y)`` of one split."""
        X, Y = self.subset(split)
        return self.x_scaler.transform(X), self.y_scaler.transform(Y)

    def noisy_scaled_targets(
        self, std: float, random_state: int | np.random.Generator | None = 0
    ) -> np.ndarray:
        """Scaled training targets plus Gaussian noise of standard deviation ``std``.

        This is the noise-robustness protocol of REFERENCE.md: noise is added to the
        scaled training targets only; test targets stay clean.
        """
        if std < 0:
            raise ConfigError(f"noise standard deviation must be >= 0, got {std}")
        _, Y = self.scaled("train")
        rng = np.random.default_rng(random_state)
        return Y + rng.normal(0.0, std, size=Y.shape) if std > 0 else Y

    def _split(self, split: str) -> np.ndarray:
        if split not in self.splits:
            raise ConfigError(f"unknown split {split!r}; choose one of {SPLIT_NAMES}")
        return self.splits[split]

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary: sizes, shapes and names."""
        return {
            "n_samples": self.n_samples,
            "X_shape": list(self.X.shape),
            "Y_shape": list(self.Y.shape),
            "split_sizes": {k: len(v) for k, v in self.splits.items()},
            "feature_names": list(self.feature_names),
            "output_names": list(self.output_names),
        }

    # -- persistence ---------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write ``arrays.npz`` and ``card.json`` into ``directory``."""
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        np.savez(
            path / "arrays.npz",
            X=self.X,
            Y=self.Y,
            **{f"split_{k}": v for k, v in self.splits.items()},  # type: ignore[arg-type]
        )
        card = {
            **self.card,
            **self.summary(),
            "feature_units": list(self.feature_units),
            "output_units": list(self.output_units),
            "x_scaler": self.x_scaler.to_dict(),
            "y_scaler": self.y_scaler.to_dict(),
            "format": "iclcontrol-sequence-dataset/1",
        }
        (path / "card.json").write_text(json.dumps(card, indent=2))
        return path

    @classmethod
    def load(cls, directory: str | Path) -> SequenceDataset:
        """Read a dataset folder written by :meth:`save`."""
        path = Path(directory)
        card_path, arrays_path = path / "card.json", path / "arrays.npz"
        if not card_path.is_file() or not arrays_path.is_file():
            raise ModelFileError(
                f"{path} is not a dataset folder: expected card.json and arrays.npz "
                "(build one with `iclcontrol data cstr --out DIR`)"
            )
        try:
            card = json.loads(card_path.read_text())
            with np.load(arrays_path, allow_pickle=False) as arrays:
                X, Y = arrays["X"], arrays["Y"]
                splits = {k: arrays[f"split_{k}"] for k in SPLIT_NAMES}
        except (ValueError, KeyError, OSError) as err:
            raise ModelFileError(f"dataset folder {path} is corrupted: {err}") from err
        if list(X.shape) != card.get("X_shape") or list(Y.shape) != card.get("Y_shape"):
            raise ModelFileError(
                f"dataset folder {path}: arrays of shape {X.shape}, {Y.shape} do not "
                f"match the card ({card.get('X_shape')}, {card.get('Y_shape')})"
            )
        meta_keys = {
            "feature_names",
            "feature_units",
            "output_names",
            "output_units",
            "x_scaler",
            "y_scaler",
            "X_shape",
            "Y_shape",
            "n_samples",
            "split_sizes",
            "format",
        }
        return cls(
            X=X,
            Y=Y,
            feature_names=tuple(card["feature_names"]),
            feature_units=tuple(card["feature_units"]),
            output_names=tuple(card["output_names"]),
            output_units=tuple(card["output_units"]),
            splits=splits,
            x_scaler=MinMaxScaler.from_dict(card["x_scaler"]),
            y_scaler=MinMaxScaler.from_dict(card["y_scaler"]),
            card={k: v for k, v in card.items() if k not in meta_keys},
        )


def split_indices(
    n: int,
    test_fraction: float = 0.3,
    val_fraction: float = 0.1,
    random_state: int | np.random.Generator | None = 0,
) -> dict[str, np.ndarray]:
    """Seeded random split of ``n`` samples into train, val and test indices."""
    if not (0 < test_fraction < 1 and 0 <= val_fraction < 1 - test_fraction):
        raise ConfigError(
            f"need 0 < test_fraction < 1 and 0 <= val_fraction < 1 - test_fraction, "
            f"got test_fraction={test_fraction}, val_fraction={val_fraction}"
        )
    order = np.random.default_rng(random_state).permutation(n)
    n_test = round(n * test_fraction)
    n_val = round(n * val_fraction)
    return {
        "test": np.sort(order[:n_test]),
        "val": np.sort(order[n_test : n_test + n_val]),
        "train": np.sort(order[n_test + n_val :]),
    }


def make_dataset(
    X: np.ndarray,
    Y: np.ndarray,
    feature_names: Sequence[str],
    feature_units: Sequence[str],
    output_names: Sequence[str],
    output_units: Sequence[str],
    card: dict[str, Any],
    splits: dict[str, np.ndarray],
) -> SequenceDataset:
    """Assemble a dataset and fit its scalers on the training split only."""
    train = splits["train"]
    if len(train) == 0:
        raise DataError("the training split is empty; provide more data")
    return SequenceDataset(
        X=X,
        Y=Y,
        feature_names=tuple(feature_names),
        feature_units=tuple(feature_units),
        output_names=tuple(output_names),
        output_units=tuple(output_units),
        splits=splits,
        x_scaler=MinMaxScaler().fit(X[train]),
        y_scaler=MinMaxScaler().fit(Y[train]),
        card=card,
    )


# -- the reference CSTR dataset -----------------------------------------------------
def cstr_initial_states(n_grid: int = 100) -> np.ndarray:
    """Grid of (CA, T) deviations inside the stability region (REFERENCE.md).

    ``T`` in linspace(300, 600, n_grid) - Ts and ``CA`` in linspace(0, 6, n_grid) - CAs,
    kept where V(x) < 372: 772 states for ``n_grid=100``.
    """
    from plants.cstr import CSTR, CSTRParameters

    p = CSTRParameters()
    ca_grid = np.linspace(0.0, 6.0, n_grid) - p.CAs
    t_grid = np.linspace(300.0, 600.0, n_grid) - p.Ts
    # The reference loops T outer, CA inner.
    tt, cc = np.meshgrid(t_grid, ca_grid, indexing="ij")
    states = np.column_stack([cc.ravel(), tt.ravel()])
    return states[CSTR.in_stability_region(states)]


def cstr_dataset(
    moves: int = 1,
    n_grid: int = 100,
    n_input_levels: int = 4,
    random_state: int | np.random.Generator | None = 0,
    test_fraction: float = 0.3,
    val_fraction: float = 0.1,
    plant: Any = None,
) -> SequenceDataset:
    """The CSTR surrogate dataset of the ICLRNN paper (REFERENCE.md protocol).

    Every stable initial state of the grid is combined with every input of an
    ``n_input_levels`` x ``n_input_levels`` grid over the input bounds; each sample
    runs ``moves`` sampling periods (0.005 h each) and records the state 10 times per
    period. With ``moves=1`` this is the paper's 12352-sample set. With ``moves > 1``
    the input of each later move is drawn at random from the same grid, so that a
    sequence model can be trained on whole MPC horizons.

    Parameters
    ----------
    moves : int
        Sampling periods per sample.
    n_grid : int
        Points per axis of the initial-state grid.
    n_input_levels : int
        Levels per input of the input grid.
    random_state : int or numpy.random.Generator or None
        Seed of the split and of the later moves' inputs.
    test_fraction, val_fraction : float
        Fractions of all samples held out for test and validation.
    plant : plants.CSTR, optional
        Simulator; default explicit Euler with dt = 1e-4 h (the paper's).

    Returns
    -------
    SequenceDataset
        ``X`` (n, 10 * moves, 4) with features (CA, T, CA0, Q): the initial state
        held constant and the input applied at that step; ``Y`` (n, 10 * moves, 2)
        with the recorded (CA, T). All in deviation form. [kmol/m^3, K, kmol/m^3, kJ/h]
    """
    from plants.cstr import CSTR

    if moves < 1:
        raise ConfigError(f"moves must be >= 1, got {moves}")
    start = time.perf_counter()
    plant = plant if plant is not None else CSTR()
    rng = np.random.default_rng(random_state)
    x0 = cstr_initial_states(n_grid)
    levels = [
        np.linspace(lo, hi, n_input_levels)
        for lo, hi in zip(plant.input_lower, plant.input_upper, strict=True)
    ]
    u_grid = np.array([[a, b] for a in levels[0] for b in levels[1]])
    states = np.repeat(x0, len(u_grid), axis=0)
    u_first = np.tile(u_grid, (len(x0), 1))
    n = len(states)
    records = []
    inputs = []
    u = u_first
    x = states
    for move in range(moves):
        if move > 0:
            u = u_grid[rng.integers(0, len(u_grid), size=n)]
        traj = plant.trajectory(x, u, n_records=10)
        records.append(traj)
        inputs.append(np.repeat(u[:, None, :], 10, axis=1))
        x = traj[:, -1, :]
    Y = np.concatenate(records, axis=1)
    U = np.concatenate(inputs, axis=1)
    X = np.concatenate([np.repeat(states[:, None, :], U.shape[1], axis=1), U], axis=2)
    seconds = time.perf_counter() - start
    card = {
        "name": "cstr" if moves == 1 else f"cstr-{moves}moves",
        "source": "plants.CSTR simulation, protocol of arXiv 2401.07494 (REFERENCE.md)",
        "integration": f"{plant.method}, dt={plant.dt} h, 10 records per 0.005 h",
        "moves": moves,
        "n_grid": n_grid,
        "n_input_levels": n_input_levels,
        "split_seed": random_state if isinstance(random_state, int) else None,
        "build_seconds": seconds,
        "deviation_form": True,
    }
    return make_dataset(
        X,
        Y,
        ("CA", "T", "CA0", "Q"),
        ("kmol/m^3", "K", "kmol/m^3", "kJ/h"),
        plant.state_names,
        plant.state_units,
        card,
        split_indices(n, test_fraction, val_fraction, random_state),
    )


# -- a user's time series -----------------------------------------------------------
def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet file, chosen by its suffix."""
    file = Path(path)
    if not file.is_file():
        raise DataError(f"no such file: {file}")
    suffix = file.suffix.lower()
    if suffix in (".csv", ".txt"):
        return pd.read_csv(file)
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(file)
    raise DataError(
        f"cannot read {file.name}: expected a .csv or .parquet file, got {suffix!r}"
    )


def _check_columns(frame: pd.DataFrame, wanted: Sequence[str], role: str) -> None:
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise DataError(
            f"unknown {role} column(s) {missing}; the file has columns "
            f"{list(frame.columns)}"
        )


def csv_dataset(
    path: str | Path | pd.DataFrame,
    time_column: str,
    inputs: Sequence[str],
    outputs: Sequence[str],
    window: int,
    stride: int = 1,
    resample: str | None = None,
    split: str = "chronological",
    test_fraction: float = 0.3,
    val_fraction: float = 0.1,
    random_state: int | np.random.Generator | None = 0,
) -> SequenceDataset:
    """Windows of a logged time series as a sequence dataset.

    Rows are sorted by time and duplicated timestamps keep their first row. The sample
    interval is the median time step; a step longer than 1.5 times that is a gap.
    Windows that touch a gap or a NaN are dropped, and the card's ``cleaning``
    section says how many and why.

    Parameters
    ----------
    path : str, pathlib.Path or pandas.DataFrame
        A .csv or .parquet file, or a frame already in memory.
    time_column : str
        Column with timestamps (anything ``pandas.to_datetime`` parses).
    inputs, outputs : sequence of str
        Column names of the model's input features and outputs.
    window : int
        Samples per sequence.
    stride : int
        Samples between the starts of consecutive windows.
    resample : str, optional
        A pandas offset alias (``"15min"``); values are averaged per bin.
    split : {"chronological", "random"}
        Chronological keeps the last windows for test (no leakage between
        overlapping windows); random shuffles windows with ``random_state``.
    test_fraction, val_fraction : float
        Fractions of windows for test and validation.

    Returns
    -------
    SequenceDataset
        ``X`` (n, window, len(inputs)), ``Y`` (n, window, len(outputs)).
    """
    inputs, outputs = list(inputs), list(outputs)
    if window < 1 or stride < 1:
        raise ConfigError(f"window and stride must be >= 1, got {window}, {stride}")
    if not inputs or not outputs:
        raise ConfigError("give at least one input column and one output column")
    if split not in ("chronological", "random"):
        raise ConfigError(f"split must be 'chronological' or 'random', got {split!r}")
    frame = path.copy() if isinstance(path, pd.DataFrame) else read_table(path)
    source = "DataFrame" if isinstance(path, pd.DataFrame) else str(path)
    _check_columns(frame, [time_column], "time")
    _check_columns(frame, inputs, "input")
    _check_columns(frame, outputs, "output")
    columns = list(dict.fromkeys(inputs + outputs))
    try:
        times = pd.to_datetime(frame[time_column], utc=None)
    except (ValueError, TypeError) as err:
        raise DataError(
            f"time column {time_column!r} could not be parsed: {err}"
        ) from err
    values = frame[columns].apply(pd.to_numeric, errors="coerce")
    values.index = pd.DatetimeIndex(times)
    n_rows = len(values)
    n_unsorted = int((np.diff(values.index.asi8) < 0).sum()) if n_rows > 1 else 0
    values = values[~values.index.isna()].sort_index(kind="stable")
    values.index = values.index.as_unit("ns")
    duplicated = values.index.duplicated(keep="first")
    values = values[~duplicated]
    if resample is not None:
        values = values.resample(resample).mean()
    if len(values) < window:
        raise DataError(
            f"window={window} is longer than the data ({len(values)} rows after "
            "cleaning); use a shorter window"
        )
    step_ns = np.diff(values.index.asi8)
    interval = float(np.median(step_ns)) if len(step_ns) else 0.0
    is_gap = step_ns > 1.5 * interval
    row_bad = values.isna().any(axis=1).to_numpy()
    starts = np.arange(0, len(values) - window + 1, stride)
    # prefix sums: a window [s, s+window) touches a NaN row or a gap between its rows
    nan_count = np.concatenate([[0], np.cumsum(row_bad)])
    gap_count = np.concatenate([[0], np.cumsum(is_gap)])
    has_nan = nan_count[starts + window] - nan_count[starts] > 0
    has_gap = gap_count[starts + window - 1] - gap_count[starts] > 0
    keep = starts[~has_nan & ~has_gap]
    if len(keep) == 0:
        raise DataError(
            f"no window of {window} rows is free of NaN and time gaps "
            f"({int(row_bad.sum())} rows with NaN, {int(is_gap.sum())} gaps)"
        )
    array = values.to_numpy(dtype=float)
    take = keep[:, None] + np.arange(window)[None, :]
    X = array[take][:, :, [columns.index(c) for c in inputs]]
    Y = array[take][:, :, [columns.index(c) for c in outputs]]
    constant = [c for c in columns if values[c].nunique(dropna=True) <= 1]
    cleaning = {
        "rows": n_rows,
        "rows_out_of_order": n_unsorted,
        "duplicate_timestamps_dropped": int(duplicated.sum()),
        "rows_with_nan": int(row_bad.sum()),
        "time_gaps": int(is_gap.sum()),
        "windows_total": len(starts),
        "windows_dropped_nan": int(has_nan.sum()),
        "windows_dropped_gap": int((has_gap & ~has_nan).sum()),
        "windows_kept": len(keep),
        "constant_columns": constant,
        "sample_interval_s": interval / 1e9,
    }
    n = len(keep)
    if split == "random":
        splits = split_indices(n, test_fraction, val_fraction, random_state)
    else:
        split_indices(n, test_fraction, val_fraction)  # validates the fractions
        n_test, n_val = round(n * test_fraction), round(n * val_fraction)
        order = np.arange(n)
        splits = {
            "train": order[: n - n_test - n_val],
            "val": order[n - n_test - n_val : n - n_test],
            "test": order[n - n_test :],
        }
    card = {
        "name": Path(source).stem if source != "DataFrame" else "dataframe",
        "source": source,
        "time_column": time_column,
        "window": window,
        "stride": stride,
        "resample": resample,
        "split": split,
        "split_seed": random_state if isinstance(random_state, int) else None,
        "cleaning": cleaning,
    }
    return make_dataset(
        X, Y, inputs, [""] * len(inputs), outputs, [""] * len(outputs), card, splits
    )
