"""Saving and loading fitted solar forecasters (iclcontrol.solar.persist).

A month of the Greensboro TMY3 year and a tiny network (hidden 4, one epoch): the
reference for every round trip is the in-memory forecaster that was saved.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import iclcontrol
from iclcontrol.exceptions import DataError, ModelFileError, NotFittedError
from iclcontrol.solar import load_forecaster, load_solar
from iclcontrol.solar.data import Site, SolarData
from iclcontrol.solar.forecast import (
    ClearSkyIndexClimatology,
    IrradianceForecaster,
    SmartPersistence,
    chronological_cut,
)

TINY = {"hidden": 4, "epochs": 1, "lags": 4, "horizon": 3, "random_state": 0}


@pytest.fixture(scope="module")
def month():
    return load_solar("tmy3-greensboro").slice("1990-05-01", "1990-05-31")


@pytest.fixture(scope="module")
def fitted(month):
    cut = chronological_cut(month)
    model = IrradianceForecaster(
        kind="iclrnn", covariates=("temp_air",), context=True, **TINY
    ).fit(month, end=cut)
    return model, cut


@pytest.fixture
def saved(fitted, tmp_path):
    model, _ = fitted
    return model.save(tmp_path / "fc")


def test_loaded_forecaster_predicts_the_same_floats(fitted, saved, month):
    model, cut = fitted
    loaded = load_forecaster(saved)
    assert type(loaded) is IrradianceForecaster
    expected = model.predict(month)
    got = loaded.predict(month)
    assert np.isfinite(expected.to_numpy()).sum() > 100
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    # from a DataFrame (takes the stored site, target and step) and a start
    frame = month.frame.copy()
    frame.index.freq = None
    pd.testing.assert_frame_equal(
        loaded.predict(frame, start=cut, horizon=2),
        model.predict(frame, start=cut, horizon=2),
        check_exact=True,
    )


def test_everything_fitted_round_trips(fitted, saved):
    model, cut = fitted
    loaded = IrradianceForecaster.load(str(saved))
    assert loaded.get_params() == model.get_params()
    assert loaded.covariates == ("temp_air",)  # a tuple again, as constructed
    assert loaded.site_ == model.site_ and isinstance(loaded.site_, Site)
    assert loaded.target_ == model.target_ == "ghi"
    assert loaded.freq_ == model.freq_ == pd.Timedelta("1h")
    assert str(loaded.tz_) == str(model.tz_)
    assert loaded.feature_names() == model.feature_names()
    assert loaded.history_ == model.history_
    assert loaded.history_["fit_seconds"] > 0
    assert loaded.training_data_ == model.training_data_
    assert model.training_data_["source"] == "tmy3-greensboro"
    assert pd.Timestamp(model.training_data_["end"]) == cut
    assert pd.Timestamp(model.training_data_["last"]) < cut
    for a, b in zip(
        model.network_.state_dict().values(),
        loaded.network_.state_dict().values(),
        strict=True,
    ):
        assert a.dtype == b.dtype and bool((a == b).all())
    for part in ("data_min_", "data_max_", "scale_", "offset_"):
        np.testing.assert_array_equal(
            getattr(loaded.x_scaler_, part), getattr(model.x_scaler_, part)
        )


def test_the_folder_holds_json_and_safetensors_only(saved):
    files = sorted(p.name for p in Path(saved).iterdir())
    assert files == ["model.json", "model.safetensors"]
    raw = b"".join(p.read_bytes() for p in Path(saved).iterdir())
    assert b"pickle" not in raw and b"\x80\x04\x95" not in raw  # no pickle stream
    meta = json.loads((Path(saved) / "model.json").read_text())
    assert meta["format"] == "iclcontrol.IrradianceForecaster"
    assert meta["format_version"] == 1


def test_reference_forecasters_round_trip(month, tmp_path):
    cut = chronological_cut(month)
    for model in (
        SmartPersistence(horizon=3).fit(month),
        ClearSkyIndexClimatology(horizon=3).fit(month, end=cut),
    ):
        folder = model.save(tmp_path / model.kind)
        assert [p.name for p in folder.iterdir()] == ["model.json"]
        loaded = type(model).load(folder)
        assert type(loaded) is type(model)
        pd.testing.assert_frame_equal(
            loaded.predict(month), model.predict(month), check_exact=True
        )
    with pytest.raises(ModelFileError, match="holds a SmartPersistence"):
        ClearSkyIndexClimatology.load(tmp_path / "smart_persistence")


def test_paths_str_pathlike_tilde_and_not_a_path(fitted, tmp_path, monkeypatch):
    model, _ = fitted
    monkeypatch.setenv("HOME", str(tmp_path))
    folder = model.save("~/deep/fc")
    assert folder == tmp_path / "deep" / "fc"
    assert load_forecaster("~/deep/fc/model.json").horizon == model.horizon
    with pytest.raises(TypeError, match=r"str or os\.PathLike"):
        model.save(3)
    with pytest.raises(TypeError, match=r"str or os\.PathLike"):
        load_forecaster(None)
    with pytest.raises(NotFittedError):
        IrradianceForecaster().save(tmp_path / "unfitted")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ModelFileError, match="is a file"):
        model.save(tmp_path / "afile")


def test_truncated_or_corrupted_weights_name_the_file(saved):
    weights = Path(saved) / "model.safetensors"
    raw = weights.read_bytes()
    weights.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ModelFileError, match=r"model\.safetensors.*checksum"):
        load_forecaster(saved)
    flipped = bytearray(raw)
    flipped[-3] ^= 0xFF
    weights.write_bytes(bytes(flipped))
    with pytest.raises(ModelFileError, match=r"model\.safetensors.*corrupted"):
        load_forecaster(saved)


def test_wrong_kind_newer_version_bad_json_and_missing_files(saved, tmp_path):
    meta_path = Path(saved) / "model.json"
    text = meta_path.read_text()
    meta = json.loads(text)
    meta_path.write_text(json.dumps({**meta, "format_version": 2}))
    with pytest.raises(
        ModelFileError, match=r"model\.json has format version 2.*newer"
    ):
        load_forecaster(saved)
    meta_path.write_text(json.dumps({**meta, "format": "iclcontrol.SurrogateModel"}))
    with pytest.raises(
        ModelFileError, match=r"model\.json is not .*read it with iclcontrol\.load"
    ):
        load_forecaster(saved)
    # iclcontrol.load given a forecaster names the forecaster loader
    meta_path.write_text(text)
    with pytest.raises(ModelFileError, match=r"iclcontrol\.solar\.load_forecaster"):
        iclcontrol.load(saved)
    meta_path.write_text(text[: len(text) // 2])
    with pytest.raises(ModelFileError, match=r"model\.json is not valid JSON"):
        load_forecaster(saved)
    meta_path.write_text(
        json.dumps({**meta, "network": {**meta["network"], "hidden": 8}})
    )
    with pytest.raises(ModelFileError, match="do not match the network config"):
        load_forecaster(saved)
    meta_path.write_text(
        json.dumps({**meta, "params": {**meta["params"], "hidden": 8}})
    )
    with pytest.raises(ModelFileError, match="has hidden 4 but the parameters give 8"):
        load_forecaster(saved)
    renamed = [*meta["feature_names"][:-1], "something_else"]
    meta_path.write_text(json.dumps({**meta, "feature_names": renamed}))
    with pytest.raises(ModelFileError, match="trained on the features"):
        load_forecaster(saved)
    meta_path.write_text(text)
    (Path(saved) / "model.safetensors").unlink()
    with pytest.raises(ModelFileError, match=r"model\.safetensors is missing"):
        load_forecaster(saved)
    meta_path.unlink()
    with pytest.raises(ModelFileError, match=r"model\.json is missing"):
        load_forecaster(saved)
    with pytest.raises(ModelFileError, match="does not exist"):
        load_forecaster(tmp_path / "nothing")


def test_loaded_forecaster_refuses_data_of_another_site_target_or_step(saved, month):
    loaded = load_forecaster(saved)
    other_site = Site("elsewhere", 40.0, -105.0, tz="UTC-07:00")
    with pytest.raises(DataError, match=r"fit at site .*latitude 40\.0 \(fit: 36\.1\)"):
        loaded.predict(SolarData(month.frame, month.target, other_site))
    frame = month.frame.rename(columns={"ghi": "poa"})
    with pytest.raises(DataError, match=r"fit on target 'ghi' but the data's .*'poa'"):
        loaded.predict(SolarData(frame, "poa", month.site))
    quarter = month.frame.resample("15min").interpolate()
    with pytest.raises(DataError, match=r"fit on 60-min steps but the data has 15-min"):
        loaded.predict(SolarData(quarter, month.target, month.site))


def test_analog_day_scenarios_round_trip(month, tmp_path):
    from iclcontrol.solar.scenarios import AnalogDayScenarios

    cut = chronological_cut(month)
    model = AnalogDayScenarios(n_scenarios=3, min_analogs=5).fit(month, end=cut)
    folder = model.save(tmp_path / "analogs")
    assert [p.name for p in folder.iterdir()] == ["model.json"]
    loaded = load_forecaster(folder)
    assert type(loaded) is AnalogDayScenarios
    assert loaded.days_.equals(model.days_)
    point = np.linspace(0.2, 0.9, 24)
    expected = model.scenarios(cut, point)
    assert expected.shape == (3, 24)
    np.testing.assert_array_equal(loaded.scenarios(cut, point), expected)
    # the training record: only times before the cut were read
    record = loaded.training_data_
    assert record == model.training_data_
    assert (loaded.site_, loaded.target_) == (month.site, month.target)
    assert pd.Timestamp(record["first"]) == month.frame.index[0]
    assert pd.Timestamp(record["last"]) < cut == pd.Timestamp(record["end"])
    # a folder saved before the record existed still loads, without one, and
    # gives the same scenarios
    meta = json.loads((folder / "model.json").read_text())
    for key in ("training_data", "site", "target"):
        del meta[key]
    (folder / "model.json").write_text(json.dumps(meta))
    old = load_forecaster(folder)
    assert old.training_data_ == {} and not hasattr(old, "site_")
    np.testing.assert_array_equal(old.scenarios(cut, point), expected)


def test_weights_that_break_the_iclrnn_constraints_are_refused(saved):
    """A hand-edited weight (negative entry) with a matching checksum."""
    import hashlib

    from safetensors.torch import load_file, save_file

    weights = Path(saved) / "model.safetensors"
    tensors = load_file(str(weights))
    tensors["rnn.weight_ih_l0"][0, 0] = -0.5  # ICLRNN: non-negative input weights
    save_file(tensors, str(weights))
    meta_path = Path(saved) / "model.json"
    meta = json.loads(meta_path.read_text())
    meta["weights_sha256"] = hashlib.sha256(weights.read_bytes()).hexdigest()
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match=r"model\.json.*has a negative entry"):
        load_forecaster(saved)
