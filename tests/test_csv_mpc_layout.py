"""A plant log in a CSV file -> a surrogate the MPC can use (``csv_dataset(...,
mpc_layout=True)``, CLI ``iclcontrol data csv --mpc-layout``).

Before, a model of a CSV log had the features ``inputs`` only, and the MPC needs
``states + inputs`` (the state at the start of the sequence, held, then the input
of each step) with the states as outputs; the only way was a lagged copy column
and ``dataclasses.replace`` in Python. The MPC layout builds it from the log.

The plant is a heated tank written in tmp_path: ``dT/dt = 5 Q - (T - 293.15)``
[K/h], period 0.25 h, so the exact step with Q held is ``T_inf + (T - T_inf)
exp(-0.25)``, ``T_inf = 293.15 + 5 Q`` (by hand). From T = 325 K with Q = 0 (the
lowest input) it cools to 317.95, 312.36, 308.02, 304.64 K: an MPC that knows the
direction of Q's effect gets most of the way to the setpoint 303.15 K in 4 steps.
"""

from __future__ import annotations

import json
import textwrap
import time
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal

from iclcontrol.cli import main
from iclcontrol.data import SequenceDataset, csv_dataset, provenance
from iclcontrol.exceptions import ConfigError, DataError, IclControlWarning
from plants.loader import load_plant

PLANT_FILE = textwrap.dedent(
    """
    import numpy as np
    from plants.base import Plant


    class Heater(Plant):
        state_names, state_units = ("T",), ("K",)
        input_names, input_units = ("Q",), ("kW",)
        sampling_period = 0.25
        input_lower = property(lambda self: np.array([0.0]))
        input_upper = property(lambda self: np.array([10.0]))
        x_steady = property(lambda self: np.array([303.15]))
        u_steady = property(lambda self: np.array([2.0]))

        def rhs(self, x, u, backend=np):
            return 5.0 * u - (x - 293.15)


    class Level(Heater):
        state_names, state_units = ("h",), ("m",)
    """
)

SETPOINT = 303.15


def exact_step(temp: np.ndarray, q: np.ndarray) -> np.ndarray:
    t_inf = 293.15 + 5.0 * q
    return t_inf + (temp - t_inf) * np.exp(-0.25)


@pytest.fixture
def plant_file(tmp_path):
    path = tmp_path / "heaterplant.py"
    path.write_text(PLANT_FILE)
    return path


@pytest.fixture
def plant_log(plant_file, tmp_path):
    """300 rows of the Heater under random inputs, each held 1 to 8 periods: the
    state at each row's time and the input applied from then on."""
    plant = load_plant(f"{plant_file}:Heater")
    rng = np.random.default_rng(0)
    levels = rng.uniform(0.0, 10.0, 300)
    holds = rng.integers(1, 9, 300)
    q = np.repeat(levels, holds)[:300, None]
    sim = plant.simulate([300.0], q)
    # the premise: the simulation is the exact step (RK4 at 10 substeps)
    np.testing.assert_allclose(
        sim.x[1:, 0], exact_step(sim.x[:-1, 0], q[:, 0]), atol=1e-4
    )
    stamps = pd.Timestamp("2024-01-01") + pd.to_timedelta(sim.t[:-1], unit="h")
    path = tmp_path / "heater_log.csv"
    pd.DataFrame({"time": stamps, "T": sim.x[:-1, 0], "Q": q[:, 0]}).to_csv(
        path, index=False
    )
    return path


# the tiny log of the hand-computed windows (one row a minute)
T_ROWS = [300.0, 301.0, 303.0, 306.0, 310.0, 315.0, 321.0, 328.0]
Q_ROWS = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]


def _tiny_log(tmp_path, temps=T_ROWS, flows=Q_ROWS, name="tiny.csv"):
    t = pd.date_range("2024-01-01", periods=len(temps), freq="1min")
    path = tmp_path / name
    pd.DataFrame({"time": t, "T": temps, "Q": flows}).to_csv(path, index=False)
    return path


