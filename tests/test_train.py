"""SurrogateModel: fitting, errors, determinism, save/load, CSV datasets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import iclcontrol.train as train_mod
from iclcontrol.data import cstr_dataset, csv_dataset
from iclcontrol.exceptions import (
    ConfigError,
    DataError,
    DimensionError,
    ModelFileError,
    NotFittedError,
)
from iclcontrol.train import SurrogateModel, load


@pytest.fixture(scope="module")
def ds():
    return cstr_dataset(n_grid=20, random_state=0)


@pytest.fixture(scope="module")
def model(ds):
    return SurrogateModel(
        "iclrnn", hidden=16, layers=2, max_epochs=25, verbose=False, random_state=0
    ).fit(ds)


def test_fit_learns_and_predicts_physical(model, ds):
    X, Y = ds.subset("test")
    pred = model.predict(X)
    assert pred.shape == Y.shape
    res = model.evaluate(ds)
    # predicting the training mean gives the target variance; a fitted model must
    # do far better (the full-size model reaches ~1e-4 of a variance ~0.05)
    _, Ys = ds.scaled("test")
    assert res["scaled"] < 0.2 * float(np.var(Ys.reshape(-1, 2), axis=0).mean())
    # physical MSE is the scaled MSE divided by scale^2, output by output
    scale = model.y_scaler_.scale_
    pred_s = model.y_scaler_.transform(pred)
    _, Ys = ds.scaled("test")
    per = np.mean((pred_s - Ys) ** 2, axis=(0, 1)) / scale**2
    np.testing.assert_allclose(
        [res["physical"]["CA"], res["physical"]["T"]], per, rtol=1e-6
    )
    # a single sequence (steps, n_features) is accepted
    assert model.predict(X[0]).shape == (1, 10, 2)
    # a DataFrame is accepted per step
    frame = pd.DataFrame(X[0], columns=["CA", "T", "CA0", "Q"])
    np.testing.assert_allclose(model.predict(frame), model.predict(X[:1]))
    info = model.fit_info_
    assert info["epochs"] == len(model.history_) <= 25
    assert info["samples_per_second"] > 0


def test_constraints_hold_after_training(model):
    spec = model.export_spec()
    mats = [lay[k] for lay in spec["layers"] for k in ("W", "U")]
    mats.append(spec["readout"]["W"])
    for a in mats:
        assert a.min() >= 0.0
        assert np.linalg.norm(a, 2) <= 1.0  # numpy SVD, independent of torch
    assert spec["feature_names"] == ["CA", "T", "CA0", "Q"]
    assert "x_scaler" in spec and "y_scaler" in spec


def test_learned_initial_state_lifts_the_time_monotone_floor(model, ds):
    """With h0 = 0 a trained ICLRNN predicts trajectories non-decreasing in time
    (constant input sequences), so its test MSE cannot go below the isotonic floor
    of the targets; the default learned h0 lets it follow falling trajectories."""
    from iclcontrol.study import time_monotone_floor

    Xs, Ys = ds.scaled("test")
    assert model.config_.learn_initial_state  # the default for iclrnn
    assert float(np.diff(model.predict_scaled(Xs), axis=1).min()) < -1e-3
    zero_h0 = SurrogateModel(
        "iclrnn", hidden=6, max_epochs=2, verbose=False, learn_initial_state=False
    ).fit(ds)
    pred = zero_h0.predict_scaled(Xs)
    assert float(np.diff(pred, axis=1).min()) >= -1e-5  # float32 rounding
    assert zero_h0.evaluate(ds)["scaled"] >= time_monotone_floor(Ys)


def test_deterministic_for_a_seed(ds):
    kw = {"hidden": 6, "max_epochs": 2, "verbose": False}
    a = SurrogateModel("iclrnn", random_state=3, noise_std=0.3, **kw).fit(ds)
    b = SurrogateModel("iclrnn", random_state=3, noise_std=0.3, **kw).fit(ds)
    c = SurrogateModel("iclrnn", random_state=4, noise_std=0.3, **kw).fit(ds)
    X = ds.X[:20]
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    assert not np.array_equal(a.predict(X), c.predict(X))


def test_clear_errors(model, ds):
    X = ds.X[:3]
    with pytest.raises(DimensionError, match=r"3 features.*expecting 4"):
        model.predict(X[..., :3])
    bad = X.copy()
    bad[0, 2, 1] = np.nan
    with pytest.raises(DataError, match="NaN"):
        model.predict(bad)
    with pytest.raises(NotFittedError, match="not fitted"):
        SurrogateModel().predict(X)
    with pytest.raises(ConfigError, match="unknown model kind 'transformer'"):
        SurrogateModel("transformer").fit(ds)
    with pytest.raises(ConfigError, match="noise_std"):
        SurrogateModel(noise_std=-1.0).fit(ds)
    with pytest.raises(DataError, match="SequenceDataset"):
        SurrogateModel().fit(np.zeros((3, 10, 4)))


def test_time_budget_stops_training(ds):
    m = SurrogateModel(
        "iclrnn", hidden=8, max_epochs=10_000, time_budget_s=0.5, verbose=False
    ).fit(ds)
    assert m.fit_info_["stop_reason"] == "time_budget"
    assert m.fit_info_["train_seconds"] < 5.0


def test_save_load_round_trip_exact(model, ds, tmp_path):
    folder = model.save(tmp_path / "run")
    assert sorted(p.name for p in folder.iterdir()) == [
        "model.json",
        "model.safetensors",
    ]
    loaded = load(folder)
    X = ds.X[:50]
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.certificate_.to_dict() == model.certificate_.to_dict()
    assert loaded.get_params() == model.get_params()
    assert loaded.history_ == model.history_
    # the stored sample lets a loaded model recompute the empirical bound
    assert loaded.certify().lipschitz_lower_empirical == pytest.approx(
        model.certificate_.lipschitz_lower_empirical, rel=1e-9
    )


def test_corrupted_folders_give_model_file_error(model, tmp_path):
    folder = model.save(tmp_path / "ok")
    with pytest.raises(ModelFileError, match="does not exist"):
        load(tmp_path / "nothing")
    # truncated weights
    trunc = model.save(tmp_path / "trunc")
    raw = (trunc / "model.safetensors").read_bytes()
    (trunc / "model.safetensors").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ModelFileError, match="checksum"):
        load(trunc)
    # truncated JSON
    tj = model.save(tmp_path / "tj")
    text = (tj / "model.json").read_text()
    (tj / "model.json").write_text(text[: len(text) // 2])
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load(tj)
    # configuration that does not match the weights
    mm = model.save(tmp_path / "mm")
    meta = json.loads((mm / "model.json").read_text())
    meta["network"]["hidden"] = 32
    (mm / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match="do not match the network config"):
        load(mm)
    # missing file
    (folder / "model.safetensors").unlink()
    with pytest.raises(ModelFileError, match="missing"):
        load(folder)
    assert train_mod.load is load


def test_generic_csv_dataset(tmp_path):
    """A user's logged time series: a first-order lag y' = (u - y) / tau."""
    rng = np.random.default_rng(0)
    n = 1500
    u = np.repeat(rng.uniform(-1, 1, n // 25), 25)
    y = np.zeros(n)
    for k in range(1, n):
        y[k] = y[k - 1] + 0.2 * (u[k - 1] - y[k - 1])
    frame = pd.DataFrame(
        {
            "time": pd.date_range("2024-01-01", periods=n, freq="1min"),
            "u": u,
            "y_prev": np.concatenate([[0.0], y[:-1]]),
            "y": y,
        }
    )
    path = tmp_path / "log.csv"
    frame.to_csv(path, index=False)
    data = csv_dataset(
        path, "time", inputs=["u", "y_prev"], outputs=["y"], window=8, stride=2
    )
    for kind in ("iclrnn", "lstm"):
        m = SurrogateModel(kind, hidden=8, max_epochs=40, verbose=False).fit(data)
        Xt, Yt = data.subset("test")
        assert m.predict(Xt).shape == Yt.shape
        _, Ys = data.scaled("test")
        assert m.evaluate(data)["scaled"] < 0.3 * float(np.var(Ys))


def test_sequence_to_last_output(ds):
    """Targets with fewer steps than inputs: the model predicts the last steps."""
    import dataclasses

    last = dataclasses.replace(ds, Y=ds.Y[:, -1:, :])
    m = SurrogateModel("iclrnn", hidden=8, max_epochs=3, verbose=False).fit(last)
    assert m.output_steps_ == 1
    assert m.predict(ds.X[:5]).shape == (5, 1, 2)
    # the certificate is stated for the last output only: never above the full map's
    full = SurrogateModel("iclrnn", hidden=8, max_epochs=3, verbose=False).fit(ds)
    assert m.certificate_.lipschitz_upper > 0
    assert m.certificate_.lipschitz_lower_empirical <= m.certificate_.lipschitz_upper
    assert full.output_steps_ == 10


def test_divergence_guard_recovers(ds):
    """An absurd learning rate overflows the weights; training recovers from the
    best weights instead of returning NaN."""
    m = SurrogateModel(
        "rnn", hidden=8, lr=1e30, max_epochs=2, clip_grad_norm=None, verbose=False
    ).fit(ds)
    assert m.fit_info_["divergence_recoveries"] > 0
    assert np.all(np.isfinite(m.predict(ds.X[:10])))


@pytest.mark.slow
def test_iclrnn_reaches_target_in_budget():
    """Issue 3 target: 2x64 ICLRNN, scaled test MSE <= 1e-4 within 120 s (noise 0)."""
    full = cstr_dataset()
    m = SurrogateModel("iclrnn", time_budget_s=120.0, verbose=False).fit(full)
    assert m.fit_info_["train_seconds"] <= 125.0
    assert m.evaluate(full)["scaled"] <= 1e-4


def test_too_few_training_samples_for_a_validation_split():
    # a 100-row log with window 10 and stride 1000: one window, all of it training
    frame = pd.DataFrame(
        {
            "time": pd.date_range("2024-01-01", periods=100, freq="1min"),
            "u": np.arange(100.0),
            "y": np.sin(np.arange(100.0)),
        }
    )
    data = csv_dataset(frame, "time", ["u"], ["y"], window=10, stride=1000)
    assert [len(data.splits[k]) for k in ("train", "val", "test")] == [1, 0, 0]
    with pytest.raises(DataError, match=r"'train': 1.*smaller stride or window"):
        SurrogateModel(hidden=4, max_epochs=1, verbose=False).fit(data)


def test_nan_in_val_or_test_split_is_named(model, ds):
    import dataclasses

    Y = ds.Y.copy()
    Y[ds.splits["test"][3], 4, 1] = np.nan
    bad = dataclasses.replace(ds, Y=Y)
    with pytest.raises(DataError, match=r"'test' split has NaN or inf in Y of 1"):
        model.evaluate(bad)
    X = ds.X.copy()
    X[ds.splits["val"][0], 0, 0] = np.inf
    with pytest.raises(DataError, match=r"'val' split has NaN or inf in X"):
        SurrogateModel(hidden=4, max_epochs=1, verbose=False).fit(
            dataclasses.replace(ds, X=X)
        )


def test_evaluate_checks_feature_and_output_counts(model, ds):
    import dataclasses

    wider = dataclasses.replace(
        ds,
        X=np.concatenate([ds.X, ds.X[..., :1]], axis=2),
        feature_names=(*ds.feature_names, "extra"),
        feature_units=(*ds.feature_units, ""),
        x_scaler=type(ds.x_scaler)().fit(np.concatenate([ds.X, ds.X[..., :1]], 2)),
    )
    with pytest.raises(DimensionError, match=r"5 features.*expecting 4"):
        model.evaluate(wider)
    fewer = dataclasses.replace(
        ds,
        Y=ds.Y[..., :1],
        output_names=ds.output_names[:1],
        output_units=ds.output_units[:1],
        y_scaler=type(ds.y_scaler)().fit(ds.Y[..., :1]),
    )
    with pytest.raises(
        DimensionError, match="1 outputs, but SurrogateModel predicts 2"
    ):
        model.evaluate(fewer)


def test_predict_matches_dataframe_columns_by_name(model, ds):
    X = ds.X[0]
    frame = pd.DataFrame(X, columns=["CA", "T", "CA0", "Q"])
    shuffled = frame[["Q", "CA", "T", "CA0"]]
    np.testing.assert_allclose(model.predict(shuffled), model.predict(X[None]))
    renamed = frame.rename(columns={"Q": "q_in"})
    with pytest.raises(DataError, match=r"missing \['Q'\], unexpected \['q_in'\]"):
        model.predict(renamed)
    with pytest.raises(DataError, match=r"unexpected \['extra'\]"):
        model.predict(frame.assign(extra=1.0))
    # a repeated column is named (matching by name alone would take its first copy)
    twice = pd.concat([frame, frame[["Q"]]], axis=1)
    with pytest.raises(DataError, match=r"\['Q'\] more than once"):
        model.predict(twice)


def test_evaluate_matches_dataset_columns_by_name(model, ds):
    """A dataset built with the same columns in another order (e.g. ``--inputs``
    listed differently) scores as the original; other names are an error. It was
    scored in array order: a silently wrong MSE."""
    import dataclasses

    f, o = [2, 3, 0, 1], [1, 0]
    swapped = dataclasses.replace(
        ds,
        X=ds.X[..., f],
        Y=ds.Y[..., o],
        feature_names=tuple(ds.feature_names[i] for i in f),
        feature_units=tuple(ds.feature_units[i] for i in f),
        output_names=tuple(ds.output_names[i] for i in o),
        output_units=tuple(ds.output_units[i] for i in o),
    )
    expected = model.evaluate(ds)
    found = model.evaluate(swapped)
    assert found["scaled"] == pytest.approx(expected["scaled"], rel=1e-12)
    assert found["physical"] == pytest.approx(expected["physical"], rel=1e-12)
    renamed = dataclasses.replace(ds, feature_names=("CA", "T", "CA0", "q_in"))
    with pytest.raises(DataError, match=r"missing \['Q'\], unexpected \['q_in'\]"):
        model.evaluate(renamed)


def test_score_matches_dataframe_output_columns_by_name(model, ds):
    """Y as a DataFrame is matched by name like X (it was taken in column order,
    so reordered columns gave a wrong R^2 silently)."""
    X, Y = ds.X[:3], ds.Y[:3]
    frames = [pd.DataFrame(y[:, ::-1], columns=["T", "CA"]) for y in Y]
    assert model.score(X[0], frames[0]) == pytest.approx(
        model.score(X[0], Y[0]), rel=1e-12
    )
    with pytest.raises(DataError, match=r"unexpected \['temp'\]"):
        model.score(X[0], frames[0].rename(columns={"T": "temp"}))


def test_evaluate_on_arrays_says_what_it_expects(model, ds):
    """evaluate((X, Y)) was an AttributeError ('tuple' has no 'subset')."""
    with pytest.raises(DataError, match=r"evaluate expects .*score\(X, Y\)"):
        model.evaluate(ds.subset("test"))
    with pytest.raises(DataError, match="fit expects"):
        SurrogateModel(hidden=4, max_epochs=1, verbose=False).fit(ds.X)


def test_load_of_a_run_folder_points_to_its_model(model, tmp_path):
    """iclcontrol.load('runs/main') said only 'model.json is missing'."""
    model.save(tmp_path / "run" / "model")
    with pytest.raises(ModelFileError, match=r"the model of this run folder is in"):
        load(tmp_path / "run")


def test_predict_and_certify_name_bad_lengths(model, ds):
    """0-step sequences were a torch RuntimeError; certify(X) on sequences of
    another length than the bound's stated a lower bound for other sequences, and
    max_samples=0 was a torch reshape error."""
    with pytest.raises(DimensionError, match="0 steps"):
        model.predict(ds.X[:2, :0])
    with pytest.raises(DimensionError, match=r"20 steps.*10-step"):
        model.certify(np.concatenate([ds.X[:4], ds.X[:4]], axis=1))
    with pytest.raises(ConfigError, match="max_samples must be a positive integer"):
        model.certify(ds.X[:4], max_samples=0)
    assert model.certify(ds.X[:4]).n_samples_empirical == 4


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"min_lr": -1e-5}, "min_lr must be a number in"),
        ({"lr": 1e-3, "min_lr": 1e-2}, "min_lr must be a number in"),
        ({"clip_grad_norm": 0.0}, "clip_grad_norm must be positive, or None"),
        ({"n_threads": 0}, "n_threads must be a positive integer"),
        ({"lr": "0.01"}, "lr must be a positive number, got '0.01'"),
        ({"random_state": None}, "random_state must be an integer seed"),
        ({"random_state": np.random.default_rng(0)}, "random_state must be an int"),
        ({"time_budget_s": "5"}, "time_budget_s must be positive"),
    ],
)
def test_unchecked_settings_raise_config_error(ds, params, message):
    with pytest.raises(ConfigError, match=message):
        SurrogateModel(hidden=4, max_epochs=1, verbose=False, **params).fit(ds)


def test_progress_bar_counts_seconds_under_a_time_budget(ds, capsys):
    SurrogateModel(hidden=4, max_epochs=1000, time_budget_s=0.3, verbose=True).fit(ds)
    err = capsys.readouterr().err
    assert "/0.3 s" in err and "/1000" not in err


def test_get_and_set_params():
    m = SurrogateModel()
    params = m.get_params()
    assert params["kind"] == "iclrnn" and "verbose" in params
    assert m.set_params(hidden=8, lr=1e-3) is m
    assert m.get_params() == {**params, "hidden": 8, "lr": 1e-3}
    assert SurrogateModel(**m.get_params()).get_params() == m.get_params()
    with pytest.raises(ConfigError, match=r"unknown parameter\(s\) \['hiden'\]"):
        m.set_params(hiden=8)


@pytest.mark.parametrize("path", [3, None, 2.5, ["runs/a"]])
def test_save_and_load_of_a_non_path_raise_type_error(model, path):
    """A wrong argument type is a TypeError naming the types a path may have, as
    ``open(3.5)`` raises; load(3) raised ModelFileError, a ValueError for a bad
    model file, which a caller handling bad files would have caught."""
    expected = rf"str or os\.PathLike.*got {type(path).__name__}"
    for call in (load, SurrogateModel.load, model.save):
        with pytest.raises(TypeError, match=expected) as info:
            call(path)
        assert not isinstance(info.value, ValueError), call


def test_load_rejects_folders_whose_parts_disagree(model, tmp_path):
    def damaged(name, change):
        folder = model.save(tmp_path / name)
        meta = json.loads((folder / "model.json").read_text())
        change(meta)
        (folder / "model.json").write_text(json.dumps(meta))
        return folder

    kind = damaged("kind", lambda m: m["params"].update(kind="lstm"))
    with pytest.raises(ModelFileError, match=r"params\.kind is 'lstm'.*'iclrnn'"):
        load(kind)
    short = damaged("ysc", lambda m: m["y_scaler"].update(scale=[1.0]))
    with pytest.raises(ModelFileError, match="output scaler's scale has shape"):
        load(short)
    names = damaged("names", lambda m: m.update(output_names=["CA"]))
    with pytest.raises(ModelFileError, match=r"1 output names .* with 2 outputs"):
        load(names)


def test_scikit_learn_conventions(model, ds):
    """repr, clone and check_is_fitted behave as for a scikit-learn estimator."""
    import sklearn.base
    import sklearn.exceptions
    from sklearn.utils.validation import check_is_fitted

    r = repr(SurrogateModel("lstm", hidden=8))
    # like sklearn: the class name and only the parameters that differ from defaults
    assert r.startswith("SurrogateModel(") and "hidden=8" in r and "kind='lstm'" in r
    assert "lr=" not in r and "batch_size=" not in r
    with pytest.raises(sklearn.exceptions.NotFittedError):
        check_is_fitted(SurrogateModel())
    check_is_fitted(model)  # does not raise
    fresh = sklearn.base.clone(model)
    assert fresh.get_params() == model.get_params()
    with pytest.raises(NotFittedError):
        fresh.predict(ds.X[:2])


def test_score_is_r2_per_output_averaged(model, ds):
    X, Y = ds.subset("test")
    pred = model.predict(X)
    # R^2 by hand: per output over samples and steps, then the plain mean
    t, p = Y.reshape(-1, 2), pred.reshape(-1, 2)
    r2 = 1 - ((t - p) ** 2).sum(axis=0) / ((t - t.mean(axis=0)) ** 2).sum(axis=0)
    assert model.score(X, Y) == pytest.approx(r2.mean(), rel=1e-12)
    assert model.score(X, pred) == pytest.approx(1.0)
    # a shorter input is scored on the steps predict returns for it
    short = model.predict(X[:, :5])
    assert short.shape[1] == 5
    t5, p5 = Y[:, :5].reshape(-1, 2), short.reshape(-1, 2)
    r2_5 = 1 - ((t5 - p5) ** 2).sum(axis=0) / ((t5 - t5.mean(axis=0)) ** 2).sum(axis=0)
    assert model.score(X[:, :5], Y[:, :5]) == pytest.approx(r2_5.mean(), rel=1e-12)
    with pytest.raises(DimensionError, match="Y must have shape"):
        model.score(X, Y[:, :, :1])


def test_fit_takes_arrays_like_scikit_learn(ds):
    X, Y = ds.subset("train")
    m = SurrogateModel("iclrnn", hidden=8, layers=1, max_epochs=2, verbose=False)
    assert m.fit(X, Y) is m
    assert m.feature_names_ == ("x0", "x1", "x2", "x3")
    assert m.output_names_ == ("y0", "y1")
    # every sample is used: the last 10 % validate, the rest train
    assert m.fit_info_["n_val"] == len(X) // 10
    assert m.fit_info_["n_train"] == len(X) - len(X) // 10
    assert m.predict(X[:3]).shape == (3, 10, 2)
    with pytest.raises(DimensionError, match="X has 5 samples but Y has 4"):
        m.fit(X[:5], Y[:4])
    with pytest.raises(DimensionError, match=r"3-D.*X\[None\]"):
        m.fit(X[0], Y[0])


def test_predict_takes_a_torch_tensor_that_requires_grad(model, ds):
    import torch

    X = torch.tensor(ds.X[:3], requires_grad=True)
    np.testing.assert_array_equal(model.predict(X), model.predict(ds.X[:3]))


def test_arrays_with_names_export_to_do_mpc(ds):
    """Named array columns carry through to do-mpc: its transition is the last
    predicted step for the state held and the input applied."""
    import casadi as ca

    from iclcontrol.export import to_do_mpc

    X, Y = ds.subset("train")
    m = SurrogateModel("iclrnn", hidden=8, layers=1, max_epochs=1, verbose=False)
    m.fit(X, Y, feature_names=["CA", "T", "CA0", "Q"], output_names=["CA", "T"])
    model = to_do_mpc(m, steps_per_period=10)  # arrays record no steps per move
    assert list(model.x.keys()) == ["CA", "T"]
    step = ca.Function("f", [model.x, model.u], [model._rhs])
    x0, u0 = X[0, 0, :2], X[0, 0, 2:]
    expected = m.predict(np.tile(X[0, 0], (10, 1)))[0, -1]
    np.testing.assert_allclose(np.asarray(step(x0, u0)).ravel(), expected, rtol=1e-4)
    with pytest.raises(DimensionError, match=r"3 output names.*2 output columns"):
        m.fit(X, Y, output_names=["CA", "T", "extra"])


def test_importing_the_estimators_does_not_import_scikit_learn():
    """scikit-learn (and scipy behind it) costs seconds to import: the estimator
    protocol must not put it on every CLI command's path."""
    import subprocess
    import sys

    code = (
        "import sys, iclcontrol.train, iclcontrol.solar; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_model_fit_without_names_takes_named_frames_in_order(ds):
    """A model fit on plain arrays (names x0, ...) refused a named DataFrame in
    predict; scikit-learn warns and takes the columns in order, and so does it
    now. A model fit with names still refuses other names."""
    import sklearn.linear_model

    from iclcontrol.exceptions import IclControlWarning

    X, Y = ds.subset("train")
    m = SurrogateModel("iclrnn", hidden=4, layers=1, max_epochs=1, verbose=False)
    m.fit(X, Y)
    frame = pd.DataFrame(X[0], columns=["CA", "T", "CA0", "Q"])
    # scikit-learn's behaviour, for reference: a warning, the columns in order
    plain = sklearn.linear_model.LinearRegression().fit(X[:, 0], Y[:, 0, 0])
    with pytest.warns(UserWarning, match="fitted without feature names"):
        plain.predict(frame)
    with pytest.warns(IclControlWarning, match=r"without feature names.*in order"):
        found = m.predict(frame)
    np.testing.assert_array_equal(found, m.predict(X[0]))
    with pytest.warns(IclControlWarning, match="without output names"):
        r2 = m.score(X[0], pd.DataFrame(Y[0], columns=["CA", "T"]))
    assert r2 == pytest.approx(m.score(X[0], Y[0]), rel=1e-12)
    # a dataset with the names the model has scores the same, without a warning
    import dataclasses

    unnamed = dataclasses.replace(
        ds, feature_names=m.feature_names_, output_names=m.output_names_
    )
    with pytest.warns(IclControlWarning) as caught:
        assert m.evaluate(ds)["scaled"] == m.evaluate(unnamed)["scaled"]
    assert [str(w.message).split(",")[0] for w in caught] == [
        "the dataset has feature names ['CA'",
        "the dataset has output names ['CA'",
    ]
    # other counts are still an error naming them
    with pytest.raises(DimensionError, match=r"got shape \(10, 3\)"):
        m.predict(frame[["CA", "T", "Q"]])


def test_load_detects_a_certificate_or_config_the_weights_do_not_support(
    model, ds, tmp_path
):
    """model.json's certificate was trusted: hand edits ("convex": "maybe", another
    kind, a smaller Lipschitz bound) loaded silently, while the weights had a
    checksum. Now load recomputes it from the weights and names what differs."""

    def edited(name, change):
        folder = model.save(tmp_path / name)
        meta = json.loads((folder / "model.json").read_text())
        change(meta)
        (folder / "model.json").write_text(json.dumps(meta))
        return folder

    cases = {
        "maybe": (
            lambda m: m["certificate"].update(convex="maybe"),
            r"convex is 'maybe' in the file but True from the weights",
        ),
        "kind": (
            lambda m: m["certificate"].update(kind="lstm"),
            r"kind is 'lstm' in the file but 'iclrnn'",
        ),
        "bound": (
            lambda m: m["certificate"].update(lipschitz_upper=1.0),
            r"lipschitz_upper is 1\.0 in the file but",
        ),
        "norm": (
            lambda m: m["certificate"]["matrices"][0].update(spectral_norm=0.5),
            r"layers\.0\.W spectral_norm is 0\.5",
        ),
        "lower": (
            lambda m: m["certificate"].update(lipschitz_lower_empirical=1e9),
            r"1000000000\.0 is above the certified upper bound",
        ),
        # the network read with another activation: its certificate is no longer
        # the stored one (tanh is not convex)
        "activation": (
            lambda m: m["network"].update(activation="tanh"),
            r"convex is True in the file but False",
        ),
        # a scaler edited: the physical bound follows from it
        "scaler": (
            lambda m: m["x_scaler"].update(
                scale=[2 * v for v in m["x_scaler"]["scale"]]
            ),
            r"lipschitz_upper_physical is",
        ),
    }
    for name, (change, message) in cases.items():
        folder = edited(name, change)
        with pytest.raises(ModelFileError, match=message) as err:
            load(folder)
        text = str(err.value)
        assert text.startswith(str(folder / "model.json")), name
        assert 'delete the "certificate" entry' in text
    # that fix works: without a certificate, load recomputes it from the weights
    folder = edited("deleted", lambda m: m.update(certificate=None))
    assert load(folder).certificate_.to_dict() == model.certificate_.to_dict()
    # a config whose constraints the weights break: the forward pass would
    # rescale them, while the export and the certificate use them as stored
    folder = edited("tight", lambda m: m["network"].update(spectral_bound=0.5))
    with pytest.raises(ModelFileError, match=r"layers\.0\.W has spectral norm"):
        load(folder)
    lrnn = SurrogateModel("lrnn", hidden=4, layers=1, max_epochs=1, verbose=False)
    folder = lrnn.fit(ds).save(tmp_path / "lrnn")  # signed weights
    meta = json.loads((folder / "model.json").read_text())
    meta["network"]["nonnegative"] = True
    (folder / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match=r"has a negative entry"):
        load(folder)


def test_model_file_records_its_training_data(tmp_path, capsys):
    """model.json kept no record of the training data (file, time step, window),
    which a user needs to feed the model later; now it keeps what the dataset's
    card knows (not the data), and certify shows it. Old folders still load."""
    from iclcontrol.cli import main

    n = 200  # one row a minute: the sample interval is 60 s
    frame = pd.DataFrame(
        {
            "time": pd.date_range("2024-01-01", periods=n, freq="1min"),
            "u": np.sin(np.arange(n) / 7.0),
            "y": np.cos(np.arange(n) / 7.0),
        }
    )
    path = tmp_path / "log.csv"
    frame.to_csv(path, index=False)
    units = {"u": "m/s", "y": "K"}
    data = csv_dataset(path, "time", ["u"], ["y"], window=8, stride=2, units=units)
    m = SurrogateModel("iclrnn", hidden=4, layers=1, max_epochs=2, verbose=False)
    folder = m.fit(data).save(tmp_path / "run")
    record = json.loads((folder / "model.json").read_text())["training_data"]
    assert record["source"] == str(path) and record["time_column"] == "time"
    assert record["sample_interval_s"] == 60.0
    assert record["window"] == record["steps"] == 8 and record["stride"] == 2
    assert record["split_sizes"] == {k: len(v) for k, v in data.splits.items()}
    assert "cleaning" not in record  # the card's summary, not its details or data
    assert load(folder).training_data_ == record
    assert main(["certify", str(folder), "--midpoint", "0"]) == 0
    out = capsys.readouterr().out
    assert f"trained on: {path} (time column time; one step every 60 s;" in out
    assert "sequences of 8 steps; stride 2;" in out
    assert "inputs: u [m/s]; outputs: y [K]" in out
    assert "y: " in out and " K per m/s of u" in out  # the pair bound, in units
    assert main(["certify", str(folder), "--midpoint", "0", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert payload["training_data"] == record
    assert payload["features"] == [{"name": "u", "unit": "m/s"}]
    assert payload["outputs"] == [{"name": "y", "unit": "K"}]
    # a folder saved before the record existed loads, and says so
    meta = json.loads((folder / "model.json").read_text())
    del meta["training_data"]
    (folder / "model.json").write_text(json.dumps(meta))
    assert load(folder).training_data_ == {}
    assert main(["certify", str(folder), "--midpoint", "0"]) == 0
    assert "trained on: not recorded" in capsys.readouterr().out


def test_numpy_integer_settings_save(tmp_path):
    """Hyperparameters and window settings as numpy integers (a grid from
    np.arange) pass the checks, but saving failed after the fit with "Object of
    type int64 is not JSON serializable"; now they are written as numbers."""
    t = pd.date_range("2024-01-01", periods=80, freq="1min")
    frame = pd.DataFrame({"time": t, "u": np.sin(np.arange(80.0)), "y": 1.0})
    window, stride, seed = np.arange(5, 8)[0], np.int64(2), np.int64(3)
    data = csv_dataset(
        frame, "time", ["u"], ["y"], window=window, stride=stride, random_state=seed
    )
    data.save(tmp_path / "data")
    card = json.loads((tmp_path / "data" / "card.json").read_text())
    assert (card["window"], card["stride"], card["split_seed"]) == (5, 2, 3)
    m = SurrogateModel(hidden=np.int64(4), layers=np.int64(1), max_epochs=np.int64(1))
    folder = m.set_params(verbose=False).fit(data).save(tmp_path / "model")
    params = load(folder).get_params()
    assert (params["hidden"], params["layers"], params["max_epochs"]) == (4, 1, 1)
    assert load(folder).training_data_["window"] == 5


def _tiny_arrays(seed=0, n=40, steps=5, n_f=3):
    """Small random sequences: Y is the running sum of the first two features."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, (n, steps, n_f))
    return X, np.cumsum(X[..., :2], axis=1)


def test_refit_with_invalid_data_keeps_the_previous_fit():
    """A refit whose targets have more steps than the inputs used to raise after
    it had replaced the scalers and names: the model kept its old weights with
    the new data's scalers and its predictions silently changed."""
    X, Y = _tiny_arrays()
    m = SurrogateModel(hidden=4, layers=1, max_epochs=1, verbose=False).fit(X, Y)
    before = m.predict(X[:3])
    Xbad = X[:, :3] * 100.0 + 50.0  # other ranges: other scalers
    with pytest.raises(DimensionError, match="output steps <= input steps"):
        m.fit(Xbad, Y)
    np.testing.assert_array_equal(m.predict(X[:3]), before)
    assert m.x_scaler_.scale_ == pytest.approx(
        1.0 / (X.max(axis=(0, 1)) - X.min(axis=(0, 1))), rel=1e-12
    )


def test_interrupted_refit_leaves_an_unfitted_model(monkeypatch):
    """A refit stopped during training (an error, Ctrl-C) must not leave a model
    that predicts with the new scalers, an untrained network and the previous
    fit's certificate: it is unfitted until the next complete fit."""
    X, Y = _tiny_arrays()
    m = SurrogateModel(hidden=4, layers=1, max_epochs=1, verbose=False).fit(X, Y)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(SurrogateModel, "_train_loop", interrupted)
    with pytest.raises(KeyboardInterrupt):
        m.fit(X * 3.0, Y)
    fitted = [name for name in vars(m) if name.endswith("_")]
    assert fitted == []
    with pytest.raises(NotFittedError):
        m.predict(X[:1])
    monkeypatch.undo()
    assert m.fit(X, Y).predict(X[:2]).shape == (2, 5, 2)


def test_repeated_feature_names_are_refused():
    """fit(X, Y, feature_names=["a", "a", "b"]) used to train a model that then
    refused every DataFrame (a column twice) and could not be matched to a
    plant's names: the name list is checked where the dataset is built."""
    X, Y = _tiny_arrays()
    m = SurrogateModel(hidden=4, layers=1, max_epochs=1, verbose=False)
    with pytest.raises(DataError, match=r"feature names.*repeat \['a'\]") as info:
        m.fit(X, Y, feature_names=["a", "a", "b"])
    assert "its own name" in str(info.value)
    with pytest.raises(DataError, match=r"output names.*repeat \['T'\]"):
        m.fit(X, Y, output_names=["T", "T"])
    assert not hasattr(m, "network_")


def test_column_order_warnings_point_at_the_callers_line():
    """predict's warning about a DataFrame's names was attributed to a line of
    iclcontrol/train.py (a fixed stacklevel, one frame short): Python's default
    filter then showed it once per library line, not per call site, and
    module-based filters could not select it. predict and score name the
    caller's file now."""
    import warnings

    from iclcontrol.exceptions import IclControlWarning

    X, Y = _tiny_arrays()
    m = SurrogateModel(hidden=4, layers=1, max_epochs=1, verbose=False).fit(X, Y)
    frame = pd.DataFrame(X[0], columns=["a", "b", "c"])
    targets = pd.DataFrame(Y[0], columns=["p", "q"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m.predict(frame)
        m.score(frame, targets)
    assert [w.category for w in caught] == [IclControlWarning] * 3
    assert [w.filename for w in caught] == [__file__] * 3


def test_two_dimensional_targets_get_the_right_hint():
    """Y of shape (n_samples, n_outputs), scikit-learn's usual y, was told to
    add a leading axis (Y[None]: one sequence of n steps, which then fails on
    the sample count); the hint is a step axis, and following it fits."""
    X, Y = _tiny_arrays()
    m = SurrogateModel(hidden=4, layers=1, max_epochs=1, verbose=False)
    last = Y[:, -1, :]  # (40, 2)
    with pytest.raises(DimensionError, match=r"Y\[:, None, :\]") as info:
        m.fit(X, last)
    assert "Y[None]" not in str(info.value)
    assert m.fit(X, last[:, None, :]).predict(X[:3]).shape == (3, 1, 2)
    with pytest.raises(DimensionError, match=r"X\[None\]"):
        m.fit(X[0], Y[0])


def test_save_overwrites_a_model_folder_and_refuses_a_file(tmp_path, monkeypatch):
    """save("runs/a/model.json") raised a bare FileExistsError from mkdir; and
    saving into an existing folder had no stated semantics. A file is refused
    with a ModelFileError naming the folder to give; a folder is overwritten
    (the new model loads) and other files in it stay."""
    X, Y = _tiny_arrays()
    first = SurrogateModel(hidden=4, layers=1, max_epochs=1, verbose=False)
    second = SurrogateModel(hidden=5, layers=1, max_epochs=1, verbose=False)
    monkeypatch.chdir(tmp_path)
    assert first.fit(X, Y).save("runs/a") == Path("runs/a")  # relative, new parents
    (tmp_path / "runs" / "a" / "notes.txt").write_text("mine")
    second.fit(X, Y).save(tmp_path / "runs" / "a")
    loaded = load("runs/a")
    assert loaded.hidden == 5
    np.testing.assert_array_equal(loaded.predict(X[:2]), second.predict(X[:2]))
    assert (tmp_path / "runs" / "a" / "notes.txt").read_text() == "mine"
    meta = tmp_path / "runs" / "a" / "model.json"
    before = meta.read_bytes()
    with pytest.raises(ModelFileError, match=r"is a file.*give a folder") as info:
        first.save(meta)
    assert isinstance(info.value, ValueError)
    assert meta.read_bytes() == before


def test_a_list_of_dataframes_is_matched_by_name_like_one_dataframe():
    """One DataFrame was matched to the feature names, but a list of them (a
    batch of sequences) went through numpy in column order: with the columns
    in another order the predictions were silently those of other inputs."""
    X, Y = _tiny_arrays()
    m = SurrogateModel(hidden=4, layers=1, max_epochs=1, verbose=False)
    m.fit(X, Y, feature_names=["a", "b", "c"], output_names=["p", "q"])
    frames = [
        pd.DataFrame(X[i], columns=["a", "b", "c"])[["c", "a", "b"]] for i in (0, 1)
    ]
    np.testing.assert_array_equal(m.predict(frames), m.predict(X[:2]))
    targets = [pd.DataFrame(Y[i], columns=["p", "q"])[["q", "p"]] for i in (0, 1)]
    assert m.score(frames, targets) == m.score(X[:2], Y[:2])
    with pytest.raises(DimensionError, match=r"\[4, 5\] rows"):
        m.predict([frames[0].iloc[:4], frames[1]])
    with pytest.raises(DataError, match=r"X\[1\] has feature columns"):
        m.predict([frames[0], frames[1].rename(columns={"c": "z"})])


def test_save_and_load_expand_the_home_folder(tmp_path, monkeypatch):
    """load("~/runs/a") said the folder did not exist (and save made a folder
    named "~" in the working directory); pandas and the shell expand ``~``."""
    X, Y = _tiny_arrays()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    m = SurrogateModel(hidden=4, layers=1, max_epochs=1, verbose=False).fit(X, Y)
    assert m.save("~/runs/a") == tmp_path / "home" / "runs" / "a"
    assert (tmp_path / "home" / "runs" / "a" / "model.json").is_file()
    assert not (tmp_path / "~").exists()
    np.testing.assert_array_equal(load("~/runs/a").predict(X[:2]), m.predict(X[:2]))


def test_predict_in_blocks_equals_one_pass_of_the_network(model, ds, monkeypatch):
    """predict feeds the network blocks of PREDICT_BATCH sequences (memory); the
    result equals the network applied to all sequences at once, in order, the
    last block short included."""
    import torch

    X = np.asarray(ds.subset("test")[0])[:50]
    Xs = model.x_scaler_.transform(X)
    with torch.no_grad():
        y = model.network_(torch.as_tensor(Xs, dtype=torch.float32))
    expected = model.y_scaler_.inverse_transform(
        y[:, -model.output_steps_ :].numpy().astype(np.float64)
    )
    monkeypatch.setattr(train_mod, "PREDICT_BATCH", 7)  # 7 blocks, last of 1
    got = model.predict(X)
    assert got.shape == expected.shape == (50, model.output_steps_, 2)
    # float32 network: different block sizes may round differently in the last bit
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    # a single sequence (2-D input) is one block of one
    np.testing.assert_allclose(model.predict(X[3]), expected[3:4], rtol=1e-6, atol=1e-6)
