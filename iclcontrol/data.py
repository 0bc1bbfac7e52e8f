"""Datasets for sequence surrogates: the reference CSTR set and a user's time series.

A dataset holds input sequences ``X`` (n, steps, n_features) and output sequences
``Y`` (n, steps, n_outputs) in physical units, seeded train/validation/test splits and
min-max scalers fit on the training split only. On disk it is a folder with
``arrays.npz`` and ``card.json`` (provenance, names, units, shapes, scalers, seed).
"""

from __future__ import annotations

import difflib
import json
import time
import zipfile
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

#: Largest window array :func:`check_window_memory` lets a builder allocate. [GB]
#: Windows copy every row ``window / stride`` times: a year of 1-min data in
#: 2-h windows is about 14 GB (and more in temporaries), and the process would be
#: killed by the system without a word. Shared by :func:`csv_dataset` and
#: :func:`iclcontrol.solar.windows.make_windows`.
MAX_WINDOWS_GB = 4.0


def json_default(value: Any) -> Any:
    """``default`` of :func:`json.dumps` for numpy values in cards and model files.

    A numpy integer passed as a setting (``window=np.int64(20)``, a grid of
    hyperparameters from ``np.arange``) is accepted by the checks and would
    otherwise make saving fail after the work is done.

    Raises
    ------
    TypeError
        Anything else that JSON cannot represent (as :func:`json.dumps` does).
    """
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def check_window_memory(
    n_windows: int, steps: int, n_columns: int, what: str, detail: str, fix: str
) -> float:
    """Refuse a float64 window array larger than :data:`MAX_WINDOWS_GB`.

    Parameters
    ----------
    n_windows, steps, n_columns : int
        Shape of the array about to be built (float64, 8 bytes an entry).
    what : str
        What the array is, for the message ("the windows").
    detail : str
        How its shape comes about, in the caller's terms ("1000 windows x ...").
    fix : str
        What to change to make it smaller (options and CLI flags).

    Returns
    -------
    float
        The array's size. [GB]

    Raises
    ------
    DataError
        The array would be larger than :data:`MAX_WINDOWS_GB`; the message gives
        the size, ``detail`` and ``fix``.
    """
    gigabytes = n_windows * steps * n_columns * 8 / 1e9
    if gigabytes > MAX_WINDOWS_GB:
        raise DataError(
            f"{what} would take {gigabytes:.1f} GB of memory ({detail}; the limit is "
            f"iclcontrol.data.MAX_WINDOWS_GB = {MAX_WINDOWS_GB:g}): {fix}"
        )
    return gigabytes


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
        Provenance and summary, saved as JSON. Datasets of a simulated plant
        record ``moves`` (sampling periods per sequence) and ``steps_per_move``
        (records per sampling period), windows of a time series
        (:func:`csv_dataset`) ``steps_per_move`` = 1 (a row per period); see
        :attr:`moves`, :attr:`steps_per_move`.
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

    def __post_init__(self) -> None:
        check_consistent(self)

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def moves(self) -> int | None:
        """Sampling periods per sequence, or None if the card does not say
        (data that is not a plant simulation, e.g. windows of a CSV file)."""
        return _card_int(self.card, "moves")

    @property
    def steps_per_move(self) -> int | None:
        """Records (sequence steps) per sampling period, or None if the card
        does not say."""
        return _card_int(self.card, "steps_per_move")

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

    def check_finite(self, splits: Sequence[str] = SPLIT_NAMES) -> None:
        """Raise :class:`DataError` naming the samples of ``splits`` with NaN or inf."""
        check_finite(self, splits)

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
        check_consistent(self)
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
        (path / "card.json").write_text(
            json.dumps(card, indent=2, default=json_default)
        )
        return path

    @classmethod
    def load(cls, directory: str | Path) -> SequenceDataset:
        """Read a dataset folder written by :meth:`save`.

        Raises
        ------
        ModelFileError
            The folder lacks a file, a file is truncated or not what it should be,
            or ``card.json`` does not describe ``arrays.npz``; the message names the
            file and the problem.
        """
        path = Path(directory)
        card_path, arrays_path = path / "card.json", path / "arrays.npz"
        if not card_path.is_file() or not arrays_path.is_file():
            raise ModelFileError(
                f"{path} is not a dataset folder: expected card.json and arrays.npz "
                "(build one with `iclcontrol data cstr --out DIR`)"
            )
        rebuild = "rebuild the dataset with `iclcontrol data ...`"
        try:
            card = json.loads(card_path.read_text())
        except (ValueError, OSError) as err:
            raise ModelFileError(
                f"{card_path} is not valid JSON ({err}); {rebuild}"
            ) from err
        if not isinstance(card, dict):
            raise ModelFileError(
                f"{card_path} holds a JSON {type(card).__name__}, expected an object "
                f"with the dataset's names, shapes and scalers; {rebuild}"
            )
        try:
            # opened here: np.load leaves its own handle open when the zip is bad
            with (
                open(arrays_path, "rb") as fh,
                np.load(fh, allow_pickle=False) as arrays,
            ):
                X, Y = arrays["X"], arrays["Y"]
                splits = {k: arrays[f"split_{k}"] for k in SPLIT_NAMES}
        except (ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile) as err:
            raise ModelFileError(
                f"{arrays_path} is corrupted or truncated "
                f"({type(err).__name__}: {err}); {rebuild}"
            ) from err
        required = (
            "feature_names",
            "feature_units",
            "output_names",
            "output_units",
            "x_scaler",
            "y_scaler",
            "X_shape",
            "Y_shape",
        )
        missing = [k for k in required if k not in card]
        if missing:
            raise ModelFileError(f"{card_path} lacks the key(s) {missing}; {rebuild}")
        if list(X.shape) != card.get("X_shape") or list(Y.shape) != card.get("Y_shape"):
            raise ModelFileError(
                f"dataset folder {path}: arrays of shape {X.shape}, {Y.shape} do not "
                f"match the card ({card.get('X_shape')}, {card.get('Y_shape')})"
            )
        meta_keys = {*required, "n_samples", "split_sizes", "format"}
        if "moves" in card and "steps_per_move" not in card:
            # folders of cstr_dataset written before it recorded steps_per_move:
            # its sequences are whole moves, so steps / moves records per period
            card["steps_per_move"] = _steps_per_move_of(card)
        elif "time_column" in card and "steps_per_move" not in card:
            # folders of csv_dataset written before it recorded steps_per_move:
            # each row of a log is one sampling period
            card["steps_per_move"] = CSV_STEPS_PER_MOVE
        try:
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
        except (KeyError, TypeError, ValueError) as err:  # DimensionError included
            raise ModelFileError(
                f"{card_path} does not describe {arrays_path.name} "
                f"({type(err).__name__}: {err}); {rebuild}"
            ) from err


