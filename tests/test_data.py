"""Tests of iclcontrol.data: the CSTR dataset, scalers, and a user's time series."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from iclcontrol.data import (
    MinMaxScaler,
    SequenceDataset,
    cstr_dataset,
    cstr_initial_states,
    csv_dataset,
)
from iclcontrol.exceptions import DataError, DimensionError, ModelFileError
from plants import CSTR


@pytest.fixture(scope="module")
def cstr():
    return cstr_dataset()


def test_reference_protocol_sizes(cstr):
    # REFERENCE.md: 772 stable initial states x 16 inputs = 12352 samples of 10 steps
    assert len(cstr_initial_states()) == 772
    assert cstr.X.shape == (12352, 10, 4) and cstr.Y.shape == (12352, 10, 2)
    assert sum(len(v) for v in cstr.splits.values()) == 12352
    assert round(12352 * 0.3) == len(cstr.splits["test"])
    all_idx = np.concatenate(list(cstr.splits.values()))
    assert len(np.unique(all_idx)) == 12352


def test_reference_check_sample(cstr):
    # the REFERENCE.md check sample is in the set with its recorded outputs
    hit = np.flatnonzero(
        np.isclose(cstr.X[:, 0, 0], 1.440239394)
        & np.isclose(cstr.X[:, 0, 1], -74.59997273)
        & (cstr.X[:, 0, 2] == -3.5)
        & (cstr.X[:, 0, 3] == -5e5)
    )
    assert len(hit) == 1
    assert_allclose(cstr.Y[hit[0], 0, ::-1], [-75.72458929, 1.4325163], atol=1e-6)


def test_scalers_fit_on_train_only(cstr):
    _, Y_train = cstr.subset("train")
    scaled = cstr.y_scaler.transform(Y_train).reshape(-1, 2)
    assert_allclose(scaled.min(axis=0), 0.0, atol=1e-12)
    assert_allclose(scaled.max(axis=0), 1.0, atol=1e-12)
    # on the whole set the test split may leave [0, 1]; the train extremes are exact
    assert_allclose(cstr.y_scaler.data_min_, Y_train.reshape(-1, 2).min(axis=0))
    all_min = cstr.Y.reshape(-1, 2).min(axis=0)
    assert np.all(cstr.y_scaler.data_min_ >= all_min)


def test_multi_move_dataset_chains_periods():
    ds = cstr_dataset(moves=2, n_grid=20)
    assert ds.X.shape[1] == 20
    # the second move starts from the first move's end state
    plant = CSTR()
    i = 5
    x_mid = ds.Y[i, 9]
    u2 = ds.X[i, 10, 2:]
    assert_allclose(plant.step(x_mid, u2)[0], ds.Y[i, 19], rtol=1e-12)
    # initial state is held constant over the sequence
    assert np.all(ds.X[i, :, :2] == ds.X[i, 0, :2])


def test_target_noise_protocol(cstr):
    clean = cstr.scaled("train")[1]
    noisy = cstr.noisy_scaled_targets(0.3, random_state=0)
    assert noisy.std() > clean.std()
    assert_allclose((noisy - clean).std(), 0.3, rtol=0.02)  # 148k draws: 1% sd error
    assert_allclose(cstr.noisy_scaled_targets(0.0), clean)


def test_scaler_round_trip_and_constant_features():
    data = np.array([[1.0, 5.0], [3.0, 5.0], [2.0, 5.0]])
    scaler = MinMaxScaler((-1, 1)).fit(data)
    assert_allclose(scaler.transform(data)[:, 0], [-1, 1, 0])
    assert np.all(np.isfinite(scaler.transform(data)))
    assert_allclose(scaler.inverse_transform(scaler.transform(data)), data)
    again = MinMaxScaler.from_dict(scaler.to_dict())
    assert_allclose(again.transform(data), scaler.transform(data))
    with pytest.raises(DimensionError, match="3 features"):
        scaler.transform(np.zeros((2, 3)))


def test_save_load_round_trip(tmp_path, cstr):
    cstr.save(tmp_path / "ds")
    back = SequenceDataset.load(tmp_path / "ds")
    assert_allclose(back.X, cstr.X) and assert_allclose(back.Y, cstr.Y)
    for k in cstr.splits:
        assert np.array_equal(back.splits[k], cstr.splits[k])
    assert_allclose(back.x_scaler.scale_, cstr.x_scaler.scale_)
    assert back.card["source"] == cstr.card["source"]
    (tmp_path / "ds" / "arrays.npz").write_bytes(b"truncated")
    with pytest.raises(ModelFileError, match="corrupted"):
        SequenceDataset.load(tmp_path / "ds")
    with pytest.raises(ModelFileError, match="not a dataset folder"):
        SequenceDataset.load(tmp_path / "nothing")


def _messy_log(tmp_path):
    t = pd.date_range("2024-03-01", periods=120, freq="1min")
    frame = pd.DataFrame(
        {"time": t, "u": np.arange(120.0), "y": 2 * np.arange(120.0), "k": 1.0}
    )
    frame.loc[30, "y"] = np.nan  # a NaN gap
    frame = frame.drop(index=range(60, 63))  # a 3-minute hole in the clock
    frame = pd.concat([frame, frame.iloc[[10]]])  # a duplicated timestamp
    frame = frame.sample(frac=1.0, random_state=4)  # rows out of order
    path = tmp_path / "log.csv"
    frame.to_csv(path, index=False)
    return path


def test_csv_cleaning_and_windows(tmp_path):
    ds = csv_dataset(_messy_log(tmp_path), "time", ["u", "k"], ["y"], window=5)
    c = ds.card["cleaning"]
    assert c["duplicate_timestamps_dropped"] == 1
    assert c["rows_with_nan"] == 1 and c["time_gaps"] == 1
    assert c["rows_out_of_order"] > 0 and c["constant_columns"] == ["k"]
    # 117 unique rows -> 113 windows; 5 contain row 30, 4 span the hole (59 -> 63)
    assert c["windows_total"] == 113
    assert c["windows_dropped_nan"] == 5 and c["windows_dropped_gap"] == 4
    assert ds.n_samples == 104
    # windows are consecutive, sorted, and outputs line up with inputs
    assert np.all(np.diff(ds.X[:, :, 0], axis=1) == 1.0)
    assert_allclose(ds.Y[:, :, 0], 2 * ds.X[:, :, 0])
    assert c["sample_interval_s"] == 60.0
    # chronological split: every test window starts after every train window
    assert ds.X[ds.splits["test"], 0, 0].min() > ds.X[ds.splits["train"], 0, 0].max()


def test_csv_errors_name_the_problem(tmp_path):
    path = _messy_log(tmp_path)
    with pytest.raises(DataError, match=r"unknown input column\(s\) \['flow'\]"):
        csv_dataset(path, "time", ["flow"], ["y"], window=5)
    with pytest.raises(DataError, match="longer than the data"):
        csv_dataset(path, "time", ["u"], ["y"], window=1000)
    (tmp_path / "log.xlsx").write_bytes(b"")
    with pytest.raises(DataError, match=r"expected a \.csv or \.parquet"):
        csv_dataset(tmp_path / "log.xlsx", "time", ["u"], ["y"], window=5)
    with pytest.raises(DataError, match="no such file"):
        csv_dataset(tmp_path / "missing.csv", "time", ["u"], ["y"], window=5)


def test_parquet_and_resample(tmp_path):
    t = pd.date_range("2024-01-01", periods=60, freq="1min")
    frame = pd.DataFrame({"time": t, "u": np.arange(60.0), "y": np.ones(60)})
    frame.to_parquet(tmp_path / "log.parquet")
    ds = csv_dataset(tmp_path / "log.parquet", "time", ["u"], ["y"], 3, resample="5min")
    # 5-minute means of 0..59 are 2, 7, 12, ...
    assert_allclose(ds.X[0, :, 0], [2.0, 7.0, 12.0])
