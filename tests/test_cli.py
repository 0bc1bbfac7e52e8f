"""Tests of the iclcontrol command line (foundation commands)."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from iclcontrol import __version__
from iclcontrol.cli import main


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "iclcontrol.cli", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_version_and_help():
    out = run_cli("--version")
    assert out.returncode == 0 and __version__ in out.stdout
    helped = run_cli("--help")
    assert helped.returncode == 0 and "data" in helped.stdout


def test_data_cstr_json(tmp_path, capsys):
    assert main(["data", "cstr", "--out", str(tmp_path / "ds"), "--json"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    payload = json.loads(last)
    assert payload["n_samples"] == 12352
    assert payload["X_shape"] == [12352, 10, 4] and payload["seconds"] < 30
    assert (tmp_path / "ds" / "card.json").is_file()


def test_data_csv_and_errors(tmp_path):
    t = pd.date_range("2024-01-01", periods=50, freq="1h")
    pd.DataFrame({"ts": t, "a": np.arange(50.0), "b": np.ones(50)}).to_csv(
        tmp_path / "x.csv", index=False
    )
    ok = run_cli(
        "data", "csv", str(tmp_path / "x.csv"), "--time-column", "ts",
        "--inputs", "a", "--outputs", "b", "--window", "4", "--stride", "2",
        "--out", str(tmp_path / "d"), "--json",
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    # 24 windows, of which the chronological split purges 2 (rows shared by splits)
    assert json.loads(ok.stdout.strip().splitlines()[-1])["n_samples"] == 22
    bad = run_cli(
        "data", "csv", str(tmp_path / "x.csv"), "--time-column", "ts",
        "--inputs", "nope", "--outputs", "b", "--window", "4",
        "--out", str(tmp_path / "e"),
    )  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "nope" in bad.stderr
    assert "Traceback" not in bad.stderr
    debug = run_cli(
        "data", "csv", str(tmp_path / "x.csv"), "--time-column", "ts",
        "--inputs", "nope", "--outputs", "b", "--window", "4",
        "--out", str(tmp_path / "e"), "--debug",
    )  # fmt: skip
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_help_is_fast_because_it_imports_no_heavy_library():
    # building the parser must not import torch/casadi/pyomo (7 s on these machines)
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from iclcontrol.cli import build_parser; build_parser(); "
            "print(sorted({'torch', 'casadi', 'pyomo', 'pvlib'} & set(sys.modules)))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip() == "[]"


def test_cli_model_kinds_match_the_networks():
    from iclcontrol.commands.models import MODEL_KINDS
    from iclcontrol.models.networks import KINDS

    assert tuple(MODEL_KINDS) == tuple(KINDS)


def test_output_path_that_is_a_file_fails_before_any_work(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    for args in (
        ["data", "cstr", "--out", str(afile)],
        ["train", "--data", "cstr", "--out", str(afile)],  # would train 120 s
        ["study", "noise", "--out", str(afile)],
    ):
        assert main(args) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "is an existing file, not a folder" in err
    assert afile.read_text() == "keep me"


def test_train_refuses_nan_in_the_test_split_and_json_has_no_nan(tmp_path, capsys):
    from iclcontrol.commands.common import print_json
    from iclcontrol.data import csv_dataset

    t = pd.date_range("2024-01-01", periods=80, freq="1min")
    frame = pd.DataFrame({"ts": t, "a": np.arange(80.0), "b": np.sin(np.arange(80))})
    ds = csv_dataset(frame, "ts", ["a"], ["b"], window=4)
    ds.Y[ds.splits["test"][1], 2, 0] = np.nan
    ds.save(tmp_path / "d")
    args = ["train", "--data", str(tmp_path / "d"), "--hidden", "4"]
    assert main([*args, "--max-epochs", "1", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "'test' split has NaN or inf in Y of 1 sample" in err
    assert not (tmp_path / "r").exists()  # refused before training
    print_json({"mse": float("nan"), "nested": [np.float64("inf"), 1.0]})
    assert json.loads(capsys.readouterr().out) == {"mse": None, "nested": [None, 1.0]}


def test_bad_flag_values_name_the_flag(capsys):
    for args, message in (
        (["study", "noise", "--noise", "x"], "argument --noise: expected a number"),
        (["study", "noise", "--models", ""], "argument --models: give at least one"),
        (["study", "noise", "--time-budget", "-1"], "argument --time-budget: must be"),
        (["train", "--data", "cstr", "--noise", "-1"], "argument --noise: must be >="),
        (["certify", "run", "--midpoint", "-5"], "argument --midpoint: must be >= 0"),
        (["data", "csv", "f.csv", "--window", "5.5"], "argument --window: expected"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            main([*args, "--out", "unused"])
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert message in err
        assert err.count("\n") == 1  # one line, no usage block (README promise)


def test_help_shows_defaults_and_explains_the_protocols():
    text = " ".join(run_cli("study", "noise", "--help").stdout.split())  # unwrapped
    assert "(default: 120.0)" in text
    assert "standard deviations of the target noise" in text  # --noise
    assert "comma-separated model kinds" in text  # --models
    for args in (("study", "noise", "--help"), ("data", "--help")):
        assert "REFERENCE.md" not in run_cli(*args).stdout


def test_cli_time_units_match_the_library():
    from iclcontrol.commands.data import TIME_UNITS
    from iclcontrol.data import TIME_UNITS as LIBRARY_TIME_UNITS

    assert TIME_UNITS == LIBRARY_TIME_UNITS


def test_output_path_under_a_file_fails_before_any_work(tmp_path, capsys):
    """``--out afile/run``: the folder can never be created; said before the work
    (it used to fail with 'Not a directory' after building, training, solving)."""
    from iclcontrol.commands.common import check_out_path
    from iclcontrol.exceptions import ConfigError

    afile = tmp_path / "afile"
    afile.write_text("keep me")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        check_out_path(str(afile / "run" / "deeper"))
    check_out_path(str(tmp_path / "new" / "deeper"))  # creatable: fine
    assert not (tmp_path / "new").exists()  # and not created by the check
    assert main(["data", "cstr", "--out", str(afile / "ds")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{afile} is a file, not a folder" in err
    assert afile.read_text() == "keep me"


def test_mpc_with_a_wrong_model_folder_prints_only_the_error(tmp_path, capsys):
    """Bad input: status 2 and one line on stderr (README), also when x0 deserves a
    note: the note about x0 came first, then the error about --model."""
    from iclcontrol.train import SurrogateModel

    (tmp_path / "dataset").mkdir()  # a folder without model.json
    rng = np.random.default_rng(0)  # a model of another process: 2 inputs, 1 output
    other = SurrogateModel("iclrnn", hidden=4, layers=1, max_epochs=1)
    other.fit(rng.normal(size=(40, 5, 2)), rng.normal(size=(40, 5, 1)))
    other.save(tmp_path / "other")
    for model in (tmp_path / "missing", tmp_path / "dataset", tmp_path / "other"):
        argv = ["mpc", "--model", str(model), "--x0=1,1", "--relu-smoothing", "0.1"]
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("iclcontrol: error:"), err


def test_python_dash_m_runs_the_cli() -> None:
    """`python -m iclcontrol` failed ('cannot be directly executed'): a source
    checkout on PYTHONPATH has no console script on PATH."""
    import os
    from pathlib import Path

    root = Path(__file__).parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, "-m", "iclcontrol", "data", "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "usage: iclcontrol data" in done.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "iclcontrol", "train", "--data", "nowhere"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert bad.returncode == 2 and bad.stderr.strip()