def _card_int(card: dict[str, Any], key: str) -> int | None:
    """``card[key]`` as an int, None if absent or null."""
    value = card.get(key)
    return None if value is None else int(value)


def _steps_per_move_of(card: dict[str, Any]) -> int | None:
    """Records per period of an older card that has ``moves`` and ``X_shape``
    only: ``steps // moves`` when the steps are whole moves, else None."""
    moves, shape = card.get("moves"), card.get("X_shape")
    if not moves or not isinstance(shape, list) or len(shape) != 3:
        return None
    steps = int(shape[1])
    return steps // int(moves) if steps % int(moves) == 0 else None


def check_consistent(dataset: Any) -> None:
    """Raise :class:`DimensionError` if a dataset's parts disagree.

    Checks that ``X`` and ``Y`` are 3-D with as many samples, that there is one
    feature (output) name, unit and scaler entry per column of ``X`` (``Y``), and that
    the split indices lie inside the samples.

    Raises
    ------
    DimensionError
        Parts that disagree.
    DataError
        A feature (output) name given to two columns: columns are matched by name
        (``predict`` on a DataFrame, the MPC and do-mpc exports), so each needs
        its own.
    """
    X, Y = np.asarray(dataset.X), np.asarray(dataset.Y)
    if X.ndim != 3 or Y.ndim != 3 or len(X) != len(Y):
        raise DimensionError(
            f"X and Y must have shape (n, steps, columns) with the same n; got "
            f"{X.shape} and {Y.shape}"
        )
    for role, array, scaler in (
        ("feature", X, getattr(dataset, "x_scaler", None)),
        ("output", Y, getattr(dataset, "y_scaler", None)),
    ):
        width = array.shape[2]
        names = getattr(dataset, f"{role}_names")
        units = getattr(dataset, f"{role}_units", None)
        if len(names) != width:
            raise DimensionError(
                f"{len(names)} {role} names {list(names)} for {width} {role} columns "
                f"of {'X' if role == 'feature' else 'Y'}"
            )
        if units is not None and len(units) != width:
            raise DimensionError(f"{len(units)} {role} units for {width} {role}s")
        repeated = sorted({n for n in names if list(names).count(n) > 1})
        if repeated:
            raise DataError(
                f"the {role} names {list(names)} repeat {repeated}; give each "
                f"{role} column its own name"
            )
        scale = getattr(scaler, "scale_", None)
        if scale is not None and len(scale) != width:
            raise DimensionError(
                f"the {role} scaler has {len(scale)} entries for {width} {role}s"
            )
    for split, idx in dataset.splits.items():
        idx = np.asarray(idx)
        if idx.size and (idx.min() < 0 or idx.max() >= len(X)):
            raise DimensionError(
                f"split {split!r} has sample indices outside 0..{len(X) - 1}"
            )


def check_finite(dataset: Any, splits: Sequence[str] = SPLIT_NAMES) -> None:
    """Raise :class:`DataError` if a sample of ``splits`` holds NaN or inf.

    The message names the split, the array and the first offending samples (their
    indices in ``dataset.X``).
    """
    for split in splits:
        idx = np.asarray(dataset.splits.get(split, []), dtype=int)
        if len(idx) == 0:
            continue
        for name, array in (("X", dataset.X), ("Y", dataset.Y)):
            part = np.asarray(array)[idx]
            bad = idx[~np.isfinite(part.reshape(len(idx), -1)).all(axis=1)]
            if len(bad):
                shown = ", ".join(str(i) for i in bad[:5]) + (
                    ", ..." if len(bad) > 5 else ""
                )
                raise DataError(
                    f"the {split!r} split has NaN or inf in {name} of {len(bad)} "
                    f"sample(s) (dataset indices {shown}); remove or impute them, "
                    "e.g. rebuild the dataset with `iclcontrol data csv`, which drops "
                    "windows with NaN"
                )


