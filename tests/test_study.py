"""Noise study (resumable) and the CLI commands train / certify / study noise."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from iclcontrol.cli import main
from iclcontrol.data import cstr_dataset
from iclcontrol.exceptions import ConfigError, ModelFileError
from iclcontrol.study import (
    REFERENCE_MSE,
    isotonic_fit,
    markdown_table,
    run_noise_study,
    time_monotone_floor,
)


@pytest.fixture(scope="module")
def small_dataset():
    return cstr_dataset(n_grid=20, random_state=0)


def test_reference_table_matches_reference_md():
    # spot checks against the table in REFERENCE.md
    assert REFERENCE_MSE[0.0]["iclrnn"] == 3.0e-4
    assert REFERENCE_MSE[0.6]["lstm"] == 4.1e-2
    assert REFERENCE_MSE[0.9]["rnn"] == 6.7e-2


def test_study_writes_results_and_resumes(small_dataset, tmp_path):
    out = tmp_path / "study"
    seen = []
    kw = {
        "models": ["iclrnn", "rnn"],
        "noise_levels": [0.0, 0.6],
        "time_budget_s": 0.3,
        "hidden": 4,
        "dataset": small_dataset,
    }
    df = run_noise_study(out, on_result=seen.append, **kw)
    assert len(df) == len(seen) == 4
    assert set(zip(df["model"], df["noise"], strict=True)) == {
        ("iclrnn", 0.0),
        ("rnn", 0.0),
        ("iclrnn", 0.6),
        ("rnn", 0.6),
    }
    assert (df["test_mse_scaled"] > 0).all()
    assert (df["lipschitz_lower_empirical"] <= df["lipschitz_upper"]).all()
    table = (out / "table.md").read_text()
    assert "(3.0e-04)" in table and "(2.2e-02)" in table  # paper values beside ours
    assert (out / "noise.png").stat().st_size > 1000
    assert len(pd.read_csv(out / "results.csv")) == 4
    # a rerun resumes: nothing is retrained
    again = []
    df2 = run_noise_study(out, on_result=again.append, **kw)
    assert again == [] and len(df2) == 4
    # extending the study trains only the new pair
    kw2 = {**kw, "noise_levels": [0.0, 0.6, 0.9], "models": ["iclrnn"]}
    more = []
    run_noise_study(out, on_result=more.append, **kw2)
    assert [(r["model"], r["noise"]) for r in more] == [("iclrnn", 0.9)]
    # another configuration in the same folder is refused
    with pytest.raises(ConfigError, match="another configuration"):
        run_noise_study(out, **{**kw, "hidden": 5})


def _plant_log(n: int = 240) -> pd.DataFrame:
    """A first-order process sampled every minute: y[k] = y[k-1] + 0.2 (u - y)."""
    u = np.repeat(np.random.default_rng(0).uniform(0, 1, n // 12), 12)
    y = np.zeros(n)
    for k in range(1, n):
        y[k] = y[k - 1] + 0.2 * (u[k - 1] - y[k - 1])
    return pd.DataFrame(
        {"time": pd.date_range("2024-01-01", periods=n, freq="1min"), "u": u, "y": y}
    )


def test_study_on_a_users_dataset_has_no_paper_values_and_checks_the_data(
    tmp_path, capsys
):
    """The paper's CSTR values were shown beside results on any dataset, and a
    folder was resumed with other data (rows of two datasets mixed)."""
    from iclcontrol.data import csv_dataset

    log = _plant_log()
    data = csv_dataset(log, "time", ["u"], ["y"], window=8, stride=4)
    out = tmp_path / "st"
    kw = {"models": ["iclrnn"], "noise_levels": [0.0], "time_budget_s": 0.2}
    df = run_noise_study(out, hidden=4, dataset=data, **kw)
    assert df["reference_mse"].isna().all()
    table = (out / "table.md").read_text()
    assert "(" not in table.split("| noise s |")[1]  # no "(paper)" cells
    assert "paper's CSTR values do not apply" in table
    other = csv_dataset(log.iloc[:200], "time", ["u"], ["y"], window=8, stride=4)
    with pytest.raises(ConfigError, match=r"dataset: 'dataframe: \d+ samples"):
        run_noise_study(out, hidden=4, dataset=other, **kw)
    # the CLI takes a dataset folder
    folder = data.save(tmp_path / "data")
    args = ["study", "noise", "--data", str(folder), "--models", "rnn", "--noise"]
    args += ["0", "--time-budget", "0.2", "--hidden", "4", "--out", str(out)]
    assert main([*args, "--json"]) == 0
    captured = capsys.readouterr()
    rows = json.loads(captured.out.strip().splitlines()[-1])["results"]
    assert [r["model"] for r in rows] == ["iclrnn", "rnn"]
    assert "test_mse_y" in rows[1] and rows[1]["reference_mse"] is None
    assert "paper" not in captured.err


def test_markdown_table_layout():
    df = pd.DataFrame(
        {"model": ["iclrnn", "lstm"], "noise": [0.3, 0.3], "test_mse_scaled": [2e-4, 1]}
    )
    text = markdown_table(df)
    assert text.splitlines()[0] == "| noise s | ICLRNN | LSTM |"
    assert "| 0.3 | 2.0e-04 (4.1e-04) | 1.0e+00 (1.6e-03) |" in text


def test_cli_train_certify_and_errors(small_dataset, tmp_path, capsys):
    data = small_dataset.save(tmp_path / "data")
    run = tmp_path / "run"
    code = main(
        [
            "train",
            "--data",
            str(data),
            "--model",
            "iclrnn",
            "--hidden",
            "6",
            "--time-budget",
            "1",
            "--out",
            str(run),
            "--json",
        ]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["test_mse"]["scaled"] > 0
    assert set(summary["test_mse"]["physical"]) == {"CA", "T"}
    assert summary["epochs"] >= 1 and summary["samples_per_second"] > 0
    cert = summary["certificate"]
    assert cert["convex"] is True
    assert cert["lipschitz_lower_empirical"] <= cert["lipschitz_upper"]

    assert main(["certify", str(run), "--midpoint", "50", "--json"]) == 0
    cert2 = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert cert2["lipschitz_upper"] == pytest.approx(cert["lipschitz_upper"])
    assert cert2["midpoint_test"]["n_violations"] == 0
    assert cert2["midpoint_test"]["n_checks"] == 50 * 10 * 2 * 5

    # user errors: one line on stderr, exit status 2
    assert main(["certify", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["train", "--data", str(tmp_path / "nodata"), "--out", "x"]) == 2
    assert "dataset folder" in capsys.readouterr().err
    # a CSV given to --data was 'dataset folder log.csv does not exist'
    (tmp_path / "log.csv").write_text("time,u,y\n")
    assert main(["train", "--data", str(tmp_path / "log.csv"), "--out", "x"]) == 2
    assert "is a file, but --data takes a dataset folder" in capsys.readouterr().err


def test_cli_study_noise(small_dataset, tmp_path, capsys, monkeypatch):
    import iclcontrol.data

    # the CLI builds the reference dataset; a small one keeps this test fast
    monkeypatch.setattr(
        iclcontrol.data, "cstr_dataset", lambda *a, **k: small_dataset, raising=True
    )
    out = tmp_path / "st"
    args = ["study", "noise", "--models", "iclrnn,lstm", "--noise", "0,0.3"]
    args += ["--time-budget", "0.3", "--hidden", "4", "--out", str(out), "--json"]
    assert main(args) == 0
    captured = capsys.readouterr()
    payload = json.loads(captured.out.strip().splitlines()[-1])
    assert payload["rows"] == 4
    assert "noise 0.30" in captured.err  # progress lines
    assert (out / "results.csv").exists() and (out / "noise.png").exists()


def test_isotonic_fit_by_hand_and_against_sklearn():
    # [3, 1, 2]: 3 > 1 pools to 2, 2; then 2 <= 2: fit [2, 2, 2], squared errors
    # 1 + 1 + 0 over 3 entries
    np.testing.assert_allclose(isotonic_fit([[3.0, 1.0, 2.0]]), [[2.0, 2.0, 2.0]])
    assert time_monotone_floor([[[3.0], [1.0], [2.0]]]) == pytest.approx(2.0 / 3.0)
    # an already non-decreasing sequence is its own fit (floor 0)
    assert time_monotone_floor(np.arange(10.0).reshape(1, 10, 1)) == 0.0
    # sklearn's pool-adjacent-violators implementation as an independent reference,
    # on random sequences with ties
    from sklearn.isotonic import isotonic_regression

    rng = np.random.default_rng(0)
    Y = np.round(rng.normal(size=(40, 10, 2)), 1)
    fit = isotonic_fit(Y)
    for i in range(len(Y)):
        for j in range(2):
            np.testing.assert_allclose(
                fit[i, :, j], isotonic_regression(Y[i, :, j]), atol=1e-12
            )
    assert np.all(np.diff(fit, axis=1) >= -1e-12)


def test_time_monotone_floor_of_the_cstr_data():
    """Half of the CSTR trajectories decrease in time, so the floor is positive;
    the value for the full dataset's test split is quoted in docs/noise_study.md."""
    _, Y = cstr_dataset().scaled("test")
    floor = time_monotone_floor(Y)
    assert 5.0e-5 < floor < 7.0e-5
    with pytest.raises(ConfigError, match="shape"):
        isotonic_fit(np.zeros(5))


def test_invalid_settings_write_nothing_and_mismatch_names_keys(
    small_dataset, tmp_path
):
    out = tmp_path / "st"
    kw = {"models": ["iclrnn"], "noise_levels": [0.0], "hidden": 4}
    kw["dataset"] = small_dataset
    with pytest.raises(ConfigError, match="time_budget_s must be positive"):
        run_noise_study(out, time_budget_s=-1, **kw)
    assert not (out / "study.json").exists()
    with pytest.raises(ConfigError, match="at least one model kind"):
        run_noise_study(out, **{**kw, "models": []})
    with pytest.raises(ConfigError, match="noise levels must be numbers"):
        run_noise_study(out, **{**kw, "noise_levels": ["x"]})
    run_noise_study(out, time_budget_s=0.2, **kw)  # the corrected rerun works
    with pytest.raises(ConfigError, match=r"hidden: 4 -> 5\)"):
        run_noise_study(out, time_budget_s=0.2, **{**kw, "hidden": 5})
    (out / "study.json").write_text("{broken")
    with pytest.raises(ModelFileError, match=r"study\.json is not valid JSON"):
        run_noise_study(out, time_budget_s=0.2, **kw)
