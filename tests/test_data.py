"""Tests of iclcontrol.data: the CSTR dataset, scalers, and a user's time series."""

import dataclasses
import json

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
from iclcontrol.exceptions import (
    ConfigError,
    DataError,
    DimensionError,
    ModelFileError,
)
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
    # 104 windows; the chronological split purges the 4 last train windows and the
    # 4 last val windows, which share rows with the next split's first window
    assert c["windows_purged_overlap"] == 8 and ds.n_samples == c["windows_kept"] == 96
    # windows are consecutive, sorted, and outputs line up with inputs
    assert np.all(np.diff(ds.X[:, :, 0], axis=1) == 1.0)
    assert_allclose(ds.Y[:, :, 0], 2 * ds.X[:, :, 0])
    assert c["sample_interval_s"] == 60.0
    # chronological split: every test window starts after every train window
    assert ds.X[ds.splits["test"], 0, 0].min() > ds.X[ds.splits["train"], 0, 0].max()
    assert sum(len(v) for v in ds.splits.values()) == ds.n_samples


def test_chronological_split_shares_no_row_between_splits():
    t = pd.date_range("2024-01-01", periods=200, freq="1min")
    frame = pd.DataFrame({"time": t, "u": np.arange(200.0), "y": np.ones(200)})
    ds = csv_dataset(frame, "time", ["u"], ["y"], window=10, stride=1)
    rows = {k: set(ds.X[v, :, 0].ravel()) for k, v in ds.splits.items()}
    assert not rows["train"] & rows["val"]
    assert not rows["val"] & rows["test"]
    assert not rows["train"] & rows["test"]
    # 191 windows: 57 test, 19 val of which 9 purged, 115 train of which 9 purged
    assert ds.card["cleaning"]["windows_purged_overlap"] == 18
    assert [len(ds.splits[k]) for k in ("train", "val", "test")] == [106, 10, 57]


def test_chronological_split_without_training_window_says_why():
    # 60 rows, windows of 30: 31 windows, the last 9 test and 3 validation; every
    # earlier window reaches into them and is purged ("training split is empty")
    frame = _frame()
    with pytest.raises(DataError, match=r"no training window: of 31 windows of 30"):
        csv_dataset(frame, "time", ["u"], ["y"], window=30)
    ds = csv_dataset(frame, "time", ["u"], ["y"], window=30, split="random")
    assert len(ds.splits["train"]) > 0


def test_time_index_of_a_frame_or_parquet_file(tmp_path):
    """A time-indexed frame (and a Parquet file written from one, whose index
    pandas restores) was 'unknown time column'."""
    frame = _frame()
    expected = csv_dataset(frame, "time", ["u"], ["y"], window=5)
    indexed = frame.set_index("time")
    indexed.to_parquet(tmp_path / "log.parquet")
    for source in (indexed, tmp_path / "log.parquet"):
        ds = csv_dataset(source, "time", ["u"], ["y"], window=5)
        assert_allclose(ds.X, expected.X)


def test_columns_constant_in_the_training_windows_are_reported(tmp_path, capsys):
    """'u' steps once, after the training windows: the model never sees it move
    (the card only listed columns constant over the whole log)."""
    from iclcontrol.cli import main

    frame = _frame(y=np.arange(60.0), k=np.full(60, 2.0))
    frame["u"] = np.where(np.arange(60) < 50, 1.0, 3.0)
    ds = csv_dataset(frame, "time", ["u", "k"], ["y"], window=5)
    train_rows = ds.X[ds.splits["train"]]
    assert np.ptp(train_rows[..., 0]) == 0 < np.ptp(ds.X[..., 0])  # the premise
    c = ds.card["cleaning"]
    assert c["constant_columns"] == ["k"] and c["constant_in_train_split"] == ["u"]
    frame.to_csv(tmp_path / "log.csv", index=False)
    args = ["data", "csv", str(tmp_path / "log.csv"), "--time-column", "time"]
    args += ["--inputs", "u,k", "--outputs", "y", "--window", "5"]
    assert main([*args, "--out", str(tmp_path / "ds")]) == 0
    err = capsys.readouterr().err
    assert "column(s) k constant in the whole log" in err
    assert "column(s) u constant in the training windows" in err


