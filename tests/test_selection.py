"""Choosing training settings on the validation split (iclcontrol.selection)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from iclcontrol.cli import main
from iclcontrol.data import cstr_dataset
from iclcontrol.exceptions import ConfigError
from iclcontrol.selection import parameter_grid, parse_grid, select_by_validation
from iclcontrol.study import run_noise_study
from iclcontrol.train import SurrogateModel

# reproducible fits: a fixed number of epochs, no wall-clock budget
FIXED = {"max_epochs": 3, "time_budget_s": None, "verbose": False}


@pytest.fixture(scope="module")
def small_dataset():
    return cstr_dataset(n_grid=12, random_state=0)


def test_parse_grid_types_and_order():
    grid = parse_grid(
        [
            "hidden=8,4",
            "lr=1e-3,5e-3",
            "learn-initial-state=true,false",
            "ema_decay=none,0.9",
        ]
    )
    assert grid == {
        "hidden": [8, 4],
        "lr": [1e-3, 5e-3],
        "learn_initial_state": [True, False],
        "ema_decay": [None, 0.9],
    }
    assert isinstance(grid["hidden"][0], int)
    # 2 * 2 * 2 * 2 combinations, the last name varying fastest
    combos = parameter_grid(grid)
    assert len(combos) == 16
    assert combos[0] == {
        "hidden": 8,
        "lr": 1e-3,
        "learn_initial_state": True,
        "ema_decay": None,
    }
    assert combos[1]["ema_decay"] == 0.9 and combos[1]["hidden"] == 8
    assert combos[-1] == {
        "hidden": 4,
        "lr": 5e-3,
        "learn_initial_state": False,
        "ema_decay": 0.9,
    }


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        (["noise_std=0,0.3"], "changes the validation targets"),
        (["random_state=0,1"], "seed hunting"),
        (["hiden=4"], "unknown parameter 'hiden'.*selectable: kind, hidden"),
        (["hidden=4", "hidden=8"], "appears twice"),
        (["hidden"], "is not NAME=V1,V2"),
        (["hidden="], "is not NAME=V1,V2"),
        (["hidden=four"], "'four' is not a valid int"),
        (["learn_initial_state=yes"], "not a valid bool"),
        (["hidden=4,4"], "repeats a value"),
    ],
)
def test_bad_grids_name_the_problem(specs, message):
    with pytest.raises(ConfigError, match=message):
        parameter_grid(parse_grid(specs))


def test_invalid_combination_is_refused_before_any_fit(small_dataset):
    fitted = []
    with pytest.raises(ConfigError, match=r"combination \{'hidden': 0\}.*positive"):
        select_by_validation(
            SurrogateModel(hidden=4, **FIXED),
            small_dataset,
            {"hidden": [4, 0]},
            on_candidate=lambda row, model: fitted.append(row),
        )
    assert fitted == []


def _noisy_validation_mse(model, dataset, noise, seed):
    """The validation loss recomputed from the model's predictions: the scaled
    validation targets with the noise train.py draws for them (generator
    ``[seed, 1]``), against the scaled predictions."""
    X, Y = dataset.scaled("val")
    Y = Y + np.random.default_rng([seed, 1]).normal(0.0, noise, size=Y.shape)
    return float(np.mean((model.predict_scaled(X) - Y) ** 2))


def test_selection_keeps_the_lowest_recomputed_validation_loss(small_dataset):
    base = SurrogateModel("iclrnn", hidden=4, noise_std=0.3, random_state=3, **FIXED)
    models = []
    chosen = select_by_validation(
        base,
        small_dataset,
        {"hidden": [3, 6], "batch_size": [16, 64]},
        on_candidate=lambda row, model: models.append((row, model)),
    )
    assert len(models) == len(chosen.candidates) == 4
    # every reported validation loss is the model's MSE on the noisy validation
    # targets, recomputed here from its predictions
    losses = [_noisy_validation_mse(m, small_dataset, 0.3, 3) for _, m in models]
    np.testing.assert_allclose(chosen.candidates["val_loss"], losses, rtol=1e-4)
    best = int(np.argmin(losses))
    assert chosen.model is models[best][1]
    assert chosen.params == {k: models[best][0][k] for k in ("hidden", "batch_size")}
    assert chosen.candidates["selected"].tolist() == [i == best for i in range(4)]
    # the estimator given is left as it was
    assert base.hidden == 4 and base.batch_size == 64 and not hasattr(base, "network_")
    json.dumps(chosen.to_dict())  # JSON-ready


def test_a_candidate_is_the_plain_fit_with_its_settings(small_dataset):
    chosen = select_by_validation(
        SurrogateModel("lstm", hidden=4, noise_std=0.3, **FIXED),
        small_dataset,
        {"hidden": [5]},
    )
    direct = SurrogateModel("lstm", hidden=5, noise_std=0.3, **FIXED).fit(small_dataset)
    X = small_dataset.X[:7]
    np.testing.assert_array_equal(chosen.model.predict(X), direct.predict(X))


def test_study_with_selection_records_every_candidate(small_dataset, tmp_path):
    out = tmp_path / "study"
    kw = {
        "models": ["iclrnn", "rnn"],
        "noise_levels": [0.3],
        "time_budget_s": 0.3,
        "hidden": 4,
        "dataset": small_dataset,
        "select": {"hidden": [3, 4]},
    }
    rows = run_noise_study(out, **kw)
    candidates = pd.read_csv(out / "candidates.csv")
    assert len(candidates) == 4  # 2 models x 2 candidates
    for kind, group in candidates.groupby("model"):
        chosen = group.loc[group["val_loss"].idxmin()]
        assert group["selected"].sum() == 1 and bool(chosen["selected"])
        row = rows[rows["model"] == kind].iloc[0]
        assert json.loads(row["selected"]) == {"hidden": int(chosen["hidden"])}
        assert row["test_mse_scaled"] == pytest.approx(chosen["test_mse_scaled"])
    assert "chosen on the (noisy) validation split" in (out / "table.md").read_text()
    # another grid is another study
    with pytest.raises(ConfigError, match=r"select\.hidden"):
        run_noise_study(out, **{**kw, "select": {"hidden": [3, 5]}})
    # a grid error is caught before anything is written
    with pytest.raises(ConfigError, match="changes the validation targets"):
        run_noise_study(tmp_path / "bad", **{**kw, "select": {"noise_std": [0.1]}})
    assert not (tmp_path / "bad").exists()


def test_cli_train_select(small_dataset, tmp_path, capsys):
    data = small_dataset.save(tmp_path / "data")
    run = tmp_path / "run"
    args = ["train", "--data", str(data), "--hidden", "4", "--max-epochs", "2"]
    args += ["--select", "hidden=3,4", "--out", str(run), "--json"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    candidates = summary["selection"]["candidates"]
    assert [c["hidden"] for c in candidates] == [3, 4]
    best = min(candidates, key=lambda c: c["val_loss"])
    assert summary["selection"]["params"] == {"hidden": best["hidden"]}
    saved = json.loads((run / "metrics.json").read_text())
    assert saved["selection"] == summary["selection"]
    # the saved model is the chosen one
    from iclcontrol.train import load

    assert load(run).hidden == best["hidden"]
    assert main(["train", "--data", str(data), "--select", "seed=1", "--out", "x"]) == 2
    assert "unknown parameter 'seed'" in capsys.readouterr().err