def test_mpc_layout_windows_are_the_rows_by_hand(tmp_path) -> None:
    """window=2 over 8 rows: a window takes 3 rows (starts 0..5, 6 windows).
    Chronological split of 6: 2 test (starts 4, 5), 1 validation (start 3, which
    ends at row 5 > 4: purged), 3 training (start 2 ends at row 4, the first test
    row: purged), so training starts 0 and 1."""
    path = _tiny_log(tmp_path)
    ds = csv_dataset(
        path, "time", "Q", "T", window=2, mpc_layout=True, units={"T": "K", "Q": "kW"}
    )
    assert ds.feature_names == ("T", "Q") and ds.output_names == ("T",)
    assert ds.feature_units == ("K", "kW") and ds.output_units == ("K",)
    assert ds.X.shape == (4, 2, 2) and ds.Y.shape == (4, 2, 1)
    # start 0: T of row 0 held, Q of rows 0 and 1 -> T of rows 1 and 2
    assert_array_equal(ds.X[0], [[300.0, 1.0], [300.0, 2.0]])
    assert_array_equal(ds.Y[0, :, 0], [301.0, 303.0])
    assert_array_equal(ds.X[1], [[301.0, 2.0], [301.0, 3.0]])
    assert_array_equal(ds.Y[1, :, 0], [303.0, 306.0])
    # the test windows, starts 4 and 5 (row 7 is the last target)
    assert_array_equal(ds.X[2], [[310.0, 5.0], [310.0, 6.0]])
    assert_array_equal(ds.Y[2, :, 0], [315.0, 321.0])
    assert_array_equal(ds.X[3], [[315.0, 6.0], [315.0, 7.0]])
    assert_array_equal(ds.Y[3, :, 0], [321.0, 328.0])
    assert {k: v.tolist() for k, v in ds.splits.items()} == {
        "train": [0, 1],
        "val": [],
        "test": [2, 3],
    }
    c = ds.card["cleaning"]
    assert (c["windows_total"], c["windows_purged_overlap"]) == (6, 2)
    # what the model and the CLI remember: the layout, a row per period, a
    # window of `window` sampling periods from one state (as plant_dataset)
    assert (ds.card["layout"], ds.steps_per_move, ds.moves) == ("mpc", 1, 2)
    loaded = SequenceDataset.load(ds.save(tmp_path / "saved"))
    assert (loaded.card["layout"], loaded.moves, loaded.feature_units) == (
        "mpc",
        2,
        ("K", "kW"),
    )
    record = provenance(ds)
    assert (record["layout"], record["steps_per_move"], record["moves"]) == (
        "mpc",
        1,
        2,
    )
    # NaN: T at row 3 (a state or target of starts 1, 2, 3) and Q at row 6 (the
    # input of start 5; start 4 uses Q of rows 4, 5 and T of rows 4, 5, 6 only)
    temps = list(T_ROWS)
    temps[3] = float("nan")
    flows = list(Q_ROWS)
    flows[6] = float("nan")
    ds = csv_dataset(
        _tiny_log(tmp_path, temps, flows, "nan.csv"),
        "time",
        ["Q"],
        ["T"],
        window=2,
        split="random",
        mpc_layout=True,
    )
    assert ds.card["cleaning"]["windows_dropped_nan"] == 4  # starts 1, 2, 3, 5
    order = np.argsort(ds.X[:, 0, 0])
    assert_array_equal(ds.X[order[0]], [[300.0, 1.0], [300.0, 2.0]])
    assert_array_equal(ds.X[order[1]], [[310.0, 5.0], [310.0, 6.0]])
    assert_array_equal(ds.Y[order, :, 0], [[301.0, 303.0], [315.0, 321.0]])
    # stride 2: starts 0, 2, 4; 1 for test (start 4), none for validation, and
    # start 2 (rows 2..4) shares row 4 with it: purged
    strided = csv_dataset(path, "time", "Q", "T", 2, stride=2, mpc_layout=True)
    c = strided.card["cleaning"]
    assert (c["windows_total"], c["windows_purged_overlap"]) == (3, 1)
    assert strided.X[:, 0, 0].tolist() == [300.0, 310.0]
    # the columns layout is unchanged: inputs -> outputs of the same rows
    plain = csv_dataset(path, "time", "Q", "T", window=2, split="random")
    assert plain.feature_names == ("Q",) and plain.card["layout"] == "columns"
    assert plain.moves is None and plain.n_samples == 7
    first = int(np.flatnonzero(plain.X[:, 0, 0] == 1.0)[0])
    assert_array_equal(plain.X[first, :, 0], [1.0, 2.0])
    assert_array_equal(plain.Y[first, :, 0], [300.0, 301.0])