def provenance(dataset: Any) -> dict[str, Any]:
    """What a model needs to remember of its training data, without the data.

    Parameters
    ----------
    dataset : SequenceDataset
        A dataset (or an object with ``card``, ``splits`` and ``X``).

    Returns
    -------
    dict
        JSON-ready: the card's plain entries (``source``, ``name``,
        ``time_column``, ``time_unit``, ``window``, ``stride``, ``resample``,
        ``split``, ...: whatever the card knows), ``sample_interval_s`` (the time
        between two steps of a sequence, [s], when known), ``steps`` (per
        sequence), ``moves`` (sampling periods per sequence; None when the
        card does not say, e.g. for windows of a CSV file not in the MPC
        layout) and
        ``steps_per_move`` (records per sampling period; 1 for windows of a
        CSV file, None when the card does not say) and ``split_sizes``.
        Names and units of the columns are the dataset's ``feature_names`` etc.
    """
    card = getattr(dataset, "card", None) or {}
    record: dict[str, Any] = {}
    for key, value in card.items():
        if isinstance(value, np.generic):
            value = value.item()
        if value is None or isinstance(value, (str, int, float, bool)):
            record[key] = value
    interval = (card.get("cleaning") or {}).get("sample_interval_s")
    if interval is not None:
        record["sample_interval_s"] = float(interval)
    record["steps"] = int(np.shape(dataset.X)[1])
    # the MPC and to_do_mpc read these (None: not recorded, they fall back)
    record["moves"] = _card_int(card, "moves")
    record["steps_per_move"] = _card_int(card, "steps_per_move")
    record["split_sizes"] = {k: len(v) for k, v in dataset.splits.items()}
    return record


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
        "steps_per_move": 10,
        "n_grid": n_grid,
        "n_input_levels": n_input_levels,
        "split_seed": (
            int(random_state) if isinstance(random_state, (int, np.integer)) else None
        ),
        "build_seconds": seconds,
        "deviation_form": True,
        "sample_interval_s": plant.sampling_period * 3600.0 / 10,  # 10 records
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