def test_semicolon_decimal_comma_and_tab_separated_exports(tmp_path):
    """A ';'-separated export with decimal commas (a European spreadsheet or
    historian) was 'Error tokenizing data', a .tsv file 'expected a .csv', and
    ', '-separated names kept their leading space."""
    frame = _frame(y=np.linspace(0.5, 30.25, 60))
    expected = csv_dataset(frame, "time", ["u"], ["y"], window=5)
    frame.to_csv(tmp_path / "log.csv", sep=";", decimal=",", index=False)
    assert "0,5" in (tmp_path / "log.csv").read_text()  # the premise
    frame.to_csv(tmp_path / "log.tsv", sep="\t", index=False)
    # "time, u, y": the columns were " u" and " y" ("unknown input column ['u']")
    spaced = frame.to_csv(index=False).replace(",", ", ")
    (tmp_path / "spaced.txt").write_text(spaced)
    for name in ("log.csv", "log.tsv", "spaced.txt"):
        ds = csv_dataset(tmp_path / name, "time", ["u"], ["y"], window=5)
        assert_allclose(ds.X, expected.X)
        assert_allclose(ds.Y, expected.Y)


def test_irregular_log_error_suggests_resampling():
    """Steps of 10, 10 and 50 s: every third step is a 'gap' (> 1.5 median steps);
    the error said 'use a shorter window or clean these columns'."""
    steps = np.tile([10, 10, 50], 40)
    t = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.cumsum(steps), unit="s")
    frame = pd.DataFrame({"time": t, "u": np.arange(120.0), "y": np.ones(120)})
    with pytest.raises(DataError, match=r"median 10 s.*resample='1min'"):
        csv_dataset(frame, "time", ["u"], ["y"], window=5)
    ds = csv_dataset(frame, "time", ["u"], ["y"], window=5, resample="1min")
    assert ds.card["cleaning"]["time_gaps"] == 0


def test_csv_errors_name_the_problem(tmp_path):
    path = _messy_log(tmp_path)
    with pytest.raises(DataError, match=r"unknown input column\(s\) \['flow'\]"):
        csv_dataset(path, "time", ["flow"], ["y"], window=5)
    with pytest.raises(DataError, match=r"did you mean 'time' for 'Time'\?"):
        csv_dataset(path, "Time", ["u"], ["y"], window=5)
    with pytest.raises(DataError, match="longer than the data"):
        csv_dataset(path, "time", ["u"], ["y"], window=1000)
    (tmp_path / "log.xlsx").write_bytes(b"")
    with pytest.raises(DataError, match=r"expected a \.csv.* or \.parquet"):
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


def _frame(n=60, **extra):
    t = pd.date_range("2024-01-01", periods=n, freq="1min")
    return pd.DataFrame({"time": t, "u": np.arange(float(n)), "y": np.ones(n), **extra})


def test_csv_bad_options_raise_clear_errors(tmp_path):
    frame = _frame()
    with pytest.raises(ConfigError, match="resample='foo' is not a pandas offset"):
        csv_dataset(frame, "time", ["u"], ["y"], window=5, resample="foo")
    with pytest.raises(ConfigError, match=r"window must be an integer, got 5\.5"):
        csv_dataset(frame, "time", ["u"], ["y"], window=5.5)
    with pytest.raises(ConfigError, match="stride must be >= 1"):
        csv_dataset(frame, "time", ["u"], ["y"], window=5, stride=0)
    with pytest.raises(ConfigError, match=r"input column\(s\) \['u'\] given more"):
        csv_dataset(frame, "time", ["u", "u"], ["y"], window=5)
    with pytest.raises(ConfigError, match=r"\['u'\] are both input and output"):
        csv_dataset(frame, "time", ["u"], ["u"], window=5)
    with pytest.raises(ConfigError, match="time column 'time' cannot be an input"):
        csv_dataset(frame, "time", ["time"], ["y"], window=5)
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match=r"empty\.csv is empty"):
        csv_dataset(tmp_path / "empty.csv", "time", ["u"], ["y"], window=5)


def test_csv_single_column_string_is_one_column():
    ds = csv_dataset(_frame(), "time", "u", "y", window=5)
    assert ds.feature_names == ("u",) and ds.output_names == ("y",)


def test_csv_numeric_time_needs_a_unit():
    frame = _frame()
    frame["time"] = np.arange(60) * 60  # seconds
    with pytest.raises(DataError, match=r"'time' is numeric.*time_unit.*'s'"):
        csv_dataset(frame, "time", ["u"], ["y"], window=5)
    with pytest.raises(DataError, match=r"numeric \(e\.g\. 0\)"):  # not np.int64(0)
        csv_dataset(frame, "time", ["u"], ["y"], window=5)
    ds = csv_dataset(frame, "time", ["u"], ["y"], window=5, time_unit="s")
    assert ds.card["cleaning"]["sample_interval_s"] == 60.0
    with pytest.raises(ConfigError, match="time_unit must be one of"):
        csv_dataset(frame, "time", ["u"], ["y"], window=5, time_unit="sec")