def test_mpc_layout_errors_say_the_fix(tmp_path) -> None:
    path = _tiny_log(tmp_path)
    # an output given as an input too: the state is fed automatically
    with pytest.raises(ConfigError, match=r"drop \['T'\] from the inputs") as err:
        csv_dataset(path, "time", ["Q", "T"], ["T"], window=2, mpc_layout=True)
    assert "--inputs Q" in str(err.value)
    # the columns layout keeps its own refusal
    with pytest.raises(ConfigError, match=r"lagged copy.*\(CLI: --mpc-layout\)"):
        csv_dataset(path, "time", ["Q", "T"], ["T"], window=2)
    # 8 rows hold a window of 8 steps, but not of 8 steps and the next state
    assert csv_dataset(path, "time", "Q", "T", window=8, split="random").n_samples == 1
    with pytest.raises(DataError, match=r"takes 9 rows.*at most 7"):
        csv_dataset(path, "time", "Q", "T", window=8, mpc_layout=True)
    # a NaN at row 4 leaves stretches of 4 and 3 rows: 3 steps and the next
    # state fit, 4 do not
    temps = list(T_ROWS)
    temps[4] = float("nan")
    gappy = _tiny_log(tmp_path, temps, name="nan.csv")
    with pytest.raises(DataError, match=r"no window of 5 rows .*window <= 3"):
        csv_dataset(gappy, "time", "Q", "T", window=4, mpc_layout=True)
    ds = csv_dataset(gappy, "time", "Q", "T", 3, mpc_layout=True, split="random")
    assert ds.n_samples == 1 and ds.X[0, 0, 0] == 300.0
    # a time gap (10 min) between rows 3 and 4: two stretches of 4 rows, each
    # one window of 3 steps and the next state (starts 0 and 4); the columns
    # layout fits 3-row windows at starts 0, 1, 4, 5
    minutes = [0, 1, 2, 3, 13, 14, 15, 16]
    t = pd.Timestamp("2024-01-01") + pd.to_timedelta(minutes, "min")
    frame = pd.DataFrame({"time": t, "T": T_ROWS, "Q": Q_ROWS})
    ds = csv_dataset(frame, "time", "Q", "T", 3, mpc_layout=True, split="random")
    assert sorted(ds.X[:, 0, 0]) == [300.0, 310.0]
    assert ds.card["cleaning"]["windows_dropped_gap"] == 3  # starts 1, 2, 3
    plain = csv_dataset(frame, "time", "Q", "T", 3, split="random")
    assert sorted(plain.Y[:, 0, 0]) == [300.0, 301.0, 310.0, 315.0]
    with pytest.raises(DataError, match=r"stretch of rows free of both has 4\); "):
        csv_dataset(frame, "time", "Q", "T", 4, mpc_layout=True)


def _fit(dataset):
    import torch

    from iclcontrol.train import SurrogateModel

    torch.set_num_threads(1)
    return SurrogateModel(
        "iclrnn",
        hidden=8,
        layers=1,
        max_epochs=60,
        time_budget_s=None,
        random_state=0,
        verbose=False,
    ).fit(dataset)