# -- any plant ----------------------------------------------------------------------
def plant_dataset(
    plant: Any,
    initial_states: Any,
    moves: int = 1,
    steps_per_move: int = 1,
    n_input_levels: int = 4,
    random_state: int | np.random.Generator | None = 0,
    test_fraction: float = 0.3,
    val_fraction: float = 0.1,
) -> SequenceDataset:
    """A surrogate dataset simulated from any plant, laid out for the MPC.

    The protocol of :func:`cstr_dataset` for a user's :class:`plants.Plant`:
    every initial state is combined with every input of an ``n_input_levels``
    per input grid over ``input_lower``..``input_upper``; each sample runs
    ``moves`` sampling periods, the input of each later move drawn at random from
    the same grid. Features are the initial state (held) and the input applied,
    outputs the states, so that a model trained on it fits
    :class:`~iclcontrol.mpc.SurrogateMPC`. The card records ``moves`` and
    ``steps_per_move``; a model fit on the dataset keeps them, and the MPC
    takes its ``steps_per_move`` and its ``moves`` (as the horizon, at most 2) by
    default.

    Parameters
    ----------
    plant : plants.Plant
        The simulator.
    initial_states : array-like, shape (n, n_states)
        Initial states in the plant's coordinates. [state units]
    moves : int
        Sampling periods per sample (a model for an MPC horizon of ``moves``).
    steps_per_move : int
        Records per sampling period. 1 uses ``plant.step``; more use
        ``plant.trajectory(x, u, n_records)``, the states recorded ``n_records``
        times, evenly, over one period (shape (n, n_records, n_states)), which a
        :class:`plants.Plant` with the default ``step`` has (a plant that
        overrides ``step`` needs its own ``trajectory``).
    n_input_levels : int
        Levels per input of the input grid (``n_input_levels ** n_inputs``
        inputs; at least 2, so that both bounds are in it).
    random_state : int or numpy.random.Generator or None
        Seed of the split and of the later moves' inputs.
    test_fraction, val_fraction : float
        Fractions of all samples held out for test and validation.

    Returns
    -------
    SequenceDataset
        ``X`` (n * levels ** n_inputs, moves * steps_per_move, n_states +
        n_inputs) with features ``state_names + input_names``; ``Y`` (...,
        n_states) with the recorded states. [plant units]

    Raises
    ------
    ConfigError
        ``moves``, ``steps_per_move`` or ``n_input_levels`` out of range, or
        ``steps_per_move > 1`` for a plant without ``trajectory``.
    DimensionError, DataError
        Initial states of the wrong shape or not finite, or a plant whose
        ``step``/``trajectory`` returns the wrong shape or NaN.

    Examples
    --------
    >>> ds = plant_dataset(MyTanks(), x0_grid, moves=2)     # doctest: +SKIP
    >>> model = SurrogateModel("iclrnn").fit(ds)             # doctest: +SKIP
    >>> mpc = SurrogateMPC(model, MyTanks(), MPCSettings(horizon=2, ...))
    ... # doctest: +SKIP
    >>> mpc.settings.steps_per_move  # the model's, recorded from ds  # doctest: +SKIP
    1
    """
    import itertools

    for name, value, least in (
        ("moves", moves, 1),
        ("steps_per_move", steps_per_move, 1),
        ("n_input_levels", n_input_levels, 2),
    ):
        _check_int(name, value, least)
    own_records = getattr(plant, "has_own_records", lambda: True)
    if steps_per_move > 1 and not (hasattr(plant, "trajectory") and own_records()):
        raise ConfigError(
            f"steps_per_move={steps_per_move} needs records inside a sampling "
            f"period, but {type(plant).__name__} has no trajectory(x, u, "
            "n_records) method; use steps_per_move=1 (one record per period) or "
            "add trajectory to the plant"
        )
    start = time.perf_counter()
    x0 = plant.check_states(initial_states)
    rng = np.random.default_rng(random_state)
    levels = [
        np.linspace(lo, hi, n_input_levels)
        for lo, hi in zip(plant.input_lower, plant.input_upper, strict=True)
    ]
    u_grid = np.array(list(itertools.product(*levels)))
    states = np.repeat(x0, len(u_grid), axis=0)
    n, nx = len(states), plant.n_states
    records, inputs = [], []
    expected: tuple[int, ...]  # (n, nx) per step or (n, records, nx) per move
    u = np.tile(u_grid, (len(x0), 1))
    x = states
    for move in range(moves):
        if move > 0:
            u = u_grid[rng.integers(0, len(u_grid), size=n)]
        if steps_per_move == 1:
            what, expected = "step", (n, nx)
            out = np.asarray(plant.step(x, u), dtype=float)
        else:
            what, expected = "trajectory", (n, steps_per_move, nx)
            out = np.asarray(plant.trajectory(x, u, n_records=steps_per_move))
        if out.shape != expected:
            raise DimensionError(
                f"{type(plant).__name__}.{what} returned shape {out.shape} for a "
                f"batch of {n} states; expected {expected} (states "
                f"{tuple(plant.state_names)})"
            )
        traj = out.reshape(n, steps_per_move, nx)
        if not np.all(np.isfinite(traj)):
            bad = int(np.flatnonzero(~np.isfinite(traj).all(axis=(1, 2)))[0])
            raise DataError(
                f"{type(plant).__name__} returned NaN or infinite states in move "
                f"{move + 1} of sample {bad} (from {x[bad].tolist()} with inputs "
                f"{u[bad].tolist()}); check rhs and the initial states"
            )
        records.append(traj)
        inputs.append(np.repeat(u[:, None, :], steps_per_move, axis=1))
        x = traj[:, -1, :]
    Y = np.concatenate(records, axis=1)
    U = np.concatenate(inputs, axis=1)
    X = np.concatenate([np.repeat(states[:, None, :], U.shape[1], axis=1), U], axis=2)
    card = {
        "name": f"{type(plant).__name__}-{moves}moves",
        "source": f"{type(plant).__module__}.{type(plant).__name__} simulation "
        "(iclcontrol.data.plant_dataset)",
        "moves": moves,
        "steps_per_move": steps_per_move,
        "n_initial_states": len(x0),
        "n_input_levels": n_input_levels,
        "split_seed": (
            int(random_state) if isinstance(random_state, (int, np.integer)) else None
        ),
        "build_seconds": time.perf_counter() - start,
        "sample_interval_s": plant.sampling_period * 3600.0 / steps_per_move,
    }
    return make_dataset(
        X,
        Y,
        tuple(plant.state_names) + tuple(plant.input_names),
        tuple(plant.state_units) + tuple(plant.input_units),
        plant.state_names,
        plant.state_units,
        card,
        split_indices(n, test_fraction, val_fraction, random_state),
    )


# -- a user's time series -----------------------------------------------------------
#: Records per sampling period of :func:`csv_dataset`: each row of a log (after
#: ``resample``) is one period, so a model of it predicts one row per network step.
CSV_STEPS_PER_MOVE = 1

#: Column separators recognized in a text table's header line.
SEPARATORS = (",", ";", "\t", "|")