def test_csv_offset_change_at_daylight_saving_time():
    # one local zone (Europe/Berlin), 30-minute steps across the autumn change
    t = pd.date_range("2024-10-27 00:00", periods=12, freq="30min", tz="UTC")
    text = t.tz_convert("Europe/Berlin").strftime("%Y-%m-%dT%H:%M:%S%z")
    frame = pd.DataFrame({"time": text, "u": np.arange(12.0), "y": np.ones(12)})
    ds = csv_dataset(frame, "time", ["u"], ["y"], window=4)
    c = ds.card["cleaning"]
    assert c["time_gaps"] == 0 and c["rows_out_of_order"] == 0
    assert c["sample_interval_s"] == 1800.0


def test_csv_non_numeric_inf_and_bad_time_are_reported():
    frame = _frame().astype({"u": object, "time": object})
    frame.loc[5, "u"] = "1,5"
    frame.loc[20, "y"] = np.inf
    frame.loc[40, "time"] = ""
    ds = csv_dataset(frame, "time", ["u"], ["y"], window=3)
    c = ds.card["cleaning"]
    assert c["non_numeric_cells"] == {"u": 1}
    assert c["infinite_cells"] == {"y": 1}
    assert c["nan_cells"] == {"u": 1, "y": 1}
    assert c["rows_with_nan"] == 2 and c["rows_with_bad_time"] == 1
    assert np.all(np.isfinite(ds.X)) and np.all(np.isfinite(ds.Y))
    text = frame.assign(note="ok")
    with pytest.raises(DataError, match="column 'note' holds no number"):
        csv_dataset(text, "time", ["u", "note"], ["y"], window=3)