def test_a_csv_log_trains_a_model_the_mpc_runs_on(plant_file, plant_log) -> None:
    """The whole way in Python: log -> MPC-layout windows -> ICLRNN ->
    SurrogateMPC of the same plant (names checked, the model's 1 step per period
    and 2-move horizon, no warning) -> 4 IPOPT steps from 325 K toward 303.15 K."""
    from iclcontrol.export import check_layout
    from iclcontrol.mpc import MPCSettings, SurrogateMPC, closed_loop

    started = time.perf_counter()
    plant = load_plant(f"{plant_file}:Heater")
    ds = csv_dataset(plant_log, "time", "Q", "T", window=4, mpc_layout=True)
    # the windows are the plant's steps: the first target is the exact step of
    # the held start state, each later one that of the target before it
    np.testing.assert_allclose(
        ds.Y[:, 0, 0], exact_step(ds.X[:, 0, 0], ds.X[:, 0, 1]), atol=1e-4
    )
    np.testing.assert_allclose(
        ds.Y[:, 1:, 0], exact_step(ds.Y[:, :-1, 0], ds.X[:, 1:, 1]), atol=1e-4
    )
    model = _fit(ds)
    assert tuple(model.feature_names_) == ("T", "Q")
    assert tuple(model.output_names_) == ("T",)
    check_layout(model.export_spec(), plant.state_names, plant.input_names)
    with pytest.raises(ConfigError, match=r"features \['T', 'Q'\].*--mpc-layout"):
        check_layout(model.export_spec(), ("h",), ("Q",))
    settings = MPCSettings(
        state_weights=(1.0,),
        input_weights=(0.0,),
        state_setpoint=(SETPOINT,),
        input_setpoint=(2.0,),
        lyapunov=False,
        solver="ipopt",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", IclControlWarning)
        ctl = SurrogateMPC(model, plant, settings)
    assert (ctl.settings.steps_per_move, ctl.settings.horizon) == (1, 2)
    frame = closed_loop(plant, ctl, [325.0], 4)
    assert frame["success"].iloc[:-1].all()
    temps, q = frame["T"].to_numpy(), frame["Q"].to_numpy()
    # the loop ran the plant: each row its exact step of the applied input
    np.testing.assert_allclose(temps[1:], exact_step(temps[:-1], q[:-1]), atol=1e-4)
    distance = np.abs(temps - SETPOINT)
    # cooling toward the setpoint at every step, and most of the way in 4 (Q = 0
    # throughout reaches 1.5 K; Q = 2, the setpoint's input, only 13.2 K)
    assert np.all(np.diff(distance) < 0), temps
    assert distance[-1] < 0.5 * distance[0], temps
    assert q[0] < 2.0
    assert time.perf_counter() - started < 20


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_cli_data_csv_mpc_layout_train_mpc(plant_file, plant_log, tmp_path, capsys):
    """`iclcontrol data csv --mpc-layout` -> `iclcontrol train` -> `iclcontrol mpc
    --plant FILE:Heater`: exit 0, the model's layout in the summaries."""
    spec = f"{plant_file}:Heater"
    data, model = tmp_path / "data", tmp_path / "model"
    argv = ["data", "csv", str(plant_log), "--time-column", "time", "--inputs", "Q"]
    argv += ["--outputs", "T", "--window", "4", "--units", "T=K,Q=kW", "--mpc-layout"]
    assert main([*argv, "--out", str(data), "--json"]) == 0
    summary = _json(capsys)
    assert summary["layout"] == "mpc"
    assert summary["feature_names"] == ["T", "Q"] and summary["output_names"] == ["T"]
    assert summary["X_shape"][1:] == [4, 2] and summary["Y_shape"][1:] == [4, 1]
    # the human summary says it too
    assert main([*argv, "--out", str(tmp_path / "again")]) == 0
    shown = capsys.readouterr().out
    assert "MPC layout: features T, Q" in shown
    train = ["train", "--data", str(data), "--hidden", "8", "--max-epochs", "2"]
    assert main([*train, "--time-budget", "10", "--out", str(model), "--json"]) == 0
    assert _json(capsys)["training_data"]["layout"] == "mpc"
    assert main(["certify", str(model), "--midpoint", "0"]) == 0
    assert "MPC layout" in capsys.readouterr().out
    mpc = ["mpc", "--model", str(model), "--plant", spec, "--x0=325", "--steps", "3"]
    assert main([*mpc, "--json"]) == 0
    result = _json(capsys)
    assert result["completed"] is True and result["steps"] == 3
    assert result["run"]["steps_per_move"] == 1 and result["run"]["horizon"] == 2
    # an output also given as an input: one error line with the fix
    bad = [*argv[:6], "Q,T", *argv[7:]]
    assert main([*bad, "--out", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "drop ['T'] from the inputs" in err[0]


def test_cli_help_describes_mpc_layout(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["data", "csv", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--mpc-layout" in text
    assert "the outputs are the plant's states" in text