def _separator(file: Path) -> str:
    """The separator that splits the header line of ``file`` most (',' if none).

    Header names rarely contain a separator, so counting them there tells a
    spreadsheet's or historian's ';'- or tab-separated export from a CSV.
    """
    with file.open(encoding="utf-8", errors="replace") as handle:
        header = handle.readline()
    counts = {sep: header.count(sep) for sep in SEPARATORS}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] > 0 else ","


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV (or other delimited text) or Parquet file, chosen by its suffix.

    Text files (.csv, .txt, .tsv) may be separated by ',', ';', tabs or '|' (the
    separator is read from the header line; spaces after it are ignored, in
    names as in values). A ';'-separated file is read with decimal commas
    (``"1,5"`` is 1.5), as spreadsheets write it where the comma is the decimal
    mark; cells with a decimal point are read as well.
    """
    file = Path(path)
    if not file.is_file():
        raise DataError(f"no such file: {file}")
    suffix = file.suffix.lower()
    try:
        if suffix in (".csv", ".txt", ".tsv"):
            sep = _separator(file)
            # skipinitialspace: "time, u, y" names the columns "u", not " u"
            return pd.read_csv(
                file,
                sep=sep,
                decimal="," if sep == ";" else ".",
                skipinitialspace=True,
            )
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(file)
    except pd.errors.EmptyDataError:
        raise DataError(f"{file} is empty: expected a header line and rows") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as err:
        raise DataError(f"cannot read {file}: {err}") from err
    raise DataError(
        f"cannot read {file.name}: expected a .csv (.txt, .tsv) or .parquet file, "
        f"got {suffix!r}"
    )


#: Units accepted by ``csv_dataset(time_unit=...)`` for a numeric time column.
TIME_UNITS = ("D", "h", "min", "s", "ms", "us", "ns")


def _check_columns(frame: pd.DataFrame, wanted: Sequence[str], role: str) -> None:
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        names = [str(c) for c in frame.columns]
        close = {
            c: match[0]
            for c in missing
            if (match := difflib.get_close_matches(str(c), names, n=1))
        }
        hint = (
            "; did you mean "
            + ", ".join(f"{v!r} for {k!r}" for k, v in close.items())
            + "?"
        )
        raise DataError(
            f"unknown {role} column(s) {missing}; the file has columns "
            f"{list(frame.columns)}" + (hint if close else "")
        )


def _column_names(value: str | Sequence[str], role: str) -> list[str]:
    """A column list; a single string is one column, not a sequence of letters."""
    names = [value] if isinstance(value, str) else list(value)
    if not names:
        raise ConfigError(f"give at least one {role} column")
    repeated = sorted({c for c in names if names.count(c) > 1})
    if repeated:
        raise ConfigError(f"{role} column(s) {repeated} given more than once")
    return names


def _check_int(name: str, value: Any, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")


def _parse_times(column: pd.Series, name: str, time_unit: str | None) -> pd.Series:
    """Timestamps of the time column (NaT where a cell is empty or unparseable)."""
    numeric = pd.api.types.is_numeric_dtype(column)
    if time_unit is not None:
        if time_unit not in TIME_UNITS:
            raise ConfigError(
                f"time_unit must be one of {', '.join(TIME_UNITS)}, got {time_unit!r}"
            )
        if not numeric:
            raise DataError(
                f"time_unit={time_unit!r} is for a numeric time column, but "
                f"{name!r} holds {column.dtype} values; leave time_unit unset"
            )
        unit = "m" if time_unit == "min" else time_unit
        return pd.to_datetime(column, unit=unit)
    if numeric:
        # pandas would read numbers as nanoseconds since 1970: never what a log means
        raise DataError(
            f"time column {name!r} is numeric (e.g. {column.iloc[0]}); give its "
            f"unit with time_unit (CLI: --time-unit), one of {', '.join(TIME_UNITS)}, "
            "e.g. 's' for seconds (since 1970 or since the start of the log), or "
            "store timestamps as text such as 2024-01-01 00:00:00"
        )
    try:
        return pd.to_datetime(column)
    except (ValueError, TypeError) as err:
        if "Mixed timezones" in str(err):
            # the UTC offset changes within the log (daylight saving time): the
            # timestamps are still one time line, which UTC represents
            try:
                return pd.to_datetime(column, utc=True)
            except (ValueError, TypeError) as err2:
                err = err2
        raise DataError(f"time column {name!r} could not be parsed: {err}") from err


def _numeric_values(
    frame: pd.DataFrame, columns: list[str]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Columns as floats, with NaN for empty, non-numeric and infinite cells.

    Returns the values and per-column counts of the cells set to NaN, by cause. A
    column without a single finite number is an error naming it.
    """
    raw = frame[columns]
    values = raw.apply(pd.to_numeric, errors="coerce").astype(float)
    non_numeric = (values.isna() & raw.notna()).sum()
    infinite = np.isinf(values).sum()
    values = values.mask(np.isinf(values))
    for c in columns:
        if values[c].notna().any():
            continue
        if non_numeric[c]:
            example = raw[c][raw[c].notna()].iloc[0]
            raise DataError(
                f"column {c!r} holds no number (e.g. {example!r}); choose numeric "
                "columns as inputs and outputs, or convert this one"
            )
        raise DataError(f"column {c!r} holds no finite number (all empty, NaN or inf)")
    counts = {
        "non_numeric_cells": {c: int(n) for c, n in non_numeric.items() if n},
        "infinite_cells": {c: int(n) for c, n in infinite.items() if n},
    }
    return values, counts


