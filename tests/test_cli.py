"""Tests of the iclcontrol command line (foundation commands)."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd

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