def test_damaged_dataset_folders_raise_model_file_error(tmp_path):
    ds = csv_dataset(_frame(), "time", ["u"], ["y"], window=5)
    folder = ds.save(tmp_path / "ds")
    raw = (folder / "arrays.npz").read_bytes()
    (folder / "arrays.npz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ModelFileError, match=r"arrays\.npz is corrupted or truncated"):
        SequenceDataset.load(folder)
    folder = ds.save(tmp_path / "ds2")
    card = json.loads((folder / "card.json").read_text())
    (folder / "card.json").write_text(
        json.dumps({k: v for k, v in card.items() if k != "x_scaler"})
    )
    with pytest.raises(
        ModelFileError, match=r"card\.json lacks the key\(s\) \['x_scaler'\]"
    ):
        SequenceDataset.load(folder)
    (folder / "card.json").write_text("[1, 2]")
    with pytest.raises(ModelFileError, match="holds a JSON list"):
        SequenceDataset.load(folder)
    (folder / "card.json").write_text("{broken")
    with pytest.raises(ModelFileError, match="is not valid JSON"):
        SequenceDataset.load(folder)
    (folder / "card.json").write_text(json.dumps({**card, "feature_names": ["a", "b"]}))
    with pytest.raises(ModelFileError, match=r"2 feature names .* for 1 feature"):
        SequenceDataset.load(folder)


def test_dataset_parts_must_agree_and_be_finite():
    ds = csv_dataset(_frame(), "time", ["u"], ["y"], window=5)
    with pytest.raises(DimensionError, match="2 feature names"):
        dataclasses.replace(ds, feature_names=("u", "v"))
    ds.feature_names = ("u", "v")  # changed after construction
    with pytest.raises(DimensionError, match="2 feature names"):
        ds.save("unused")
    ds.feature_names = ("u",)
    bad = dataclasses.replace(ds, Y=ds.Y.copy())
    bad.Y[bad.splits["test"][2], 1, 0] = np.nan
    bad.check_finite(["train", "val"])
    with pytest.raises(
        DataError, match=r"'test' split has NaN or inf in Y of 1 sample"
    ):
        bad.check_finite()


def test_windows_too_large_for_memory_are_refused_with_the_fix(monkeypatch):
    """A million-row log of 1-s samples in 10-min windows with stride 1 copies
    every row 600 times (14 GB): it was built without a word (and the process
    killed by the system); now a DataError gives the size and what to change."""
    import iclcontrol.data

    n_rows, window = 1_000_000, 600
    t = pd.date_range("2024-01-01", periods=n_rows, freq="1s")
    frame = pd.DataFrame({"time": t, "a": 0.0, "b": 1.0, "y": 2.0})
    # by hand: (1e6 - 600 + 1) windows x 600 rows x 3 columns x 8 bytes
    gigabytes = (n_rows - window + 1) * window * 3 * 8 / 1e9
    assert gigabytes > iclcontrol.data.MAX_WINDOWS_GB
    with pytest.raises(DataError, match=rf"{gigabytes:.1f} GB.*999401 windows.*stride"):
        csv_dataset(frame, "time", ["a", "b"], ["y"], window=window)
    # the limit is the shared one (the solar windows use it too), and it is a
    # limit: just below the size refuses, just above builds
    small = _frame()  # 60 rows, 2 columns: 51 windows of 10 rows
    size = 51 * 10 * 2 * 8 / 1e9
    monkeypatch.setattr(iclcontrol.data, "MAX_WINDOWS_GB", size * 0.99)
    with pytest.raises(DataError, match=r"51 windows x 10 rows x 2 columns"):
        csv_dataset(small, "time", ["u"], ["y"], window=10, split="random")
    monkeypatch.setattr(iclcontrol.data, "MAX_WINDOWS_GB", size * 1.01)
    ds = csv_dataset(small, "time", ["u"], ["y"], window=10, split="random")
    assert ds.X.shape == (51, 10, 1)


def test_csv_units_of_columns(tmp_path):
    """A CSV log had no way to give units (the dataset and the models trained on
    it said ""); units= (CLI --units) names them, per column."""
    from iclcontrol.cli import main

    frame = _frame(k=np.zeros(60))
    ds = csv_dataset(frame, "time", ["u", "k"], ["y"], window=5, units={"u": "m/s"})
    assert ds.feature_units == ("m/s", "") and ds.output_units == ("",)
    with pytest.raises(ConfigError, match=r"units given for \['time'\]"):
        csv_dataset(frame, "time", ["u"], ["y"], window=5, units={"time": "s"})
    path = tmp_path / "log.csv"
    frame.to_csv(path, index=False)
    args = ["data", "csv", str(path), "--time-column", "time", "--inputs", "u"]
    args += ["--outputs", "y", "--window", "5", "--units", "u=m/s, y=K"]
    assert main([*args, "--out", str(tmp_path / "d")]) == 0
    back = SequenceDataset.load(tmp_path / "d")
    assert back.feature_units == ("m/s",) and back.output_units == ("K",)


def test_constant_columns_ignore_missing_cells_and_the_sign_of_zero():
    """A column is constant when it holds one distinct number: empty cells do not
    count, 0.0 and -0.0 are one number, and one differing cell makes it vary."""
    n = 60
    zero = np.where(np.arange(n) % 2 == 0, 0.0, -0.0)
    k = np.full(n, 2.0)
    k[[7, 30]] = np.nan  # gaps: still the one number 2
    v = np.full(n, 2.0)
    v[45] = 2.0 + 1e-9  # one cell differs
    frame = _frame(n, z=zero, k=k, v=v)
    ds = csv_dataset(frame, "time", ["u", "z", "k", "v"], ["y"], window=5)
    assert ds.card["cleaning"]["constant_columns"] == ["z", "k", "y"]


def test_datasets_carry_steps_per_move_and_moves(tmp_path) -> None:
    """cstr_dataset's card said moves but not its 10 records per period, so a
    model of it could not tell the MPC; now every plant dataset carries both,
    dataset folders written before (no steps_per_move in card.json) read it as
    steps / moves; windows of a log record one row per period (1), folders of
    them written before read as 1 too."""
    from iclcontrol.data import provenance

    ds = cstr_dataset(moves=2, n_grid=5)
    assert (ds.moves, ds.steps_per_move) == (2, 10)
    assert ds.X.shape[1] == ds.moves * ds.steps_per_move
    record = provenance(ds)
    assert (record["moves"], record["steps_per_move"]) == (2, 10)
    folder = ds.save(tmp_path / "cstr")
    assert SequenceDataset.load(folder).steps_per_move == 10
    # a folder of the previous cstr_dataset: no steps_per_move in its card
    card = json.loads((folder / "card.json").read_text())
    del card["steps_per_move"]
    (folder / "card.json").write_text(json.dumps(card))
    old = SequenceDataset.load(folder)
    assert (old.moves, old.steps_per_move) == (2, 10)
    # windows of a time series: a row is one sampling period (no moves: a
    # window is not a number of control moves of a plant simulation)
    t = pd.date_range("2024-01-01", periods=60, freq="1min")
    frame = pd.DataFrame({"time": t, "u": np.arange(60.0), "y": np.ones(60)})
    windows = csv_dataset(frame, "time", ["u"], ["y"], window=5)
    assert (windows.moves, windows.steps_per_move) == (None, 1)
    assert provenance(windows)["steps_per_move"] == 1
    # a folder of the previous csv_dataset: no steps_per_move in its card
    folder = windows.save(tmp_path / "csv")
    card = json.loads((folder / "card.json").read_text())
    del card["steps_per_move"]
    (folder / "card.json").write_text(json.dumps(card))
    assert SequenceDataset.load(folder).steps_per_move == 1