def csv_dataset(
    path: str | Path | pd.DataFrame,
    time_column: str,
    inputs: str | Sequence[str],
    outputs: str | Sequence[str],
    window: int,
    stride: int = 1,
    resample: str | None = None,
    split: str = "chronological",
    test_fraction: float = 0.3,
    val_fraction: float = 0.1,
    random_state: int | np.random.Generator | None = 0,
    time_unit: str | None = None,
    units: dict[str, str] | None = None,
    mpc_layout: bool = False,
) -> SequenceDataset:
    """Windows of a logged time series as a sequence dataset.

    Rows are sorted by time and duplicated timestamps keep their first row; rows
    whose timestamp is empty or unparseable are dropped. Cells that are empty,
    non-numeric (``"1,5"``, ``"n/a"``) or infinite count as NaN. The sample interval
    is the median time step; a step longer than 1.5 times that is a gap. Windows that
    touch a gap or a NaN are dropped, and the card's ``cleaning`` section says how
    many and why, and which columns are constant (``constant_columns``) or vary
    only outside the training windows (``constant_in_train_split``: the model
    cannot learn their effect).

    With ``mpc_layout=True`` the outputs are the plant's states and the windows
    have the layout of :func:`plant_dataset`, which :class:`~iclcontrol.mpc.
    SurrogateMPC` needs (features = states then inputs, outputs = the states).
    A window starting at row ``t`` has, at step ``k`` (0 .. ``window`` - 1),
    the features ``[outputs at row t, inputs at row t + k]`` (the state measured
    when the window starts, held, then the input applied over step ``k``) and the
    targets ``outputs at row t + k + 1`` (the state one sampling period later).
    A window then takes ``window + 1`` rows without a gap between them, with no
    NaN in the outputs of any and in the inputs of the first ``window``.

    Parameters
    ----------
    path : str, pathlib.Path or pandas.DataFrame
        A .csv or .parquet file, or a frame already in memory.
    time_column : str
        Column with timestamps (anything ``pandas.to_datetime`` parses; ISO
        timestamps whose UTC offset changes, as at daylight saving time, are read
        in UTC), or the name of the index of a time-indexed frame (a Parquet file
        written from one restores that index). A numeric column needs
        ``time_unit``.
    inputs, outputs : str or sequence of str
        Column names of the model's input features and outputs (a single string is
        one column). A column may not appear twice, be both an input and an output
        (the model would see its target; feed past outputs as a lagged copy in a
        column of its own, or use ``mpc_layout``) or be the time column.
    window : int
        Samples per sequence.
    stride : int
        Samples between the starts of consecutive windows.
    resample : str, optional
        A pandas offset alias (``"15min"``); values are averaged per bin.
    split : {"chronological", "random"}
        Chronological keeps the first windows for training, then validation, then
        test; windows that share rows with a later split are purged (their number
        is ``windows_purged_overlap`` in the cleaning report), so no row is seen by
        two splits. Random shuffles windows with ``random_state`` (overlapping
        windows may then share rows across splits).
    test_fraction, val_fraction : float
        Fractions of windows for test and validation (before purging).
    random_state : int, numpy.random.Generator or None
        Seed of the random split.
    time_unit : {"D", "h", "min", "s", "ms", "us", "ns"}, optional
        Unit of a numeric time column (counted from 1970-01-01, so both epoch
        seconds and seconds since the start of the log work). Without it a
        numeric time column is an error, since pandas would read it as
        nanoseconds.
    units : dict of str to str, optional
        Unit of each input and output column (``{"T": "K", "Q": "kJ/h"}``);
        columns not named have no unit (""). Models trained on the dataset keep
        them, and ``iclcontrol certify`` shows them.
    mpc_layout : bool
        Lay the windows out for the MPC (above; CLI: ``--mpc-layout``): the
        outputs are the states, fed automatically as the first features, so an
        output may not be an input too. Give the outputs in the order and with
        the names of the plant's ``state_names`` and the inputs as its
        ``input_names``.

    Returns
    -------
    SequenceDataset
        ``X`` (n, window, len(inputs)), ``Y`` (n, window, len(outputs)); with
        ``mpc_layout``, ``X`` (n, window, len(outputs) + len(inputs)) with
        features ``outputs + inputs`` [their units]. Its card records
        ``layout`` ("columns" or "mpc") and ``steps_per_move`` = 1
        (:data:`CSV_STEPS_PER_MOVE`): a row is one sampling period, so a model
        fit on it gives the MPC and ``to_do_mpc`` one network step per period,
        with no warning; with ``mpc_layout`` also ``moves`` = ``window`` (the
        sampling periods a window covers, as in :func:`plant_dataset`).

    Raises
    ------
    ConfigError
        Invalid window, stride, resample alias, split or column roles (with
        ``mpc_layout``: an output also given as an input), or a unit for a column
        that is not an input or output.
    DataError
        Unreadable file, unknown or non-numeric columns, unparseable time column,
        no window left after cleaning (with ``mpc_layout``: no ``window + 1``
        consecutive clean rows), or windows that would take more than
        :data:`MAX_WINDOWS_GB` of memory (the message gives the size; use a
        larger stride, a shorter window or fewer rows).
    """
    inputs = _column_names(inputs, "input")
    outputs = _column_names(outputs, "output")
    _check_int("window", window)
    _check_int("stride", stride)
    if split not in ("chronological", "random"):
        raise ConfigError(f"split must be 'chronological' or 'random', got {split!r}")
    both = [c for c in outputs if c in inputs]
    if both and mpc_layout:
        raise ConfigError(
            f"column(s) {both} are outputs (the states) and inputs: with the MPC "
            "layout each window feeds the outputs' values at its first row as "
            f"features automatically; drop {both} from the inputs (CLI: --inputs "
            f"{','.join(c for c in inputs if c not in both) or '...'})"
        )
    if both:
        raise ConfigError(
            f"column(s) {both} are both input and output: the model would see the "
            "target it has to predict; to feed past outputs, add a lagged copy as a "
            "column of its own, or for a model of a plant whose states these are "
            "(for the MPC), drop them from the inputs and use mpc_layout=True (CLI: "
            "--mpc-layout)"
        )
    if time_column in inputs + outputs:
        raise ConfigError(
            f"the time column {time_column!r} cannot be an input or an output"
        )
    units = dict(units or {})
    stray = [c for c in units if c not in inputs + outputs]
    if stray:
        raise ConfigError(
            f"units given for {stray}, which are not inputs or outputs "
            f"({inputs + outputs}); give units of those columns only"
        )
    if resample is not None:
        try:
            pd.tseries.frequencies.to_offset(resample)
        except (ValueError, TypeError):
            raise ConfigError(
                f"resample={resample!r} is not a pandas offset alias; use e.g. "
                "'30s', '15min', '1h' or '1D'"
            ) from None
    frame = path.copy() if isinstance(path, pd.DataFrame) else read_table(path)
    source = "DataFrame" if isinstance(path, pd.DataFrame) else str(path)
    if time_column not in frame.columns and time_column in frame.index.names:
        # a time-indexed frame, or a Parquet file written from one
        frame = frame.reset_index()
    _check_columns(frame, [time_column], "time")
    _check_columns(frame, inputs, "input")
    _check_columns(frame, outputs, "output")
    columns = inputs + outputs
    times = _parse_times(frame[time_column], time_column, time_unit)
    values, cell_counts = _numeric_values(frame, columns)
    values.index = pd.DatetimeIndex(times)
    n_rows = len(values)
    bad_time = values.index.isna()
    values = values[~bad_time]
    n_unsorted = int((np.diff(values.index.asi8) < 0).sum()) if len(values) > 1 else 0
    values = values.sort_index(kind="stable")
    values.index = values.index.as_unit("ns")
    duplicated = values.index.duplicated(keep="first")
    values = values[~duplicated]
    if resample is not None:
        values = values.resample(resample).mean()
    # rows a window takes: its steps, and in the MPC layout the state one period
    # after the last step (the last target)
    span = window + 1 if mpc_layout else window
    what_rows = (
        f"{span} rows (window={window} steps and, in the MPC layout, the state "
        "one sampling period after the last)"
        if mpc_layout
        else f"{window} rows"
    )
    if len(values) < span:
        raise DataError(
            f"window={window} is longer than the data: a window takes {what_rows}, "
            f"the data has {len(values)} rows after cleaning; use a shorter window"
            + (f" (at most {fits})" if (fits := len(values) - span + window) else "")
        )
    step_ns = np.diff(values.index.asi8)
    interval = float(np.median(step_ns)) if len(step_ns) else 0.0
    is_gap = step_ns > 1.5 * interval
    input_bad = values[inputs].isna().any(axis=1).to_numpy()
    output_bad = values[outputs].isna().any(axis=1).to_numpy()
    row_bad = input_bad | output_bad
    starts = np.arange(0, len(values) - span + 1, stride)

    def _count(flags: np.ndarray, rows: int) -> np.ndarray:
        # prefix sums: how many flags in rows [s, s + rows) of each window start
        total = np.concatenate([[0], np.cumsum(flags)])
        return total[starts + rows] - total[starts]

    # a window uses the inputs of its first `window` rows and the outputs of all
    # its `span` rows (the MPC layout's last row gives a target only), and its
    # rows must follow each other without a gap
    has_nan = (_count(input_bad, window) > 0) | (_count(output_bad, span) > 0)
    has_gap = _count(is_gap, span - 1) > 0
    keep = starts[~has_nan & ~has_gap]
    nan_cells = {c: int(n) for c, n in values.isna().sum().items() if n}
    if len(keep) == 0:
        longest = _longest_clean_stretch(row_bad, is_gap)
        raise DataError(
            f"no window of {what_rows} is free of NaN and time gaps "
            f"({int(row_bad.sum())} rows with NaN, {int(is_gap.sum())} gaps; NaN "
            f"cells per column {nan_cells}, of which non-numeric "
            f"{cell_counts['non_numeric_cells']}, infinite "
            f"{cell_counts['infinite_cells']}; the longest stretch of rows free "
            f"of both has {longest}); "
            + (
                f"use window <= {longest - span + window} or clean these columns"
                if longest - span + window >= 1
                else "clean these columns"
            )
            + (
                # irregular logs (e.g. a historian storing on change) have a gap
                # wherever a step exceeds 1.5 median steps
                f"; for an irregular time step (median {interval / 1e9:g} s), "
                "resample to a regular one, e.g. resample='1min' (CLI: "
                "--resample 1min)"
                if is_gap.any()
                else ""
            )
        )
    n = len(keep)
    check_window_memory(
        n,
        span,
        len(columns),
        "the windows",
        f"{n} windows x {span} rows x {len(columns)} columns of {len(values)} rows "
        f"with stride {stride}",
        "use a larger stride (stride=, CLI: --stride; each row is copied into "
        "window / stride windows), a shorter window, or fewer rows (a shorter log, "
        "or resample to a coarser step, CLI: --resample)",
    )
    purged = 0
    if split == "random":
        splits = split_indices(n, test_fraction, val_fraction, random_state)
    else:
        split_indices(n, test_fraction, val_fraction)  # validates the fractions
        n_test, n_val = round(n * test_fraction), round(n * val_fraction)
        order = np.arange(n)
        train = order[: n - n_test - n_val]
        val = order[n - n_test - n_val : n - n_test]
        test = order[n - n_test :]

        def _purge(part: np.ndarray, later: np.ndarray) -> np.ndarray:
            # windows of ``part`` that end before the first row of ``later``
            if len(later) == 0:
                return part
            return part[keep[part] + span <= keep[later[0]]]

        val_kept = _purge(val, test)
        train_kept = _purge(train, np.concatenate([val_kept, test]))
        if len(train_kept) == 0:
            raise DataError(
                f"the chronological split leaves no training window: of {n} "
                f"windows of {what_rows} ({len(values)} rows after cleaning), "
                f"the last {n_test} are for test and {n_val} for validation, and "
                "every earlier window shares rows with them (purged so that no "
                "row is in two splits); use a shorter window, a longer log, a "
                "smaller test_fraction or val_fraction, or split='random' (CLI: "
                "--split random)"
            )
        purged = len(train) + len(val) - len(train_kept) - len(val_kept)
        keep = keep[np.concatenate([train_kept, val_kept, test])]
        n_train, n_val = len(train_kept), len(val_kept)
        order = np.arange(len(keep))
        splits = {
            "train": order[:n_train],
            "val": order[n_train : n_train + n_val],
            "test": order[n_train + n_val :],
        }
    array = values.to_numpy(dtype=float)
    windows = array[keep[:, None] + np.arange(span)[None, :]]
    at_inputs = [columns.index(c) for c in inputs]
    at_outputs = [columns.index(c) for c in outputs]
    constant = [c for c in columns if values[c].nunique(dropna=True) <= 1]
    # a column that varies in the log but not in the training windows: the model
    # never sees its effect, and later values are far outside its scaler's range
    # (the cells the windows use: not the inputs of the MPC layout's last row)
    train = windows[splits["train"]]
    ranges = [
        np.ptp(part.reshape(-1, part.shape[2]), axis=0)
        if part.size
        else np.zeros(part.shape[2])
        for part in (train[:, :window, at_inputs], train[:, :, at_outputs])
    ]
    del train
    constant_in_train = [
        c
        for c, v in zip(columns, np.concatenate(ranges), strict=True)
        if v == 0 and c not in constant
    ]
    if mpc_layout:
        # step k: [outputs at row t, inputs at row t + k] -> outputs at row t + k + 1
        start_state = np.repeat(windows[:, :1, at_outputs], window, axis=1)
        X = np.concatenate([start_state, windows[:, :window, at_inputs]], axis=2)
        Y = windows[:, 1:, at_outputs]
        del start_state
        feature_names = outputs + inputs
    else:
        X = windows[:, :, at_inputs]
        Y = windows[:, :, at_outputs]
        feature_names = inputs
    del windows
    cleaning = {
        "rows": n_rows,
        "rows_with_bad_time": int(bad_time.sum()),
        "rows_out_of_order": n_unsorted,
        "duplicate_timestamps_dropped": int(duplicated.sum()),
        "rows_with_nan": int(row_bad.sum()),
        "nan_cells": nan_cells,
        **cell_counts,
        "time_gaps": int(is_gap.sum()),
        "windows_total": len(starts),
        "windows_dropped_nan": int(has_nan.sum()),
        "windows_dropped_gap": int((has_gap & ~has_nan).sum()),
        "windows_purged_overlap": purged,
        "windows_kept": len(keep),
        "constant_columns": constant,
        "constant_in_train_split": constant_in_train,
        "sample_interval_s": interval / 1e9,
    }
    card = {
        "name": Path(source).stem if source != "DataFrame" else "dataframe",
        "source": source,
        "time_column": time_column,
        "time_unit": time_unit,
        "window": window,
        "stride": stride,
        "resample": resample,
        "split": split,
        "split_seed": (
            int(random_state) if isinstance(random_state, (int, np.integer)) else None
        ),
        # "mpc": features = outputs at the window's start + inputs, targets = the
        # outputs one row later (the MPC's layout); "columns": inputs -> outputs
        "layout": "mpc" if mpc_layout else "columns",
        # one row per sampling period: what the MPC and to_do_mpc read
        "steps_per_move": CSV_STEPS_PER_MOVE,
        "cleaning": cleaning,
    }
    if mpc_layout:
        # a window is `window` sampling periods from one state (plant_dataset's)
        card["moves"] = window
    return make_dataset(
        X,
        Y,
        feature_names,
        [str(units.get(c, "")) for c in feature_names],
        outputs,
        [str(units.get(c, "")) for c in outputs],
        card,
        splits,
    )


def _longest_clean_stretch(row_bad: np.ndarray, is_gap: np.ndarray) -> int:
    """Most consecutive rows with no NaN and no time gap between them.

    Parameters
    ----------
    row_bad : numpy.ndarray of bool, shape (n,)
        Rows with a NaN.
    is_gap : numpy.ndarray of bool, shape (n - 1,)
        Whether the step from each row to the next is a gap.
    """
    if len(row_bad) == 0:
        return 0
    # a new stretch starts at a row after a gap or next to a NaN row
    new = np.concatenate([[True], is_gap | row_bad[1:] | row_bad[:-1]])
    label = np.cumsum(new)[~row_bad]
    return int(np.bincount(label).max()) if len(label) else 0
